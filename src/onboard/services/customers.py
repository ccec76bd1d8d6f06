"""Customers and their users, who sign in to see their own devices (SPEC P6, A15)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.errors import EmailTaken, Forbidden, NameTaken
from onboard.domain.identity import Customer, CustomerUser
from onboard.domain.values import check_password, normalize_email, require_name
from onboard.services.common import (
    departments_value,
    find_or_create_person,
    not_found,
    resolve_departments,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


@dataclass(frozen=True)
class NewCustomerUser:
    user: CustomerUser
    one_time_password: str | None


def _snapshot(customer: Customer) -> dict[str, Any]:
    return {"name": customer.name, "departments": departments_value(customer.departments)}


def _target(customer: Customer) -> Target:
    return Target("customer", customer.id, customer.departments)


def _check_name_free(uow: UnitOfWork, organization_id: str, name: str, *, own: str | None) -> None:
    clash = uow.customers.get_by_name(organization_id, name)
    if clash is not None and clash.id != own:
        raise NameTaken(
            f"A customer named {name!r} exists already.", fields={"name": "already taken"}
        )


def create_customer(
    svc: Services, actor: Actor, *, name: str, departments: list[str] | None = None
) -> Customer:
    scope = actor.require(Permission.MANAGE_CUSTOMERS)
    name = require_name(name)
    with svc.uow() as uow:
        _check_name_free(uow, scope.organization_id, name, own=None)
        chosen = resolve_departments(uow, scope, departments)
        customer = Customer(
            svc.ids.new(), scope.organization_id, name, chosen or frozenset(), svc.clock.now()
        )
        uow.customers.add(customer)
        uow.record(
            actor,
            Change("customer.created", _target(customer), after=_snapshot(customer)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return customer


def list_customers(svc: Services, actor: Actor, page: PageRequest) -> Page[Customer]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.customers.list_page(scope, page)


def get_customer(svc: Services, actor: Actor, customer_id: str) -> Customer:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    return customer


def update_customer(
    svc: Services,
    actor: Actor,
    customer_id: str,
    *,
    name: str | None = None,
    departments: list[str] | None = None,
    change_departments: bool = False,
) -> Customer:
    scope = actor.require(Permission.MANAGE_CUSTOMERS)
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
        if customer is None:
            raise not_found("customer", customer_id)
        updated = customer
        if name is not None:
            updated = replace(updated, name=require_name(name))
            _check_name_free(uow, scope.organization_id, updated.name, own=customer.id)
        if change_departments:
            chosen = resolve_departments(uow, scope, departments)
            updated = replace(updated, departments=chosen or frozenset())
        if updated == customer:
            return customer
        uow.customers.update(updated)
        uow.record(
            actor,
            Change(
                "customer.updated",
                _target(updated),
                before=_snapshot(customer),
                after=_snapshot(updated),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return updated


def delete_customer(svc: Services, actor: Actor, customer_id: str) -> None:
    """Delete a customer account; its users lose access, the people stay."""
    scope = actor.require(Permission.MANAGE_CUSTOMERS)
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
        if customer is None:
            raise not_found("customer", customer_id)
        uow.customers.delete(customer.id)
        uow.record(
            actor,
            Change("customer.deleted", _target(customer), before=_snapshot(customer)),
            organization_id=scope.organization_id,
        )
        uow.commit()


def add_customer_user(
    svc: Services, actor: Actor, customer_id: str, *, email: str, password: str | None = None
) -> NewCustomerUser:
    """Give a person access to a customer's devices; a new person gets a one-time password
    unless one is given."""
    scope = actor.require(Permission.MANAGE_CUSTOMERS)
    email = normalize_email(email)
    if password is not None:
        check_password(password)
    now = svc.clock.now()
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
        if customer is None:
            raise not_found("customer", customer_id)
        person, handed_out = find_or_create_person(svc, uow, email, password)
        if uow.customer_users.get_for_person(customer.id, person.id) is not None:
            raise EmailTaken(
                f"{email} is already a user of this customer.", fields={"email": "already a user"}
            )
        user = CustomerUser(
            svc.ids.new(), scope.organization_id, customer.id, person.id, email, now
        )
        uow.customer_users.add(user)
        uow.record(
            actor,
            Change(
                "customer_user.created",
                Target("customer_user", user.id, customer.departments),
                after={"email": email, "customer_id": customer.id},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return NewCustomerUser(user, handed_out)


def list_customer_users(
    svc: Services, actor: Actor, customer_id: str, page: PageRequest
) -> Page[CustomerUser]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        if uow.customers.get(scope, customer_id) is None:
            raise not_found("customer", customer_id)
        return uow.customer_users.list_page(customer_id, page)


def get_customer_user(svc: Services, actor: Actor, customer_id: str, user_id: str) -> CustomerUser:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
        user = uow.customer_users.get(customer_id, user_id) if customer else None
    if user is None:
        raise not_found("customer user", user_id)
    return user


def own_customer(svc: Services, actor: Actor) -> tuple[Customer, str]:
    """A customer user's own customer account and its organization's name (P6, A15)."""
    if actor.customer_id is None:
        raise Forbidden("Only customer users have a customer account.")
    with svc.uow() as uow:
        customer = uow.customers.get_unscoped(actor.customer_id)
        organization = uow.organizations.get(customer.organization_id) if customer else None
    if customer is None or organization is None:
        raise not_found("customer", actor.customer_id)
    return customer, organization.name


def remove_customer_user(svc: Services, actor: Actor, customer_id: str, user_id: str) -> None:
    scope = actor.require(Permission.MANAGE_CUSTOMERS)
    with svc.uow() as uow:
        customer = uow.customers.get(scope, customer_id)
        user = uow.customer_users.get(customer_id, user_id) if customer else None
        if customer is None or user is None:
            raise not_found("customer user", user_id)
        uow.customer_users.delete(user.id)
        uow.record(
            actor,
            Change(
                "customer_user.removed",
                Target("customer_user", user.id, customer.departments),
                before={"email": user.email, "customer_id": customer.id},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
