"""What a device keeps over its life: service history, customer interactions and the
lifecycle timeline (A3)."""

from __future__ import annotations

from datetime import datetime

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import AuditEntry, Change
from onboard.domain.devices import Interaction, InteractionKind, ServiceRecord, check_text
from onboard.domain.errors import Invalid
from onboard.services.common import device_target, not_found
from onboard.services.ports import Page, PageRequest, Services


def add_service_record(
    svc: Services, actor: Actor, device_id: str, *, text: str, performed_at: datetime | None
) -> ServiceRecord:
    scope = actor.require(Permission.RECORD_SERVICE)
    text = check_text(text)
    now = svc.clock.now()
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id)
        if device is None:
            raise not_found("device", device_id)
        record = ServiceRecord(
            svc.ids.new(), scope.organization_id, device.id, text, performed_at or now,
            actor.label, now,
        )  # fmt: skip
        uow.service_records.add(record)
        uow.record(
            actor,
            Change("device.service_recorded", device_target(device),
                   after={"record_id": record.id, "text": text}),
            organization_id=scope.organization_id,
        )  # fmt: skip
        uow.commit()
    return record


def list_service_records(
    svc: Services, actor: Actor, device_id: str, page: PageRequest
) -> Page[ServiceRecord]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        if uow.devices.get(scope, device_id) is None:
            raise not_found("device", device_id)
        return uow.service_records.list_page(device_id, page)


def add_interaction(
    svc: Services, actor: Actor, device_id: str, *, kind: str, text: str
) -> Interaction:
    """A member notes a customer interaction (a note or a message); notifications come
    from code users only."""
    scope = actor.require(Permission.RECORD_SERVICE)
    if kind not in (InteractionKind.NOTE, InteractionKind.MESSAGE):
        raise Invalid("An interaction is a note or a message.", fields={"kind": "note or message"})
    text = check_text(text)
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id)
        if device is None:
            raise not_found("device", device_id)
        interaction = Interaction(
            svc.ids.new(), scope.organization_id, device.id, InteractionKind(kind), text, None,
            actor.label, svc.clock.now(),
        )  # fmt: skip
        uow.interactions.add(interaction)
        uow.record(
            actor,
            Change("device.interaction_added", device_target(device),
                   after={"interaction_id": interaction.id, "kind": kind}),
            organization_id=scope.organization_id,
        )  # fmt: skip
        uow.commit()
    return interaction


def list_interactions(
    svc: Services, actor: Actor, device_id: str, page: PageRequest
) -> Page[Interaction]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        if uow.devices.get(scope, device_id) is None:
            raise not_found("device", device_id)
        return uow.interactions.list_page(device_id, page)


def device_timeline(
    svc: Services, actor: Actor, device_id: str, page: PageRequest
) -> Page[AuditEntry]:
    """A3: everything that happened to the device, newest first: created, changed, codes
    paired and unpaired, service, interactions, notifications, documents."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        if uow.devices.get(scope, device_id) is None:
            raise not_found("device", device_id)
        return uow.audit.of_device(device_id, page)
