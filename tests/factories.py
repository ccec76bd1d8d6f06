"""Plain functions that make test data through the real use cases."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from onboard.domain.access import Actor
from onboard.domain.identity import Department, Member, Organization
from onboard.services import departments, members, organizations, tokens
from onboard.services.common import member_actor
from onboard.services.ports import Services

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Org:
    organization: Organization
    admin: Member
    actor: Actor


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(4)}"


def make_org(svc: Services, *, name: str | None = None, admin_email: str | None = None) -> Org:
    """An organization with an unrestricted Administrator whose password is PASSWORD."""
    email = admin_email or f"admin-{secrets.token_hex(4)}@example.com"
    result = organizations.init_organization(
        svc, name=name or unique("Org"), admin_email=email, password=PASSWORD
    )
    return Org(result.organization, result.member, member_actor(result.member))


def make_department(svc: Services, org: Org, *, name: str | None = None) -> Department:
    return departments.create_department(svc, org.actor, name=name or unique("Dept"))


def make_member(
    svc: Services,
    org: Org,
    *,
    roles: list[str] | None = None,
    departments: list[str] | None = None,
    email: str | None = None,
) -> Member:
    added = members.add_member(
        svc,
        org.actor,
        email=email or f"member-{secrets.token_hex(4)}@example.com",
        roles=roles or ["administrator"],
        departments=departments,
        password=PASSWORD,
    )
    return added.member


def token_for(svc: Services, member: Member) -> str:
    return tokens.create_token(svc, member_actor(member), name="test").secret
