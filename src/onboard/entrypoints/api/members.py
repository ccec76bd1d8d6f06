"""/api/v1/members (SPEC P4)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import members

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=201, response_model=s.MemberPublic)
def create(body: s.MemberCreate, svc: Svc, actor: CurrentActor) -> s.MemberPublic:
    added = members.add_member(
        svc,
        actor,
        email=body.email,
        roles=list(body.roles),
        departments=body.departments,
        password=body.password,
    )
    return present.member(added.member, added.one_time_password)


@router.get("", response_model=s.PageOf[s.MemberPublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.MemberPublic]:
    page = members.list_members(svc, actor, paging)
    return s.PageOf(items=[present.member(m) for m in page.items], next_cursor=next_cursor(page))


@router.get("/{member_id}", response_model=s.MemberPublic)
def get(member_id: PathId, svc: Svc, actor: CurrentActor) -> s.MemberPublic:
    return present.member(members.get_member(svc, actor, member_id))


@router.patch("/{member_id}", response_model=s.MemberPublic)
def update(
    member_id: PathId, body: s.MemberUpdate, svc: Svc, actor: CurrentActor
) -> s.MemberPublic:
    updated = members.update_member(
        svc,
        actor,
        member_id,
        roles=list(body.roles) if body.roles is not None else None,
        departments=body.departments,
        change_departments="departments" in body.model_fields_set,
    )
    return present.member(updated)


@router.delete("/{member_id}", status_code=204)
def delete(member_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    members.remove_member(svc, actor, member_id)
    return Response(status_code=204)
