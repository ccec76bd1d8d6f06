"""Device replacement (SPEC D7): a faulty or outdated device is swapped for new hardware
with its own serial, key and secret. The twin stays as it is, with its id, name,
attributes, codes, departments, customer, configuration, documents and history; the old
serial's credential stops at once; the timeline records the swap; the new hardware
activates into the existing twin."""

from __future__ import annotations

from dataclasses import replace

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change
from onboard.domain.devices import Device
from onboard.domain.enrollment import check_serial
from onboard.domain.errors import Conflict, Invalid, NotRegistered, RegistrationDisabled
from onboard.domain.provisioning import ProvisioningGroup, Registration, RegistrationMode
from onboard.services.common import device_target, not_found
from onboard.services.ports import Services, UnitOfWork
from onboard.services.provisioning.groups import find_group


def _group(
    uow: UnitOfWork, actor: Actor, old: Registration, group: str | None
) -> ProvisioningGroup:
    """The new hardware's group: the one named (of the actor's organization), else the old
    hardware's (a claimed device's group may be another organization's, D5)."""
    if group is not None:
        return find_group(uow, actor.require(Permission.READ), group)
    found = uow.provisioning_groups.by_group_ref(old.group_ref)
    if found is None:  # deleted with its organization
        raise not_found("provisioning group", old.group_ref)
    return found


def _new_registration(
    svc: Services, uow: UnitOfWork, group: ProvisioningGroup, serial: str
) -> Registration:
    registration = uow.registrations.get(group.id, serial, for_change=True)
    if registration is None:
        if group.registration_mode is RegistrationMode.PREREGISTERED:
            raise NotRegistered(
                f"Serial {serial!r} is not registered in group {group.group_id!r}; register "
                "the new hardware's serial first."
            )
        registration = uow.registrations.ensure(
            Registration(
                svc.ids.new(), group.organization_id, group.id, serial, {}, False, None, None,
                None, svc.clock.now(),
            )
        )  # fmt: skip
    if registration.disabled:
        raise RegistrationDisabled(f"The registration of serial {serial!r} is disabled.")
    if registration.device_id is not None:
        raise Conflict(
            f"Serial {serial!r} belongs to another device's twin already; a new device "
            "replaces an old one with a serial that has none."
        )
    return registration


# D7 swaps a twin's hardware: those who edit devices (Technicians in the field, Device
# Managers) and those who run provisioning (IoT Managers) both do it (§0).
REPLACERS = (Permission.EDIT_DEVICES, Permission.MANAGE_PROVISIONING)


def replace_device(
    svc: Services, actor: Actor, device_id: str, *, serial: str, group: str | None = None
) -> Device:
    """D7: the provisioned device ``device_id`` is now the hardware with ``serial`` (in
    ``group``, by default the old hardware's group). The old serial's registration loses
    the twin and its credential at once and is disabled; the new one activates into the
    twin. Members who edit devices or manage provisioning replace them (a device they
    see)."""
    scope = actor.require_any(*REPLACERS)
    new_serial = check_serial(serial)
    now = svc.clock.now()
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id, for_change=True)
        if device is None:
            raise not_found("device", device_id)
        old = uow.registrations.of_device(device.id)
        if old is None:
            raise Invalid(
                "This device did not activate through a provisioning group: only such a "
                "device is replaced by new hardware (D7).",
                fields={"device": "not provisioned"},
            )
        new_group = _group(uow, actor, old, group)
        if new_group.id == old.group_ref and new_serial == old.serial:
            raise Invalid(
                "The new hardware has a serial of its own.", fields={"serial": "the same"}
            )
        new = _new_registration(svc, uow, new_group, new_serial)
        if not uow.registrations.pass_twin(old.id, new.id, device.id, now):
            raise Conflict(f"Serial {new_serial!r} was given a twin meanwhile; try again.")
        after = replace(device, serial=new_serial, updated_at=now)
        uow.devices.update(after)
        uow.record(
            actor,
            Change(
                "device.replaced",
                device_target(after),
                before={"serial": old.serial, "registration": old.id},
                after={
                    "serial": new_serial,
                    "registration": new.id,
                    "group_id": new_group.group_id,
                },
            ),
            organization_id=device.organization_id,
        )
        uow.commit()
    return after
