"""Back-office pages of customers and their users: list, create, detail, rename, delete, add
and remove users, each destructive step confirmed first (SPEC P6)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.errors import Conflict, DepartmentForbidden, DomainError, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor, Text
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import customers
from onboard.services.ports import PageRequest, Services

router = web_router()

_FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)


def _list_page(
    request: Request,
    svc: Services,
    actor: Actor,
    paging: PageRequest,
    *,
    name: str = "",
    chosen: list[str] | None = None,
    error: DomainError | None = None,
) -> Response:
    page = customers.list_customers(svc, actor, paging)
    known = all_departments(svc, actor)
    return render(
        request,
        "customers/list.html",
        {
            "area": "customers",
            "page": page,
            "paged": paging.after is not None,
            "can_manage": actor.can(Permission.MANAGE_CUSTOMERS),
            "departments": known,
            "department_names": {d.id: d.name for d in known},
            "name": name,
            "chosen": chosen or [],
        },
        error=error,
    )


@router.get("/customers")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    return _list_page(request, svc, actor, paging)


@router.post("/customers")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    name: Text = "",
    departments: Choices = None,
) -> Response:
    """Create a customer; with no department ticked it gets the creator's own (P5)."""
    http.check_csrf(request, csrf)
    try:
        created = customers.create_customer(svc, actor, name=name, departments=departments or None)
    except _FORM_ERRORS as error:
        return _list_page(
            request, svc, actor, PageRequest(), name=name, chosen=departments, error=error
        )
    return redirect(request, f"/customers/{created.id}", notice=f"Customer {created.name} created.")


def _detail(
    request: Request,
    svc: Services,
    actor: Actor,
    customer_id: str,
    paging: PageRequest,
    *,
    name: str | None = None,
    email: str = "",
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    customer = customers.get_customer(svc, actor, customer_id)
    users = customers.list_customer_users(svc, actor, customer_id, paging)
    names = {d.id: d.name for d in all_departments(svc, actor)}
    return render(
        request,
        "customers/detail.html",
        {
            "area": "customers",
            "customer": customer,
            "users": users,
            "paged": paging.after is not None,
            "can_manage": actor.can(Permission.MANAGE_CUSTOMERS),
            "department_names": names,
            "name": customer.name if name is None else name,
            "email": email,
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/customers/{customer_id}")
def detail(
    request: Request, svc: Svc, actor: MemberActor, customer_id: str, paging: Cursor
) -> Response:
    return _detail(request, svc, actor, customer_id, paging)


@router.post("/customers/{customer_id}/rename")
def rename(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    customer_id: str,
    csrf: CsrfField = "",
    name: Text = "",
) -> Response:
    http.check_csrf(request, csrf)
    try:
        renamed = customers.update_customer(svc, actor, customer_id, name=name)
    except _FORM_ERRORS as error:
        return _detail(
            request,
            svc,
            actor,
            customer_id,
            PageRequest(),
            name=name,
            errors=form_errors(error),
            status=status_of(error),
        )
    return redirect(
        request, f"/customers/{customer_id}", notice=f"Customer renamed to {renamed.name}."
    )


@router.get("/customers/{customer_id}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, customer_id: str) -> Response:
    customer = customers.get_customer(svc, actor, customer_id)
    return render(request, "customers/delete.html", {"area": "customers", "customer": customer})


@router.post("/customers/{customer_id}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, customer_id: str, csrf: CsrfField = ""
) -> Response:
    customer = customers.get_customer(svc, actor, customer_id)
    return confirmed(
        request,
        csrf,
        template="customers/delete.html",
        context={"area": "customers", "customer": customer},
        action=lambda: customers.delete_customer(svc, actor, customer_id),
        back="/customers",
        notice=f"Customer {customer.name} deleted.",
    )


@router.post("/customers/{customer_id}/users")
def add_user(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    customer_id: str,
    csrf: CsrfField = "",
    email: Text = "",
) -> Response:
    """Give a person access to this customer's devices; a new person gets a one-time
    password, shown once."""
    http.check_csrf(request, csrf)
    try:
        added = customers.add_customer_user(svc, actor, customer_id, email=email)
    except _FORM_ERRORS as error:
        return _detail(
            request,
            svc,
            actor,
            customer_id,
            PageRequest(),
            email=email,
            errors=form_errors(error),
            status=status_of(error),
        )
    back = f"/customers/{customer_id}"
    email = added.user.email
    if added.one_time_password is None:
        return redirect(
            request,
            back,
            notice=f"{email} can now sign in to this customer's "
            "portal with their existing password.",
        )
    return redirect(
        request,
        back,
        notice=f"{email} was added.",
        secret=added.one_time_password,
        secret_for=email,
    )


@router.get("/customers/{customer_id}/users/{user_id}/remove")
def remove_user_form(
    request: Request, svc: Svc, actor: MemberActor, customer_id: str, user_id: str
) -> Response:
    customer = customers.get_customer(svc, actor, customer_id)
    user = customers.get_customer_user(svc, actor, customer_id, user_id)
    return render(
        request,
        "customers/remove_user.html",
        {"area": "customers", "customer": customer, "user": user},
    )


@router.post("/customers/{customer_id}/users/{user_id}/remove")
def remove_user(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    customer_id: str,
    user_id: str,
    csrf: CsrfField = "",
) -> Response:
    customer = customers.get_customer(svc, actor, customer_id)
    user = customers.get_customer_user(svc, actor, customer_id, user_id)
    return confirmed(
        request,
        csrf,
        template="customers/remove_user.html",
        context={"area": "customers", "customer": customer, "user": user},
        action=lambda: customers.remove_customer_user(svc, actor, customer_id, user_id),
        back=f"/customers/{customer_id}",
        notice=f"{user.email} no longer has access.",
    )
