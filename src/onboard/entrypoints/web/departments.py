"""Back-office pages of departments: list, create, rename, delete after confirmation (P3)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.errors import Conflict, DomainError, Invalid
from onboard.domain.identity import Department
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.forms import CsrfField, Cursor, Text
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import departments
from onboard.services.ports import PageRequest, Services

router = web_router()

_MAX_PAGES = 50


def all_departments(svc: Services, actor: Actor) -> list[Department]:
    """Every department the actor sees, for pickers and for naming departments in lists."""
    found: list[Department] = []
    after: str | None = None
    for _ in range(_MAX_PAGES):
        page = departments.list_departments(svc, actor, PageRequest(after, 200))
        found.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    return sorted(found, key=lambda d: d.name.casefold())


def department_names(svc: Services, actor: Actor) -> dict[str, str]:
    return {d.id: d.name for d in all_departments(svc, actor)}


def _list_page(
    request: Request,
    svc: Services,
    actor: Actor,
    paging: PageRequest,
    *,
    name: str = "",
    error: DomainError | None = None,
) -> Response:
    page = departments.list_departments(svc, actor, paging)
    context = {
        "area": "departments",
        "page": page,
        "paged": paging.after is not None,
        "can_manage": actor.can(Permission.MANAGE_DEPARTMENTS),
        "name": name,
    }
    return render(request, "departments/list.html", context, error=error)


@router.get("/departments")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    return _list_page(request, svc, actor, paging)


@router.post("/departments")
def create(
    request: Request, svc: Svc, actor: MemberActor, csrf: CsrfField = "", name: Text = ""
) -> Response:
    http.check_csrf(request, csrf)
    try:
        created = departments.create_department(svc, actor, name=name)
    except (Invalid, Conflict) as error:
        return _list_page(request, svc, actor, PageRequest(), name=name, error=error)
    return redirect(request, "/departments", notice=f"Department {created.name} created.")


@router.get("/departments/{department_id}/edit")
def edit_form(request: Request, svc: Svc, actor: MemberActor, department_id: str) -> Response:
    department = departments.get_department(svc, actor, department_id)
    return render(
        request,
        "departments/edit.html",
        {"area": "departments", "department": department, "name": department.name},
    )


@router.post("/departments/{department_id}/edit")
def rename(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    department_id: str,
    csrf: CsrfField = "",
    name: Text = "",
) -> Response:
    http.check_csrf(request, csrf)
    try:
        renamed = departments.rename_department(svc, actor, department_id, name=name)
    except (Invalid, Conflict) as error:
        department = departments.get_department(svc, actor, department_id)
        return render(
            request,
            "departments/edit.html",
            {"area": "departments", "department": department, "name": name},
            error=error,
        )
    return redirect(request, "/departments", notice=f"Department renamed to {renamed.name}.")


@router.get("/departments/{department_id}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, department_id: str) -> Response:
    department = departments.get_department(svc, actor, department_id)
    return render(
        request, "departments/delete.html", {"area": "departments", "department": department}
    )


@router.post("/departments/{department_id}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, department_id: str, csrf: CsrfField = ""
) -> Response:
    department = departments.get_department(svc, actor, department_id)
    return confirmed(
        request,
        csrf,
        template="departments/delete.html",
        context={"area": "departments", "department": department},
        action=lambda: departments.delete_department(svc, actor, department_id),
        back="/departments",
        notice=f"Department {department.name} deleted.",
    )
