"""What the back office reads of licensed client devices (SPEC Part B): products with their
licenses counted, each license with the device it serves, paired devices with their
configuration and last check-in, and how many devices use each configuration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onboard.domain.access import Actor, Permission
from onboard.domain.licensing import (
    License,
    LicensedDevice,
    LicenseStatus,
    LicenseTally,
    Product,
)
from onboard.services.common import not_found
from onboard.services.ports import Page, PageRequest, Services


@dataclass(frozen=True)
class ProductOverview:
    product: Product
    licenses: LicenseTally


def list_product_overviews(svc: Services, actor: Actor, page: PageRequest) -> Page[ProductOverview]:
    """The organization's products, oldest first, each with its licenses counted (B2)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.products.list_page(scope, page)
        tallies = uow.licenses.tally(
            scope.organization_id, [p.id for p in found.items], svc.clock.now()
        )
    items = [ProductOverview(p, tallies.get(p.id, LicenseTally())) for p in found.items]
    return Page(items, found.next_after)


def product_overview(svc: Services, actor: Actor, product_id: str) -> ProductOverview:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        product = uow.products.get(scope, product_id)
        if product is None:
            raise not_found("product", product_id)
        tally = uow.licenses.tally(scope.organization_id, [product.id], svc.clock.now())
    return ProductOverview(product, tally.get(product.id, LicenseTally()))


@dataclass(frozen=True)
class LicenseRow:
    """A license as its row shows it (B2): free, reserved for a live single-use code (B4),
    or the device it serves, named when the member sees that device (P5)."""

    license: License
    device_name: str | None
    reserved: bool
    expired: bool


def _rows(svc: Services, actor: Actor, licenses: Sequence[License]) -> list[LicenseRow]:
    scope = actor.require(Permission.READ)
    now = svc.clock.now()
    serving = [x.device_id for x in licenses if x.device_id is not None]
    with svc.uow() as uow:
        names = {d.id: d.name for d in uow.devices.get_many(scope, serving)}
    return [
        LicenseRow(
            x,
            names.get(x.device_id) if x.device_id is not None else None,
            x.reserved(now),
            x.expired(now),
        )
        for x in licenses
    ]


def license_rows(
    svc: Services,
    actor: Actor,
    page: PageRequest,
    *,
    product_id: str,
    status: LicenseStatus | None = None,
) -> Page[LicenseRow]:
    """A product's licenses, oldest first, as their rows show them."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.licenses.list_page(scope, product_id, status, page)
    return Page(_rows(svc, actor, found.items), found.next_after)


def license_row(svc: Services, actor: Actor, license_id: str) -> LicenseRow:
    """One license as its row shows it: what the "Assign device" page watches."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.licenses.get(scope, license_id)
    if found is None:
        raise not_found("license", license_id)
    return _rows(svc, actor, [found])[0]


def list_licensed_devices(
    svc: Services,
    actor: Actor,
    page: PageRequest,
    *,
    product_id: str | None = None,
    configuration_id: str | None = None,
) -> Page[LicensedDevice]:
    """Paired devices the member sees (P5), newest first, with their configuration and last
    check-in; of one product, or of those using one configuration (B8)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.client_devices.list_page(scope, product_id, configuration_id, page)


def licensed_device(svc: Services, actor: Actor, device_id: str) -> LicensedDevice | None:
    """The client record of one twin the member sees, if it is a paired client device."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        seen = uow.devices.get_many(scope, [device_id])
        if not seen:
            raise not_found("device", device_id)
        client = uow.client_devices.of_devices([device_id]).get(device_id)
        if client is None:
            return None
        configuration = (
            uow.configurations.get(scope, client.configuration_id)
            if client.configuration_id is not None
            else None
        )
    return LicensedDevice(client, seen[0].name, configuration.name if configuration else None)


def configuration_usage(
    svc: Services, actor: Actor, configuration_ids: Sequence[str]
) -> dict[str, int]:
    """How many paired devices the member sees use each configuration (B8)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.client_devices.count_by_configuration(scope, configuration_ids)
