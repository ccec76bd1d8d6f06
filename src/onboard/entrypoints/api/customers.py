"""/api/v1/customers and their users (SPEC P6)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import customers

router = APIRouter(prefix="/customers", tags=["customers"])


@router.post("", status_code=201, response_model=s.CustomerPublic)
def create(body: s.CustomerCreate, svc: Svc, actor: CurrentActor) -> s.CustomerPublic:
    return present.customer(
        customers.create_customer(svc, actor, name=body.name, departments=body.departments)
    )


@router.get("", response_model=s.PageOf[s.CustomerPublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.CustomerPublic]:
    page = customers.list_customers(svc, actor, paging)
    return s.PageOf(items=[present.customer(c) for c in page.items], next_cursor=next_cursor(page))


@router.get("/{customer_id}", response_model=s.CustomerPublic)
def get(customer_id: PathId, svc: Svc, actor: CurrentActor) -> s.CustomerPublic:
    return present.customer(customers.get_customer(svc, actor, customer_id))


@router.patch("/{customer_id}", response_model=s.CustomerPublic)
def update(
    customer_id: PathId, body: s.CustomerUpdate, svc: Svc, actor: CurrentActor
) -> s.CustomerPublic:
    return present.customer(
        customers.update_customer(
            svc,
            actor,
            customer_id,
            name=body.name,
            departments=body.departments,
            change_departments="departments" in body.model_fields_set,
        )
    )


@router.delete("/{customer_id}", status_code=204)
def delete(customer_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    customers.delete_customer(svc, actor, customer_id)
    return Response(status_code=204)


@router.post("/{customer_id}/users", status_code=201, response_model=s.CustomerUserPublic)
def add_user(
    customer_id: PathId, body: s.CustomerUserCreate, svc: Svc, actor: CurrentActor
) -> s.CustomerUserPublic:
    added = customers.add_customer_user(
        svc, actor, customer_id, email=body.email, password=body.password
    )
    return present.customer_user(added.user, added.one_time_password)


@router.get("/{customer_id}/users", response_model=s.PageOf[s.CustomerUserPublic])
def list_users(
    customer_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.CustomerUserPublic]:
    page = customers.list_customer_users(svc, actor, customer_id, paging)
    return s.PageOf(
        items=[present.customer_user(u) for u in page.items], next_cursor=next_cursor(page)
    )


@router.delete("/{customer_id}/users/{user_id}", status_code=204)
def remove_user(customer_id: PathId, user_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    customers.remove_customer_user(svc, actor, customer_id, user_id)
    return Response(status_code=204)
