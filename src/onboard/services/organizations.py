"""Creating organizations and their first Administrator (SPEC P1, P4; `onboard init`)."""

from __future__ import annotations

from dataclasses import dataclass

from onboard.domain.access import Actor, Permission, Role
from onboard.domain.audit import Change, Target
from onboard.domain.errors import NameTaken, NotFound
from onboard.domain.identity import Member, Organization
from onboard.domain.values import check_password, normalize_email, require_name
from onboard.services.common import OPERATOR, find_or_create_person, member_snapshot
from onboard.services.ports import Services


@dataclass(frozen=True)
class InitResult:
    organization: Organization
    member: Member
    password: str | None
    """The one-time password of a new person; None when the person already existed."""


def init_organization(
    svc: Services, *, name: str, admin_email: str, password: str | None = None
) -> InitResult:
    """Create an organization with an unrestricted Administrator. An existing person (by
    email) keeps their password and gains the membership (P4)."""
    name = require_name(name)
    email = normalize_email(admin_email)
    if password is not None:
        check_password(password)
    now = svc.clock.now()
    with svc.uow() as uow:
        if uow.organizations.get_by_name(name) is not None:
            raise NameTaken(f"An organization named {name!r} exists already.")
        organization = Organization(id=svc.ids.new(), name=name, created_at=now)
        uow.organizations.add(organization)
        person, handed_out = find_or_create_person(svc, uow, email, password)
        member = Member(
            id=svc.ids.new(),
            organization_id=organization.id,
            person_id=person.id,
            email=email,
            roles=frozenset({Role.ADMINISTRATOR}),
            departments=None,
            created_at=now,
        )
        uow.members.add(member)
        uow.record(
            OPERATOR,
            Change(
                "organization.created",
                Target("organization", organization.id),
                after={"name": name},
            ),
            organization_id=organization.id,
        )
        uow.record(
            OPERATOR,
            Change("member.created", Target("member", member.id), after=member_snapshot(member)),
            organization_id=organization.id,
        )
        uow.commit()
    return InitResult(organization, member, handed_out)


def get_organization(svc: Services, actor: Actor) -> Organization:
    """The organization the actor works in."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        organization = uow.organizations.get(scope.organization_id)
    if organization is None:
        raise NotFound("The organization no longer exists.")
    return organization


def organization_exists(svc: Services, name: str) -> bool:
    with svc.uow() as uow:
        return uow.organizations.get_by_name(require_name(name)) is not None


def find_organization(svc: Services, id_or_name: str) -> Organization:
    """The organization with this id or, failing that, this exact name (the CLI's --org)."""
    wanted = id_or_name.strip()
    with svc.uow() as uow:
        found = uow.organizations.get(wanted) if wanted else None
        if found is None and wanted:
            found = uow.organizations.get_by_name(wanted)
    if found is None:
        raise NotFound(f"No organization {id_or_name[:100]!r}.")
    return found
