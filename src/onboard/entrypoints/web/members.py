"""Back-office pages of members: list, add (one-time password shown once), edit roles and
departments, remove after confirmation (SPEC P4, P5)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from onboard.domain.access import Actor, Permission, Role
from onboard.domain.errors import Conflict, DepartmentForbidden, DomainError, Invalid
from onboard.domain.identity import Member
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import (
    ALL_DEPARTMENTS,
    Choices,
    CsrfField,
    Cursor,
    Text,
    chosen_departments,
)
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import members
from onboard.services.ports import Services

router = web_router()

# Errors a member form shows next to its fields rather than on a page of their own.
_FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)


def _choices(svc: Services, actor: Actor) -> dict[str, Any]:
    """What the member form offers: every role, the departments the actor sees."""
    known = all_departments(svc, actor)
    return {
        "area": "members",
        "roles": [r.value for r in Role],
        "departments": known,
        "department_names": {d.id: d.name for d in known},
    }


@router.get("/members")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    page = members.list_members(svc, actor, paging)
    return render(
        request,
        "members/list.html",
        {
            **_choices(svc, actor),
            "page": page,
            "paged": paging.after is not None,
            "me": actor.member_id,
            "can_manage": actor.can(Permission.MANAGE_MEMBERS),
        },
    )


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    *,
    email: str = "",
    roles: list[str] | None = None,
    access: str = ALL_DEPARTMENTS,
    chosen: list[str] | None = None,
    error: DomainError | None = None,
) -> Response:
    return render(
        request,
        "members/new.html",
        {
            **_choices(svc, actor),
            "email": email,
            "chosen_roles": roles if roles is not None else [Role.VIEWER.value],
            "access": access,
            "chosen": chosen or [],
        },
        error=error,
    )


@router.get("/members/new")
def new_form(request: Request, svc: Svc, actor: MemberActor) -> Response:
    actor.require(Permission.MANAGE_MEMBERS)
    return _new_form(request, svc, actor)


@router.post("/members/new")
def add(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    email: Text = "",
    roles: Choices = None,
    access: Text = ALL_DEPARTMENTS,
    departments: Choices = None,
) -> Response:
    """Add a member; a person new to onboard gets a one-time password, shown once."""
    http.check_csrf(request, csrf)
    roles, departments = roles or [], departments or []
    try:
        added = members.add_member(
            svc,
            actor,
            email=email,
            roles=roles,
            departments=chosen_departments(access, departments),
        )
    except _FORM_ERRORS as error:
        return _new_form(
            request,
            svc,
            actor,
            email=email,
            roles=roles,
            access=access,
            chosen=departments,
            error=error,
        )
    email = added.member.email
    if added.one_time_password is None:
        return redirect(
            request,
            "/members",
            notice=f"{email} was added. They already have an "
            "onboard account and sign in with their own password.",
        )
    return redirect(
        request,
        "/members",
        notice=f"{email} was added.",
        secret=added.one_time_password,
        secret_for=email,
    )


def _edit_form(
    request: Request,
    svc: Services,
    actor: Actor,
    member: Member,
    *,
    roles: list[str],
    access: str,
    chosen: list[str],
    error: DomainError | None = None,
) -> Response:
    return render(
        request,
        "members/edit.html",
        {
            **_choices(svc, actor),
            "member": member,
            "chosen_roles": roles,
            "access": access,
            "chosen": chosen,
        },
        error=error,
    )


@router.get("/members/{member_id}/edit")
def edit_form(request: Request, svc: Svc, actor: MemberActor, member_id: str) -> Response:
    member = members.get_member(svc, actor, member_id)
    access = ALL_DEPARTMENTS if member.departments is None else "some"
    return _edit_form(
        request,
        svc,
        actor,
        member,
        roles=[r.value for r in member.roles],
        access=access,
        chosen=sorted(member.departments or ()),
    )


@router.post("/members/{member_id}/edit")
def update(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    member_id: str,
    csrf: CsrfField = "",
    roles: Choices = None,
    access: Text = ALL_DEPARTMENTS,
    departments: Choices = None,
) -> Response:
    http.check_csrf(request, csrf)
    roles, departments = roles or [], departments or []
    try:
        updated = members.update_member(
            svc,
            actor,
            member_id,
            roles=roles,
            departments=chosen_departments(access, departments),
            change_departments=True,
        )
    except _FORM_ERRORS as error:
        member = members.get_member(svc, actor, member_id)
        return _edit_form(
            request, svc, actor, member, roles=roles, access=access, chosen=departments, error=error
        )
    return redirect(request, "/members", notice=f"{updated.email} was updated.")


@router.get("/members/{member_id}/remove")
def remove_form(request: Request, svc: Svc, actor: MemberActor, member_id: str) -> Response:
    member = members.get_member(svc, actor, member_id)
    return render(request, "members/remove.html", {"area": "members", "member": member})


@router.post("/members/{member_id}/remove")
def remove(
    request: Request, svc: Svc, actor: MemberActor, member_id: str, csrf: CsrfField = ""
) -> Response:
    """End a membership; the organization keeps at least one Administrator of all
    departments, and says so here when it would not."""
    member = members.get_member(svc, actor, member_id)
    return confirmed(
        request,
        csrf,
        template="members/remove.html",
        context={"area": "members", "member": member},
        action=lambda: members.remove_member(svc, actor, member_id),
        back="/members",
        notice=f"{member.email} was removed.",
    )
