"""GET /api/v1/me: who the caller is, where, with which roles and departments."""

from __future__ import annotations

from fastapi import APIRouter

from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Svc
from onboard.entrypoints.api.presenters import departments_of
from onboard.services.members import get_member
from onboard.services.organizations import get_organization

router = APIRouter(tags=["me"])


@router.get("/me", response_model=s.MePublic)
def me(svc: Svc, actor: CurrentActor) -> s.MePublic:
    member = get_member(svc, actor, actor.member_id or "")
    organization = get_organization(svc, actor)
    return s.MePublic(
        id=member.id,
        email=member.email,
        organization=s.OrganizationRef(id=organization.id, name=organization.name),
        roles=sorted(r.value for r in member.roles),
        departments=departments_of(member.departments),
    )
