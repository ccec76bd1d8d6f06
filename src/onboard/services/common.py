"""Pieces every use case shares: actors from memberships, department checks, snapshots."""

from __future__ import annotations

import secrets
from typing import Any

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.audit import Target
from onboard.domain.devices import Device
from onboard.domain.errors import Invalid, NotFound, RateLimited
from onboard.domain.identity import Member, Person
from onboard.services.ports import Services, UnitOfWork

OPERATOR = Actor(kind=ActorKind.OPERATOR, id=None, label="operator")


def member_actor(member: Member, *, source_ip: str | None = None) -> Actor:
    """The actor for a member using the web session."""
    return Actor(
        kind=ActorKind.MEMBER,
        id=member.id,
        label=member.email,
        scope=Scope(member.organization_id, member.departments),
        roles=member.roles,
        member_id=member.id,
        source_ip=source_ip,
    )


def operator_in(organization_id: str) -> Actor:
    """The operator (CLI on the server) acting inside one organization with full scope."""
    return Actor(
        kind=ActorKind.OPERATOR,
        id=None,
        label="operator",
        scope=Scope(organization_id, None),
    )


def resolve_departments(
    uow: UnitOfWork, scope: Scope, chosen: list[str] | None, *, may_be_empty: bool = False
) -> frozenset[str] | None:
    """Departments chosen by the actor: each must exist in the organization and be visible,
    and a restricted actor may only use its own (P5)."""
    wanted = None if chosen is None else frozenset(chosen)
    if wanted:
        known = uow.departments.existing_ids(scope.organization_id, wanted)
        missing = sorted(wanted - known)
        if missing:
            raise Invalid(
                f"Unknown department(s): {', '.join(missing)}.",
                fields={"departments": "unknown department"},
            )
    return scope.assign(wanted, may_be_empty=may_be_empty)


def one_time_password() -> str:
    """A password to hand over once; the person is expected to change it."""
    return secrets.token_urlsafe(12)


def find_or_create_person(
    svc: Services, uow: UnitOfWork, email: str, password: str | None
) -> tuple[Person, str | None]:
    """The person with this email, created when new with ``password`` or, without one, a
    one-time password that is returned to be shown once (P4: an existing person keeps the
    password they have)."""
    person = uow.persons.get_by_email(email)
    if person is not None:
        return person, None
    secret = password or one_time_password()
    person = Person(svc.ids.new(), email, svc.passwords.hash(secret), svc.clock.now())
    uow.persons.add(person)
    return person, None if password else secret


def not_found(kind: str, ident: str) -> NotFound:
    return NotFound(f"No {kind} {ident!r} here.")


def departments_value(departments: frozenset[str] | None) -> list[str] | None:
    return None if departments is None else sorted(departments)


def member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "email": member.email,
        "roles": sorted(r.value for r in member.roles),
        "departments": departments_value(member.departments),
    }


def device_target(device: Device) -> Target:
    """What a change of a device touched, seen by the device's departments (P5, P8)."""
    return Target("device", device.id, device.departments)


# Device calls: attempts per key (a source address, a device) in a window (§6).
ATTEMPT_WINDOW_SECONDS = 60


def count_attempt(svc: Services, key: str, limit: int, what: str) -> None:
    """Count one attempt under ``key``, in a transaction of its own (a refused attempt
    still counts); RateLimited with Retry-After beyond ``limit`` a minute."""
    now = svc.clock.now()
    with svc.uow() as uow:
        seen = uow.rate_limits.hit(key, now=now, window_seconds=ATTEMPT_WINDOW_SECONDS)
        uow.commit()
    if seen > limit:
        raise RateLimited(
            f"Too many {what} from here; try again in a minute.",
            retry_after=ATTEMPT_WINDOW_SECONDS,
        )
