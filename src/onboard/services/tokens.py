"""Personal API tokens: shown once, stored hashed, bound to one membership (SPEC P7)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.errors import Forbidden, Invalid
from onboard.domain.identity import ApiToken, Member
from onboard.domain.values import digest_secret, normalize_email, require_name
from onboard.services.common import not_found
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

TOKEN_PREFIX = "onb_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str
    """The token itself: shown once, never stored."""


def _member_of(actor: Actor) -> str:
    if actor.member_id is None:
        raise Forbidden("Only members have API tokens.")
    actor.require(Permission.READ)
    return actor.member_id


def _issue(svc: Services, uow: UnitOfWork, actor: Actor, member: Member, name: str) -> NewToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        svc.ids.new(),
        member.organization_id,
        member.id,
        require_name(name),
        secret[:10],
        svc.clock.now(),
        None,
    )
    uow.tokens.add(token, digest_secret(secret))
    uow.record(
        actor,
        Change(
            "token.created",
            Target("token", token.id, member.departments),
            after={"name": token.name, "member_id": member.id},
        ),
        organization_id=member.organization_id,
    )
    return NewToken(token, secret)


def create_token(svc: Services, actor: Actor, *, name: str) -> NewToken:
    """A new token for the acting member."""
    member_id = _member_of(actor)
    with svc.uow() as uow:
        member = uow.members.get_unscoped(member_id)
        if member is None:
            raise not_found("member", member_id)
        issued = _issue(svc, uow, actor, member, name)
        uow.commit()
    return issued


def create_token_for(
    svc: Services, actor: Actor, *, email: str, organization: str | None, name: str
) -> NewToken:
    """Operator: a token for the member with this email (`onboard tokens create`); the
    organization (id or name) is needed when the person belongs to several."""
    email = normalize_email(email)
    with svc.uow() as uow:
        person = uow.persons.get_by_email(email)
        memberships = uow.members.of_person(person.id) if person else []
        if organization is not None:
            orgs = {
                o.id: o
                for o in uow.organizations.get_many([m.organization_id for m in memberships])
            }
            memberships = [
                m
                for m in memberships
                if organization in (m.organization_id, orgs[m.organization_id].name)
            ]
        if not memberships:
            raise not_found("member", email)
        if len(memberships) > 1:
            raise Invalid(
                f"{email} belongs to several organizations; name one with --org.",
                fields={"organization": "required"},
            )
        issued = _issue(svc, uow, actor, memberships[0], name)
        uow.commit()
    return issued


def list_tokens(svc: Services, actor: Actor, page: PageRequest) -> Page[ApiToken]:
    member_id = _member_of(actor)
    with svc.uow() as uow:
        return uow.tokens.list_page(member_id, page)


def revoke_token(svc: Services, actor: Actor, token_id: str) -> None:
    member_id = _member_of(actor)
    with svc.uow() as uow:
        token = uow.tokens.get(member_id, token_id)
        if token is None:
            raise not_found("token", token_id)
        member = uow.members.get_unscoped(member_id)
        uow.tokens.delete(token.id)
        uow.record(
            actor,
            Change(
                "token.revoked",
                Target("token", token.id, member.departments if member else None),
                before={"name": token.name, "member_id": member_id},
            ),
            organization_id=token.organization_id,
        )
        uow.commit()
