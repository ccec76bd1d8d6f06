"""Configurations of a product (SPEC B8): named JSON documents, immutable once made, and
giving one to one or many paired devices."""

from __future__ import annotations

from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.errors import (
    Invalid,
)
from onboard.domain.licensing import (
    ClientDevice,
    Configuration,
    check_configuration_body,
    configuration_etag,
)
from onboard.domain.values import require_name
from onboard.services.common import (
    not_found,
)
from onboard.services.licensing.products import find_product
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

MAX_ASSIGNED_AT_ONCE = 10_000


def create_configuration(
    svc: Services, actor: Actor, product_id: str, *, name: str, body: Any
) -> Configuration:
    """B8: a new configuration; the newest is what newly paired devices get."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    checked = check_configuration_body(body)
    with svc.uow() as uow:
        product = find_product(uow, scope, product_id)
        configuration = Configuration(
            svc.ids.new(), scope.organization_id, product.id, require_name(name), checked,
            configuration_etag(checked), svc.clock.now(),
        )  # fmt: skip
        uow.configurations.add(configuration)
        uow.record(
            actor,
            Change(
                "configuration.created",
                Target("configuration", configuration.id),
                after={"name": configuration.name, "etag": configuration.etag},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return configuration


def list_configurations(
    svc: Services, actor: Actor, page: PageRequest, *, product_id: str | None = None
) -> Page[Configuration]:
    """Newest first."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.configurations.list_page(scope, product_id, page)


def get_configuration(svc: Services, actor: Actor, configuration_id: str) -> Configuration:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.configurations.get(scope, configuration_id)
        if found is None:
            raise not_found("configuration", configuration_id)
        return found


def assign_configuration(
    svc: Services, actor: Actor, configuration_id: str, device_ids: list[str]
) -> int:
    """B8: give these licensed devices this configuration (one or many at once, in one
    transaction); they receive it at their next check-in. Every device must be one the
    actor sees and run the configuration's product. How many changed."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    wanted = list(dict.fromkeys(device_ids))
    if not 1 <= len(wanted) <= MAX_ASSIGNED_AT_ONCE:
        raise Invalid(
            f"Name 1 to {MAX_ASSIGNED_AT_ONCE:,} devices.",
            fields={"device_ids": f"1 to {MAX_ASSIGNED_AT_ONCE} device ids"},
        )
    with svc.uow() as uow:
        configuration = uow.configurations.get(scope, configuration_id)
        if configuration is None:
            raise not_found("configuration", configuration_id)
        seen = {d.id for d in uow.devices.get_many(scope, wanted)}
        clients = uow.client_devices.of_devices(wanted)
        for device_id in wanted:
            client = clients.get(device_id)
            if device_id not in seen or client is None:
                raise not_found("licensed device", device_id)
            if client.product_id != configuration.product_id:
                raise Invalid(
                    f"Device {device_id} runs another product.",
                    fields={"device_ids": "devices of the configuration's product"},
                )
        changed = uow.client_devices.set_configuration(
            [clients[d].id for d in wanted], configuration.id
        )
        uow.record(
            actor,
            Change(
                "configuration.assigned",
                Target("configuration", configuration.id),
                after={"device_ids": wanted, "changed": changed},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return changed


def configuration_of(uow: UnitOfWork, client: ClientDevice) -> Configuration | None:
    if client.configuration_id is None:
        return None
    return uow.configurations.get(Scope(client.organization_id), client.configuration_id)
