"""What customer users see: their customer's devices, without any code (SPEC P6, A15)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onboard.domain.access import Actor, Scope
from onboard.domain.devices import Device
from onboard.domain.documents import Document
from onboard.domain.errors import Forbidden, NotFound
from onboard.services.common import not_found
from onboard.services.documents import StoredFile
from onboard.services.ports import DeviceFilter, Page, PageRequest, Services, UnitOfWork

CUSTOMER_DOCUMENTS = PageRequest(None, 100)


@dataclass(frozen=True)
class CustomerDevice:
    """A device as its customer sees it: no departments, no codes, no internal attributes
    or documents."""

    id: str
    name: str
    serial: str | None
    status: str
    location: str | None
    attributes: dict[str, Any]
    template: str | None = None
    has_photo: bool = False
    documents: tuple[Document, ...] = ()


def _customer_scope(svc: Services, actor: Actor) -> tuple[Scope, str]:
    """The customer's devices lie in its organization, whatever their departments."""
    if actor.customer_id is None:
        raise Forbidden("Only customer users have a customer portal.")
    with svc.uow() as uow:
        customer = uow.customers.get_unscoped(actor.customer_id)
    if customer is None:
        raise not_found("customer", actor.customer_id)
    return Scope(customer.organization_id), customer.id


def _own_device(uow: UnitOfWork, scope: Scope, customer_id: str, device_id: str) -> Device:
    """A15: a device of the customer; any other device is not found."""
    device = uow.devices.get(scope, device_id)
    if device is None or device.customer_id != customer_id:
        raise not_found("device", device_id)
    return device


def customer_devices(svc: Services, actor: Actor, page: PageRequest) -> Page[Device]:
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        return uow.devices.list_page(scope, DeviceFilter(customer=customer_id), page)


def customer_device(svc: Services, actor: Actor, device_id: str) -> CustomerDevice:
    """One of the customer's devices: its public attributes and documents, and whether it
    has an installation photo (A15)."""
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        device = _own_device(uow, scope, customer_id, device_id)
        template = uow.templates.get(scope, device.template_id) if device.template_id else None
        listed = uow.documents.list_page(CUSTOMER_DOCUMENTS, device_id=device.id, public_only=True)
    public = {f.name for f in template.fields if f.public} if template else set(device.attributes)
    return CustomerDevice(
        device.id,
        device.name,
        device.serial,
        device.status.value,
        device.location.text,
        {name: value for name, value in device.attributes.items() if name in public},
        template.name if template else None,
        device.photo_key is not None,
        tuple(listed.items),
    )


def customer_device_photo(svc: Services, actor: Actor, device_id: str) -> StoredFile:
    """The installation photo of one of the customer's devices; NotFound when it has none."""
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        device = _own_device(uow, scope, customer_id, device_id)
    if device.photo_key is None or device.photo_content_type is None:
        raise NotFound("The device has no installation photo.")
    return StoredFile(svc.files.read(device.photo_key), device.photo_content_type)


def customer_device_document(
    svc: Services, actor: Actor, device_id: str, document_id: str
) -> tuple[Document, StoredFile]:
    """A public document file of one of the customer's devices; an internal one is not
    found, exactly like one that does not exist."""
    scope, customer_id = _customer_scope(svc, actor)
    with svc.uow() as uow:
        device = _own_device(uow, scope, customer_id, device_id)
        document = uow.documents.get(document_id, device_id=device.id)
    if (
        document is None
        or not document.public
        or document.storage_key is None
        or document.content_type is None
    ):
        raise not_found("document", document_id)
    return document, StoredFile(svc.files.read(document.storage_key), document.content_type)
