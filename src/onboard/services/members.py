"""Members: people's memberships in an organization, with roles and departments (SPEC P4, P5)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from onboard.domain.access import Actor, Permission, Scope, parse_roles
from onboard.domain.audit import Change, Target
from onboard.domain.errors import EmailTaken, Invalid, LastAdministrator
from onboard.domain.identity import Member, administrators_left
from onboard.domain.values import check_password, normalize_email
from onboard.services.common import (
    find_or_create_person,
    member_snapshot,
    not_found,
    resolve_departments,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


@dataclass(frozen=True)
class NewMember:
    member: Member
    one_time_password: str | None
    """Set when a new person was created without a password: shown once."""


def _member_departments(
    uow: UnitOfWork, scope: Scope, chosen: list[str] | None
) -> frozenset[str] | None:
    departments = resolve_departments(uow, scope, chosen)
    if departments is not None and not departments:
        raise Invalid(
            "A restricted member needs at least one department; use null for all departments.",
            fields={"departments": "at least one department, or null"},
        )
    return departments


def add_member(
    svc: Services,
    actor: Actor,
    *,
    email: str,
    roles: list[str],
    departments: list[str] | None,
    password: str | None = None,
) -> NewMember:
    """Add a person to the organization. A new person gets the given password or a
    one-time one; an existing person keeps theirs (their other memberships are theirs)."""
    scope = actor.require(Permission.MANAGE_MEMBERS)
    email = normalize_email(email)
    role_set = parse_roles(roles)
    if password is not None:
        check_password(password)
    now = svc.clock.now()
    with svc.uow() as uow:
        member_departments = _member_departments(uow, scope, departments)
        person, handed_out = find_or_create_person(svc, uow, email, password)
        if uow.members.get_for_person(scope.organization_id, person.id) is not None:
            raise EmailTaken(
                f"{email} is already a member of this organization.",
                fields={"email": "already a member"},
            )
        member = Member(
            svc.ids.new(),
            scope.organization_id,
            person.id,
            email,
            role_set,
            member_departments,
            now,
        )
        uow.members.add(member)
        uow.record(
            actor,
            Change(
                "member.created",
                Target("member", member.id, member.departments),
                after=member_snapshot(member),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return NewMember(member, handed_out)


def list_members(svc: Services, actor: Actor, page: PageRequest) -> Page[Member]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.members.list_page(scope, page)


def get_member(svc: Services, actor: Actor, member_id: str) -> Member:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        member = uow.members.get(scope, member_id)
    if member is None:
        raise not_found("member", member_id)
    return member


def update_member(
    svc: Services,
    actor: Actor,
    member_id: str,
    *,
    roles: list[str] | None = None,
    departments: list[str] | None = None,
    change_departments: bool = False,
) -> Member:
    """Change a member's roles and/or (with ``change_departments``) departments, None
    meaning all; the organization always keeps an unrestricted Administrator."""
    scope = actor.require(Permission.MANAGE_MEMBERS)
    with svc.uow() as uow:
        member = uow.members.get(scope, member_id)
        if member is None:
            raise not_found("member", member_id)
        updated = member
        if roles is not None:
            updated = replace(updated, roles=parse_roles(roles))
        if change_departments:
            updated = replace(updated, departments=_member_departments(uow, scope, departments))
        if updated == member:
            return member
        _keep_an_administrator(uow, member, replacement=updated)
        uow.members.update(updated)
        uow.record(
            actor,
            Change(
                "member.updated",
                Target("member", member.id, updated.departments),
                before=member_snapshot(member),
                after=member_snapshot(updated),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return updated


def remove_member(svc: Services, actor: Actor, member_id: str) -> None:
    """End a membership: its tokens and sessions go with it; the person stays."""
    scope = actor.require(Permission.MANAGE_MEMBERS)
    with svc.uow() as uow:
        member = uow.members.get(scope, member_id)
        if member is None:
            raise not_found("member", member_id)
        _keep_an_administrator(uow, member, replacement=None)
        uow.members.delete(member.id)
        uow.record(
            actor,
            Change(
                "member.removed",
                Target("member", member.id, member.departments),
                before=member_snapshot(member),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()


def _keep_an_administrator(uow: UnitOfWork, member: Member, *, replacement: Member | None) -> None:
    if not member.is_unrestricted_administrator:
        return
    members = uow.members.all_in_organization(member.organization_id)
    if administrators_left(members, without=member.id, replacement=replacement) == 0:
        raise LastAdministrator(
            "This is the last Administrator of all departments; appoint another one first."
        )
