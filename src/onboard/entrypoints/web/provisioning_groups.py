"""Back-office pages of provisioning groups (SPEC D1, D3, D4): the organization's groups,
a new group with every setting and its secret shown once, a group's page with its
settings, its registrations and the form to change them, and the secret's rotation: a new
secret shown once, then the old one dropped, each after confirmation."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.errors import DepartmentForbidden, Invalid, NameTaken
from onboard.domain.provisioning import Environment
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.device_views import all_templates
from onboard.entrypoints.web.forms import CsrfField, Cursor
from onboard.entrypoints.web.provisioning import (
    Draft,
    GroupForm,
    dumped,
    group_form_context,
    group_form_errors,
    labels,
)
from onboard.entrypoints.web.rendering import FormErrors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.environments import list_environments
from onboard.services.provisioning.groups import NewGroup
from onboard.services.provisioning.registrations import list_registrations

router = web_router()


def group_path(group_ref: str) -> str:
    return f"/provisioning/{group_ref}"


def _names(environments: list[Environment]) -> dict[str, str]:
    return {e.id: e.name for e in environments}


# --- the list and a new group --------------------------------------------------------------


@router.get("/provisioning")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    """D1: the organization's provisioning groups."""
    page = groups.list_groups(svc, actor, paging)
    return render(
        request,
        "provisioning/list.html",
        {
            "area": "provisioning",
            "page": page,
            "paged": paging.after is not None,
            "environment_names": _names(list_environments(svc, actor)),
            "can_manage": actor.can(Permission.MANAGE_PROVISIONING),
            **labels(),
        },
    )


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    draft: Draft,
    *,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    context = {"area": "provisioning", **group_form_context(svc, actor, draft)}
    return render(
        request, "provisioning/new.html", context, errors=errors or FormErrors(), status=status
    )


@router.get("/provisioning/new")
def new_form(request: Request, svc: Svc, actor: MemberActor) -> Response:
    actor.require(Permission.MANAGE_PROVISIONING)
    return _new_form(request, svc, actor, Draft())


def _secret_page(
    request: Request, svc: Services, actor: Actor, made: NewGroup, *, new: bool
) -> Response:
    names = _names(list_environments(svc, actor))
    return render(
        request,
        "provisioning/secret.html",
        {
            "area": "provisioning",
            "group": made.group,
            "secret": made.secret,
            "secondary_secret": made.secondary_secret,
            "new": new,
            "environment_names": names,
            **labels(),
        },
    )


@router.post("/provisioning")
def create(
    request: Request, svc: Svc, actor: MemberActor, form: GroupForm, csrf: CsrfField = ""
) -> Response:
    """D1: a new group; its secret is shown on the page that answers, and never again."""
    http.check_csrf(request, csrf)
    draft = form.draft
    try:
        if form.problem is not None:
            raise form.problem
        made = groups.create_group(
            svc, actor, draft.group_id.strip() or None, draft.settings(new=True)
        )
    except (Invalid, NameTaken, DepartmentForbidden) as refused:
        return _new_form(
            request, svc, actor, draft, errors=group_form_errors(refused), status=status_of(refused)
        )
    return _secret_page(request, svc, actor, made, new=True)


# --- one group -----------------------------------------------------------------------------


def _group_page(
    request: Request,
    svc: Services,
    actor: Actor,
    group_ref: str,
    paging: PageRequest,
    *,
    draft: Draft | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    group = groups.find_group_now(svc, actor, group_ref)
    environments = list_environments(svc, actor)
    names = _names(environments)
    templates = {t.id: t.name for t in all_templates(svc, actor)}
    context: dict[str, Any] = {
        "area": "provisioning",
        "group": group,
        "base": group_path(group.id),
        "environment_names": names,
        "template_name": templates.get(group.defaults.template_id or ""),
        "department_names": {d.id: d.name for d in all_departments(svc, actor)},
        "configuration": dumped(group.defaults.configuration),
        "attributes": dumped(group.defaults.attributes),
        "registrations": list_registrations(svc, actor, group.id, paging),
        "paged": paging.after is not None,
        "can_manage": actor.can(Permission.MANAGE_PROVISIONING),
    }
    context.update(group_form_context(svc, actor, draft or Draft.of(group, names)))
    return render(
        request, "provisioning/detail.html", context, errors=errors or FormErrors(), status=status
    )


@router.get("/provisioning/{group_ref}")
def detail(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, paging: Cursor
) -> Response:
    """D1, D3: a group's settings and defaults, and its registrations, oldest first."""
    return _group_page(request, svc, actor, group_ref, paging)


@router.post("/provisioning/{group_ref}")
def update(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    group_ref: str,
    form: GroupForm,
    csrf: CsrfField = "",
) -> Response:
    """D1: replace the group's settings and defaults (its group id and secrets stay)."""
    http.check_csrf(request, csrf)
    draft = form.draft
    try:
        if form.problem is not None:
            raise form.problem
        group = groups.update_group(svc, actor, group_ref, draft.settings(new=False))
    except (Invalid, NameTaken, DepartmentForbidden) as refused:
        return _group_page(
            request, svc, actor, group_ref, PageRequest(), draft=draft,
            errors=group_form_errors(refused), status=status_of(refused),
        )  # fmt: skip
    return redirect(request, group_path(group.id), notice=f"Group {group.name} saved.")


# --- rotating the secret (D1) ------------------------------------------------------------------


def _rotate_context(svc: Services, actor: Actor, group_ref: str) -> dict[str, Any]:
    group = groups.find_group_now(svc, actor, group_ref)
    actor.require(Permission.MANAGE_PROVISIONING)
    dropped = (
        " The secondary secret held now is dropped: devices whose keys come from it no "
        "longer activate."
        if group.rotating
        else ""
    )
    return {
        "area": "provisioning",
        "group": group,
        "confirm_title": f"Rotate the secret of {group.name}?",
        "confirm_text": "A new secret is made and shown once. The current one becomes the "
        "secondary: devices burned with keys of it keep activating until you finish the "
        f"rotation.{dropped}",
        "confirm_action": f"{group_path(group.id)}/rotate",
        "confirm_button": "Rotate secret",
        "cancel_url": group_path(group.id),
    }


@router.get("/provisioning/{group_ref}/rotate")
def rotate_form(request: Request, svc: Svc, actor: MemberActor, group_ref: str) -> Response:
    return render(request, "provisioning/confirm.html", _rotate_context(svc, actor, group_ref))


@router.post("/provisioning/{group_ref}/rotate")
def rotate(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, csrf: CsrfField = ""
) -> Response:
    """D1, after confirmation: the new secret is shown on the page that answers, once."""
    http.check_csrf(request, csrf)
    made = groups.rotate_group_secret(svc, actor, group_ref)
    return _secret_page(request, svc, actor, made, new=False)


def _finish_context(svc: Services, actor: Actor, group_ref: str) -> dict[str, Any]:
    group = groups.find_group_now(svc, actor, group_ref)
    actor.require(Permission.MANAGE_PROVISIONING)
    return {
        "area": "provisioning",
        "group": group,
        "confirm_title": f"Finish the rotation of {group.name}'s secret?",
        "confirm_text": "The secondary secret is dropped: only devices with keys of the "
        "current secret activate from now on. Devices still burned with keys of the old "
        "secret are refused.",
        "confirm_action": f"{group_path(group.id)}/finish-rotation",
        "confirm_button": "Finish rotation",
        "cancel_url": group_path(group.id),
    }


@router.get("/provisioning/{group_ref}/finish-rotation")
def finish_form(request: Request, svc: Svc, actor: MemberActor, group_ref: str) -> Response:
    return render(request, "provisioning/confirm.html", _finish_context(svc, actor, group_ref))


@router.post("/provisioning/{group_ref}/finish-rotation")
def finish(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, csrf: CsrfField = ""
) -> Response:
    """D1, after confirmation: only keys of the current secret activate."""
    return confirmed(
        request,
        csrf,
        template="provisioning/confirm.html",
        context=_finish_context(svc, actor, group_ref),
        action=lambda: groups.finish_rotation(svc, actor, group_ref),
        back=group_path(group_ref),
        notice="Rotation finished: only keys of the current secret activate.",
    )
