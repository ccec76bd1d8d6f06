"""Devices, the digital twins: create (from a template), list, edit, delete (SPEC A3-A5)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change
from onboard.domain.devices import (
    Device,
    DeviceStatus,
    Location,
    Template,
    check_attributes,
    check_location,
    check_serial,
)
from onboard.domain.dynamic_codes import check_gtin
from onboard.domain.errors import CodeNotPaired, GtinSerialTaken, Invalid
from onboard.domain.values import require_name
from onboard.services.codes import release_code
from onboard.services.common import device_target, not_found, resolve_departments
from onboard.services.documents import copy_template_documents, release_files
from onboard.services.ports import DeviceFilter, Page, PageRequest, Services, UnitOfWork


@dataclass(frozen=True)
class DeviceInput:
    """What a person gives for a new device; None leaves a value to the template."""

    name: str
    serial: str | None = None
    template_id: str | None = None
    attributes: dict[str, Any] | None = None
    departments: list[str] | None = None
    customer_id: str | None = None
    location: Location | None = None
    gtin: str | None = None  # A14; default: the template's


def device_snapshot(device: Device) -> dict[str, Any]:
    return {
        "name": device.name,
        "serial": device.serial,
        "gtin": device.gtin,
        "template_id": device.template_id,
        "attributes": device.attributes,
        "departments": sorted(device.departments),
        "customer_id": device.customer_id,
        "location": device.location.text,
        "status": device.status.value,
    }


def _template(uow: UnitOfWork, scope: Scope, template_id: str | None) -> Template | None:
    if template_id is None:
        return None
    template = uow.templates.get(scope, template_id)
    if template is None:
        raise Invalid(
            f"No template {template_id!r} here.", fields={"template_id": "unknown template"}
        )
    return template


def _customer(uow: UnitOfWork, scope: Scope, customer_id: str | None) -> str | None:
    if customer_id is not None and uow.customers.get(scope, customer_id) is None:
        raise Invalid(
            f"No customer {customer_id!r} here.", fields={"customer_id": "unknown customer"}
        )
    return customer_id


def _departments(
    uow: UnitOfWork, scope: Scope, chosen: list[str] | None, template: Template | None
) -> frozenset[str]:
    """Chosen departments; else the template's defaults (P5: within a restricted member's
    own, which they fall back to); else the member's own."""
    if chosen is None and template is not None and template.departments:
        defaults = template.departments
        if scope.departments is not None:
            defaults = (defaults & scope.departments) or scope.departments
        return defaults
    return resolve_departments(uow, scope, chosen) or frozenset()


def _check_identity_free(uow: UnitOfWork, device: Device, own: str | None) -> None:
    """A14: GTIN and serial name one device of the organization, whoever may see it."""
    if device.gtin is None or device.serial is None:
        return
    whole = Scope(device.organization_id)
    clash = uow.devices.get_by_identity(whole, device.gtin, device.serial)
    if clash is not None and clash.id != own:
        raise GtinSerialTaken(
            f"A device with GTIN {device.gtin} and serial {device.serial!r} exists already.",
            fields={"serial": "taken for this GTIN"},
        )


def add_device(svc: Services, uow: UnitOfWork, actor: Actor, given: DeviceInput) -> Device:
    """Create a device inside an open unit of work (also used by pairing flows, A7)."""
    scope = actor.require(Permission.EDIT_DEVICES)
    template = _template(uow, scope, given.template_id)
    now = svc.clock.now()
    device = Device(
        id=svc.ids.new(),
        organization_id=scope.organization_id,
        name=require_name(given.name),
        serial=check_serial(given.serial),
        gtin=check_gtin(given.gtin) or (template.gtin if template else None),
        template_id=template.id if template else None,
        attributes=check_attributes(template, given.attributes or {}),
        departments=_departments(uow, scope, given.departments, template),
        customer_id=_customer(uow, scope, given.customer_id),
        location=check_location(given.location or Location()),
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    _check_identity_free(uow, device, None)
    uow.devices.add(device)
    uow.record(
        actor,
        Change("device.created", device_target(device), after=device_snapshot(device)),
        organization_id=scope.organization_id,
    )
    if template is not None:
        copy_template_documents(svc, uow, actor, template, device)  # A4
    return device


def create_device(svc: Services, actor: Actor, given: DeviceInput) -> Device:
    actor.require(Permission.EDIT_DEVICES)
    with svc.uow() as uow:
        device = add_device(svc, uow, actor, given)
        uow.commit()
    return device


def list_devices(
    svc: Services, actor: Actor, filters: DeviceFilter, page: PageRequest
) -> Page[Device]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.devices.list_page(scope, filters, page)


def get_device(svc: Services, actor: Actor, device_id: str) -> Device:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id)
    if device is None:
        raise not_found("device", device_id)
    return device


def update_device(svc: Services, actor: Actor, device_id: str, changes: dict[str, Any]) -> Device:
    """Change the given fields (``name``, ``serial``, ``gtin``, ``template_id``, ``attributes``,
    ``departments``, ``customer_id``, ``location``, ``status``); others stay. Codes paired
    with the device follow its departments (A8)."""
    scope = actor.require(Permission.EDIT_DEVICES)
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id, for_change=True)
        if device is None:
            raise not_found("device", device_id)
        updated = replace(device, updated_at=svc.clock.now())
        if "name" in changes:
            updated = replace(updated, name=require_name(changes["name"]))
        if "serial" in changes:
            updated = replace(updated, serial=check_serial(changes["serial"]))
        if "gtin" in changes:
            updated = replace(updated, gtin=check_gtin(changes["gtin"]))
        if (updated.gtin, updated.serial) != (device.gtin, device.serial):
            _check_identity_free(uow, updated, device.id)
        template_id = changes.get("template_id", device.template_id)
        template = _template(uow, scope, template_id)
        if "template_id" in changes or "attributes" in changes:
            attributes = changes.get("attributes", updated.attributes)
            updated = replace(
                updated,
                template_id=template_id,
                attributes=check_attributes(template, attributes or {}),
            )
        if "departments" in changes:
            chosen = resolve_departments(uow, scope, changes["departments"])
            updated = replace(updated, departments=chosen or frozenset())
        if "customer_id" in changes:
            updated = replace(updated, customer_id=_customer(uow, scope, changes["customer_id"]))
        if "location" in changes:
            updated = replace(updated, location=check_location(changes["location"]))
        if "status" in changes:
            try:
                updated = replace(updated, status=DeviceStatus(changes["status"]))
            except ValueError:
                raise Invalid("Unknown status.", fields={"status": "unknown status"}) from None
        if replace(updated, updated_at=device.updated_at) == device:
            return device
        uow.devices.update(updated)
        uow.record(
            actor,
            Change(
                "device.updated",
                device_target(updated),
                before=device_snapshot(device),
                after=device_snapshot(updated),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return updated


def delete_device(svc: Services, actor: Actor, device_id: str) -> None:
    """A5: deleting a device unpairs its codes first and deletes none of them."""
    scope = actor.require(Permission.DELETE_DEVICES)
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id, for_change=True)
        if device is None:
            raise not_found("device", device_id)
        files = remove_device(svc, uow, actor, device)
        uow.commit()
    release_files(svc, files)  # its documents went with it


def remove_device(svc: Services, uow: UnitOfWork, actor: Actor, device: Device) -> list[str | None]:
    """Delete a twin inside the caller's transaction (A5: its codes are unpaired first, none
    deleted); the stored files to release once it commits."""
    for code in uow.codes.of_device(device.id):
        with suppress(CodeNotPaired):  # unpaired by a concurrent call meanwhile
            release_code(svc, uow, actor, code, device)
    files = [device.photo_key, *uow.documents.storage_keys(device_id=device.id)]
    uow.devices.delete(device.id)
    uow.record(
        actor,
        Change("device.deleted", device_target(device), before=device_snapshot(device)),
        organization_id=device.organization_id,
    )
    return files
