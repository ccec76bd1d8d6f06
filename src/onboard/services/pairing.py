"""Pairing codes with devices, from either side, and unpairing (SPEC A6-A9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.domain.errors import CodeAlreadyPaired, CodeDeactivated
from onboard.services.codes import code_snapshot, code_target, load_code, new_codes, release_code
from onboard.services.common import not_found
from onboard.services.devices import DeviceInput, add_device
from onboard.services.ports import Services, UnitOfWork


def _claim(svc: Services, uow: UnitOfWork, actor: Actor, code: Code, device: Device) -> Code:
    """A6: pair atomically; of two concurrent pairings of one code exactly one wins."""
    code.check_pairable()
    now = svc.clock.now()
    if not uow.codes.claim(code.id, device.id, now):
        current = uow.codes.get_by_token(code.token)
        if current is not None and not current.active:
            raise CodeDeactivated("A deactivated code cannot be paired; activate it first.")
        raise CodeAlreadyPaired("The code is paired with a device already; unpair it first.")
    paired = replace(code, device_id=device.id, updated_at=now)
    uow.record(
        actor,
        Change(
            "code.paired",
            Target("code", code.id, device.departments),
            before={"device_id": None},
            after={"device_id": device.id, "device_name": device.name},
            device_id=device.id,
        ),
        organization_id=code.organization_id,
    )
    return paired


def _device(uow: UnitOfWork, actor: Actor, device_id: str) -> Device:
    device = uow.devices.get(actor.require(Permission.PAIR), device_id)
    if device is None:
        raise not_found("device", device_id)
    return device


def pair_code(svc: Services, actor: Actor, raw_token: str, device_id: str) -> Code:
    """Pair an unpaired, active code the actor sees with a device the actor sees."""
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.PAIR)
        device = _device(uow, actor, device_id)
        paired = _claim(svc, uow, actor, code, device)
        uow.commit()
    return paired


def pair_with_new_device(
    svc: Services, actor: Actor, raw_token: str, given: DeviceInput
) -> tuple[Code, Device]:
    """A7: from a code, create a device (from a template) and pair it, in one transaction."""
    actor.require(Permission.EDIT_DEVICES)
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.PAIR)
        code.check_pairable()
        if code.device_id is not None:
            raise CodeAlreadyPaired("The code is paired with a device already; unpair it first.")
        device = add_device(svc, uow, actor, given)
        paired = _claim(svc, uow, actor, code, device)
        uow.commit()
    return paired, device


def add_paired_code(
    svc: Services, uow: UnitOfWork, actor: Actor, device: Device, *, payload: str | None = None
) -> Code:
    """A new code paired at once with a device the actor sees, inside an open unit of work
    (it takes the device's departments); a dynamic code is bound to ``payload`` (A14)."""
    scope = actor.require(Permission.PAIR)
    (code,) = new_codes(
        svc, actor, count=1, organization_id=scope.organization_id,
        departments=device.departments,
    )  # fmt: skip
    code = replace(code, payload=payload)
    uow.codes.add_many([code])
    snapshot = code_snapshot(code) | ({"payload": payload} if payload is not None else {})
    uow.record(
        actor,
        Change("code.created", code_target(code, device), after=snapshot, device_id=device.id),
        organization_id=scope.organization_id,
    )
    return _claim(svc, uow, actor, code, device)


def create_code_for_device(svc: Services, actor: Actor, device_id: str) -> Code:
    """A7: from a device, a new code paired at once (it takes the device's departments)."""
    with svc.uow() as uow:
        paired = add_paired_code(svc, uow, actor, _device(uow, actor, device_id))
        uow.commit()
    return paired


def unpair_code(svc: Services, actor: Actor, raw_token: str) -> Code:
    """A9: remove the link only; the code's notification history goes with it."""
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.PAIR)
        device_id = code.check_paired()
        device = uow.devices.get_unscoped(device_id)
        if device is None:
            raise not_found("device", device_id)
        released = release_code(svc, uow, actor, code, device)
        uow.commit()
    return released


def codes_of_devices(svc: Services, actor: Actor, found: Sequence[Device]) -> dict[str, list[Code]]:
    """The codes of devices the actor was given (from a scoped read), in one query."""
    actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.codes.of_devices([d.id for d in found])


def devices_of_codes(svc: Services, actor: Actor, found: Sequence[Code]) -> dict[str, Device]:
    """The devices a page of codes is paired with, by device id, as the actor sees them
    (a device the actor may not see is left out), in one query."""
    scope = actor.require(Permission.READ)
    device_ids = sorted({c.device_id for c in found if c.device_id is not None})
    with svc.uow() as uow:
        return {d.id: d for d in uow.devices.get_many(scope, device_ids)}


def codes_of_device(svc: Services, actor: Actor, device_id: str) -> list[Code]:
    with svc.uow() as uow:
        device = uow.devices.get(actor.require(Permission.READ), device_id)
        if device is None:
            raise not_found("device", device_id)
        return uow.codes.of_device(device.id)
