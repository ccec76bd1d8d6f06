"""What customer users see: their customer's devices, without any code (SPEC P6, A15)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onboard.domain.access import Actor, Scope
from onboard.domain.devices import Device
from onboard.domain.errors import Forbidden
from onboard.services.common import not_found
from onboard.services.ports import DeviceFilter, Page, PageRequest, Services


@dataclass(frozen=True)
class CustomerDevice:
    """A device as its customer sees it: no departments, no internal attributes."""

    id: str
    name: str
    serial: str | None
    status: str
    location: str | None
    attributes: dict[str, Any]


def _customer_scope(svc: Services, actor: Actor) -> tuple[Scope, str]:
    """The customer's devices lie in its organization, whatever their departments."""
    if actor.customer_id is None:
        raise Forbidden("Only customer users have a customer portal.")
    with svc.uow() as uow:
        customer = uow.customers.get_unscoped(actor.customer_id)
    if customer is None:
        raise not_found("customer", actor.customer_id)
    return Scope(customer.organization_id), customer.id


def customer_devices(svc: Services, actor: Actor, page: PageRequest) -> Page[Device]:
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        return uow.devices.list_page(scope, DeviceFilter(customer=customer_id), page)


def customer_device(svc: Services, actor: Actor, device_id: str) -> CustomerDevice:
    """One of the customer's devices; any other device is not found (A15)."""
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id)
        if device is None or device.customer_id != customer_id:
            raise not_found("device", device_id)
        template = uow.templates.get(scope, device.template_id) if device.template_id else None
    public = {f.name for f in template.fields if f.public} if template else set(device.attributes)
    return CustomerDevice(
        device.id,
        device.name,
        device.serial,
        device.status.value,
        device.location.text,
        {name: value for name, value in device.attributes.items() if name in public},
    )
