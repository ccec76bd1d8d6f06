"""Products and their licenses (SPEC B1, B2): creating a product, granting licenses in
numbers, and listing both."""

from __future__ import annotations

from datetime import datetime

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.errors import (
    Invalid,
    NameTaken,
)
from onboard.domain.licensing import (
    License,
    LicenseStatus,
    Product,
    check_license_count,
)
from onboard.domain.values import require_name
from onboard.services.common import (
    not_found,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


def find_product(uow: UnitOfWork, scope: Scope, product_id: str) -> Product:
    product = uow.products.get(scope, product_id)
    if product is None:
        raise not_found("product", product_id)
    return product


def create_product(svc: Services, actor: Actor, *, name: str) -> Product:
    """B1: a client application devices run."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    product = Product(svc.ids.new(), scope.organization_id, require_name(name), svc.clock.now())
    with svc.uow() as uow:
        if uow.products.get_by_name(scope.organization_id, product.name) is not None:
            raise NameTaken(f"A product named {product.name!r} exists already.")
        uow.products.add(product)
        uow.record(
            actor,
            Change("product.created", Target("product", product.id), after={"name": product.name}),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return product


def list_products(svc: Services, actor: Actor, page: PageRequest) -> Page[Product]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.products.list_page(scope, page)


def grant_licenses(
    svc: Services, actor: Actor, product_id: str, *, count: int, expires_at: datetime | None
) -> list[License]:
    """B2: ``count`` free licenses of the product, as a purchase would bring them."""
    scope = actor.require(Permission.GRANT_LICENSES)
    count = check_license_count(count)
    now = svc.clock.now()
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            "A license cannot expire before it is granted.", fields={"expires_at": "in the future"}
        )
    with svc.uow() as uow:
        product = find_product(uow, scope, product_id)
        granted = [
            License(svc.ids.new(), scope.organization_id, product.id, None, expires_at, None, now)
            for _ in range(count)
        ]
        uow.licenses.add_many(granted)
        uow.record(
            actor,
            Change(
                "licenses.granted",
                Target("product", product.id),
                after={
                    "count": count,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return granted


def list_licenses(
    svc: Services,
    actor: Actor,
    page: PageRequest,
    *,
    product_id: str | None = None,
    status: LicenseStatus | None = None,
) -> Page[License]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.licenses.list_page(scope, product_id, status, page)


def get_product(svc: Services, actor: Actor, product_id: str) -> Product:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return find_product(uow, scope, product_id)
