"""Codes: create in numbers, list, change settings (active, PIN, label, departments),
delete, and the notification history members manage (SPEC A1, A2, A5, A9-A11, A13)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.batches import Batch
from onboard.domain.codes import (
    TOKEN_BYTES,
    Code,
    Notification,
    check_batch,
    check_label,
    check_pin,
    new_token,
    normalize_token,
)
from onboard.domain.devices import Device
from onboard.domain.errors import CodeNotPaired, Invalid
from onboard.services.common import not_found, resolve_departments
from onboard.services.ports import CodeFilter, Page, PageRequest, Services, UnitOfWork

MAX_CODES_AT_ONCE = 100_000


def code_target(code: Code, device: Device | None = None) -> Target:
    """A code as an audit target, seen by the departments it has (A8)."""
    departments = device.departments if device is not None else code.departments
    return Target("code", code.id, departments)


def code_snapshot(code: Code) -> dict[str, Any]:
    return {
        "token": code.token,
        "label": code.label,
        "batch": code.batch,
        "active": code.active,
        "pin_protected": code.pin_protected,
        "departments": sorted(code.departments),
        "device_id": code.device_id,
    }


def token_of(raw: str) -> str:
    """The canonical token, or NotFound: a malformed token is a code that does not exist."""
    token = normalize_token(raw)
    if token is None:
        raise not_found("code", raw[:40])
    return token


def load_code(uow: UnitOfWork, actor: Actor, raw_token: str, permission: Permission) -> Code:
    scope = actor.require(permission)
    code = uow.codes.get(scope, token_of(raw_token))
    if code is None:
        raise not_found("code", raw_token[:40])
    return code


def new_codes(
    svc: Services,
    actor: Actor,
    *,
    count: int,
    organization_id: str,
    departments: frozenset[str],
    batch: str | None = None,
    label: str | None = None,
    pin_hash: str | None = None,
    device_id: str | None = None,
) -> list[Code]:
    """Codes in memory, each with a fresh 80-bit token (A2); the randomness of all of them
    is read at once."""
    now = svc.clock.now()
    entropy = svc.entropy(TOKEN_BYTES * count)
    return [
        Code(
            id=svc.ids.new(),
            organization_id=organization_id,
            token=new_token(entropy[start : start + TOKEN_BYTES]),
            label=label,
            batch=batch,
            active=True,
            pin_hash=pin_hash,
            departments=departments,
            device_id=device_id,
            created_at=now,
            updated_at=now,
        )
        for start in range(0, TOKEN_BYTES * count, TOKEN_BYTES)
    ]


AUDITED_TOKENS = 100


def _created(codes: list[Code]) -> Change:
    """One audit entry and event for codes created together (P8): one change, however many
    codes. A single code is its own target; a larger run names its first tokens."""
    if len(codes) == 1:
        return Change("code.created", code_target(codes[0]), after=code_snapshot(codes[0]))
    first = codes[0]
    return Change(
        "codes.created",
        Target("code_batch", first.id, first.departments),
        after={
            "count": len(codes),
            "batch": first.batch,
            "label": first.label,
            "pin_protected": first.pin_protected,
            "departments": sorted(first.departments),
            "tokens": [c.token for c in codes[:AUDITED_TOKENS]],
        },
    )


def create_codes(
    svc: Services,
    actor: Actor,
    *,
    count: int = 1,
    batch: str | None = None,
    label: str | None = None,
    departments: list[str] | None = None,
    pin: str | None = None,
) -> list[Code]:
    """Create ``count`` unpaired codes in one transaction; a restricted member's codes get
    their departments unless they choose some of them (P5)."""
    scope = actor.require(Permission.MANAGE_CODES)
    if not 1 <= count <= MAX_CODES_AT_ONCE:
        raise Invalid(
            f"Create 1 to {MAX_CODES_AT_ONCE:,} codes at once.",
            fields={"count": f"1 to {MAX_CODES_AT_ONCE}"},
        )
    batch, label = check_batch(batch), check_label(label)
    # One hash for the batch: every code of it opens with the same PIN.
    pin_hash = svc.passwords.hash(check_pin(pin)) if pin is not None else None
    with svc.uow() as uow:
        own = resolve_departments(uow, scope, departments) or frozenset()
        known = batch and uow.batches.get_by_number(scope.organization_id, batch)
        if known:
            # Codes joining a batch follow its PIN policy unless given a PIN of their own.
            pin_hash = pin_hash or known.pin_hash
        elif batch is not None:
            # Codes made in a batch that has no record yet start it: every batch number in
            # use has its page (issue 5).
            batch_record = Batch(
                svc.ids.new(), scope.organization_id, batch, None, pin_hash, svc.clock.now()
            )
            uow.batches.add(batch_record)
        codes = new_codes(
            svc, actor, count=count, organization_id=scope.organization_id, departments=own,
            batch=batch, label=label, pin_hash=pin_hash,
        )  # fmt: skip
        uow.codes.add_many(codes)
        uow.record(actor, _created(codes), organization_id=scope.organization_id)
        uow.commit()
    return codes


def list_codes(svc: Services, actor: Actor, filters: CodeFilter, page: PageRequest) -> Page[Code]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.codes.list_page(scope, filters, page)


def get_code(svc: Services, actor: Actor, raw_token: str) -> Code:
    with svc.uow() as uow:
        return load_code(uow, actor, raw_token, Permission.READ)


def effective_departments(svc: Services, found: Sequence[Code]) -> dict[str, frozenset[str]]:
    """A8: the departments each code has now (its device's while paired), by code id, in
    one read for a whole page."""
    device_ids = sorted({c.device_id for c in found if c.device_id is not None})
    by_device: dict[str, frozenset[str]] = {}
    if device_ids:
        with svc.uow() as uow:
            by_device = uow.devices.departments_of(device_ids)
    return {
        c.id: by_device.get(c.device_id, c.departments) if c.device_id else c.departments
        for c in found
    }


def effective_departments_of(svc: Services, code: Code) -> frozenset[str]:
    """A8: the departments the code has now (its device's while paired)."""
    return effective_departments(svc, [code])[code.id]


def update_code(svc: Services, actor: Actor, raw_token: str, changes: dict[str, Any]) -> Code:
    """Change ``active``, ``pin`` (None clears it), ``label`` or ``departments`` (the
    code's own, which return when it is unpaired, A8)."""
    pin_hash: str | None = None
    if changes.get("pin") is not None:
        pin_hash = svc.passwords.hash(check_pin(changes["pin"]))
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.MANAGE_CODES)
        scope = actor.require(Permission.MANAGE_CODES)
        updated = code
        if "active" in changes:
            updated = replace(updated, active=bool(changes["active"]))
        if "pin" in changes:
            updated = replace(updated, pin_hash=pin_hash)
        if "label" in changes:
            updated = replace(updated, label=check_label(changes["label"]))
        if "departments" in changes:
            chosen = resolve_departments(uow, scope, changes["departments"])
            updated = replace(updated, departments=chosen or frozenset())
        if updated == code:
            return code
        updated = replace(updated, updated_at=svc.clock.now())
        uow.codes.update(updated)
        device = uow.devices.get_unscoped(code.device_id) if code.device_id else None
        uow.record(
            actor,
            Change(
                "code.updated",
                code_target(updated, device),
                before=code_snapshot(code),
                after=code_snapshot(updated),
                device_id=code.device_id,
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return updated


def release_code(svc: Services, uow: UnitOfWork, actor: Actor, code: Code, device: Device) -> Code:
    """A9: unpair inside an open unit of work: the link goes, the code's notification
    history with it (the device keeps its interactions), nothing is deleted."""
    now = svc.clock.now()
    if not uow.codes.release(code.id, device.id, now):
        # Unpaired (or paired elsewhere) by a concurrent call since it was read: this
        # unpairing did not happen, and the history now belongs to that other state.
        raise CodeNotPaired("The code is no longer paired with this device.")
    cleared = uow.notifications.delete_for_code(code.id)
    released = replace(code, device_id=None, updated_at=now)
    uow.record(
        actor,
        Change(
            "code.unpaired",
            # Seen by the device's departments (where it was) and the code's own (where it is).
            Target("code", code.id, device.departments | code.departments),
            before={"device_id": device.id},
            after={"device_id": None, "notifications_cleared": cleared},
            device_id=device.id,
        ),
        organization_id=code.organization_id,
    )
    return released


def delete_code(svc: Services, actor: Actor, raw_token: str) -> None:
    """A5: deleting a paired code unpairs it first; the device stays."""
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.MANAGE_CODES)
        device = uow.devices.get_unscoped(code.device_id) if code.device_id else None
        if device is not None:
            code = release_code(svc, uow, actor, code, device)
        uow.codes.delete(code.id)
        uow.record(
            actor,
            Change("code.deleted", code_target(code), before=code_snapshot(code)),
            organization_id=code.organization_id,
        )
        uow.commit()


def list_notifications(
    svc: Services, actor: Actor, raw_token: str, page: PageRequest
) -> Page[Notification]:
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.READ)
        return uow.notifications.list_page(code.id, page)


def get_notification(
    svc: Services, actor: Actor, raw_token: str, notification_id: str
) -> Notification:
    """One notification of a code the actor sees (what a page asks to confirm deleting)."""
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.READ)
        found = uow.notifications.get(code.id, notification_id)
    if found is None:
        raise not_found("notification", notification_id)
    return found


def delete_notifications(
    svc: Services, actor: Actor, raw_token: str, notification_id: str | None = None
) -> int:
    """Delete one notification of a code, or all of them (None); the device keeps its
    interaction record of each (A13)."""
    with svc.uow() as uow:
        code = load_code(uow, actor, raw_token, Permission.MANAGE_NOTIFICATIONS)
        if notification_id is None:
            deleted = uow.notifications.delete_for_code(code.id)
        else:
            if uow.notifications.get(code.id, notification_id) is None:
                raise not_found("notification", notification_id)
            uow.notifications.delete(notification_id)
            deleted = 1
        device = uow.devices.get_unscoped(code.device_id) if code.device_id else None
        uow.record(
            actor,
            Change(
                "code.notifications_deleted",
                code_target(code, device),
                after={"notification_id": notification_id, "deleted": deleted},
                device_id=code.device_id,
            ),
            organization_id=code.organization_id,
        )
        uow.commit()
    return deleted
