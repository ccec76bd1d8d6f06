"""A device's overview in the back office: its details and attributes, the installation
photo (upload, replace, remove), editing, and deleting it (SPEC A3, A5, A8)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.datastructures import FormData

from onboard.domain.access import Actor, Permission
from onboard.domain.devices import Device, DeviceStatus
from onboard.domain.errors import DomainError, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.device_forms import (
    FORM_ERRORS,
    UPLOAD_ERRORS,
    DeviceFields,
    DeviceUpload,
    RawForm,
    attribute_texts,
    attributes_from,
    chosen_in,
    device_form_errors,
    shown_attributes,
)
from onboard.entrypoints.web.device_provisioning import Replacing, provisioning_card
from onboard.entrypoints.web.device_views import (
    STATUS_LABELS,
    all_customers,
    attribute_rows,
    customer_name,
    device_context,
    options,
    template_of,
)
from onboard.entrypoints.web.enrollments import enrolled_card
from onboard.entrypoints.web.forms import CsrfField
from onboard.entrypoints.web.licensed_devices import licensed_card
from onboard.entrypoints.web.rendering import FormErrors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices, documents
from onboard.services.ports import Services

router = web_router()


def _overview(
    request: Request,
    svc: Services,
    actor: Actor,
    device_id: str,
    *,
    error: DomainError | None = None,
    replacing: Replacing | None = None,
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    template = template_of(svc, actor, device)
    photo = (
        f"/api/v1/devices/{device.id}/photo?v={device.updated_at.timestamp():.0f}"
        if device.photo_key
        else None
    )
    context = device_context(
        svc,
        actor,
        device,
        "overview",
        template=template,
        customer_name=customer_name(svc, actor, device),
        attributes=attribute_rows(device, template),
        department_names={d.id: d.name for d in all_departments(svc, actor)},
        photo_url=photo,
        can_manage_licensing=actor.can(Permission.MANAGE_LICENSING),
        **licensed_card(svc, actor, device.id),
        **enrolled_card(svc, actor, device.id),
        **provisioning_card(svc, actor, device, replacing),
    )
    refused = error or (replacing.error if replacing else None)
    return render(request, "devices/overview.html", context, error=refused)


# The card's "Replace hardware" pages (D7) render the overview.
overview_page = _overview


@router.get("/devices/{device_id}")
def overview(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    return _overview(request, svc, actor, device_id)


def _edit_form(
    request: Request,
    svc: Services,
    actor: Actor,
    device: Device,
    *,
    fields: DeviceFields | None = None,
    attributes: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    error: DomainError | None = None,
) -> Response:
    template = template_of(svc, actor, device)
    known_customers = all_customers(svc, actor)
    context = device_context(
        svc,
        actor,
        device,
        "overview",
        template=template,
        fields=fields or DeviceFields.of(device),
        attributes=attributes if attributes is not None else shown_attributes(template, device),
        free_attributes=[] if template is not None else sorted(device.attributes.items()),
        departments=all_departments(svc, actor),
        chosen=sorted(device.departments) if chosen is None else chosen,
        customer_options=options(known_customers),
        hidden_customer=device.customer_id is not None
        and device.customer_id not in {c.id for c in known_customers},
        status_options=[(s.value, STATUS_LABELS[s.value]) for s in DeviceStatus],
    )
    return render(
        request,
        "devices/edit.html",
        context,
        errors=device_form_errors(error) if error is not None else FormErrors(),
        status=http.status_of(error) if error is not None else None,
    )


@router.get("/devices/{device_id}/edit")
def edit_form(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.EDIT_DEVICES)
    return _edit_form(request, svc, actor, device)


def _changes(
    svc: Services, actor: Actor, device: Device, fields: DeviceFields, form: FormData
) -> dict[str, Any]:
    """What the edit form changes. Customer and departments are sent only when changed:
    the member may not see the device's customer or all of its departments, and saving
    the name must not drop them (P5)."""
    template = template_of(svc, actor, device)
    changes: dict[str, Any] = {
        "name": fields.name,
        "serial": fields.serial,
        "gtin": fields.gtin,
        "location": fields.location_of(device.location),
        "status": fields.status,
    }
    if template is not None:
        changes["attributes"] = attributes_from(template, form)
    if (fields.customer or None) != device.customer_id:
        changes["customer_id"] = fields.customer or None
    visible = {d.id for d in all_departments(svc, actor)}
    chosen = chosen_in(form)
    if set(chosen) != device.departments & visible:
        changes["departments"] = chosen
    return changes


@router.post("/devices/{device_id}/edit")
def edit(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    form: RawForm,
    csrf: CsrfField = "",
) -> Response:
    """A8: codes paired with the device follow its departments."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    fields = DeviceFields.read(form)
    try:
        updated = devices.update_device(
            svc, actor, device.id, _changes(svc, actor, device, fields, form)
        )
    except FORM_ERRORS as error:
        return _edit_form(
            request,
            svc,
            actor,
            device,
            fields=fields,
            attributes=attribute_texts(template_of(svc, actor, device), form),
            chosen=chosen_in(form),
            error=error,
        )
    return redirect(request, f"/devices/{device.id}", notice=f"Device {updated.name} saved.")


def _delete_context(svc: Services, actor: Actor, device: Device) -> dict[str, Any]:
    return device_context(svc, actor, device, "overview")


@router.get("/devices/{device_id}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    return render(request, "devices/delete.html", _delete_context(svc, actor, device))


@router.post("/devices/{device_id}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, csrf: CsrfField = ""
) -> Response:
    """A5: its codes are unpaired first and kept."""
    device = devices.get_device(svc, actor, device_id)
    context = _delete_context(svc, actor, device)
    count = context["code_count"]
    kept = ""
    if count:
        kept = f" Its {count} code{'s were' if count != 1 else ' was'} unpaired and kept."
    return confirmed(
        request,
        csrf,
        template="devices/delete.html",
        context=context,
        action=lambda: devices.delete_device(svc, actor, device.id),
        back="/devices",
        notice=f"Device {device.name} deleted.{kept}",
    )


@router.post("/devices/{device_id}/photo")
def set_photo(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, upload: DeviceUpload
) -> Response:
    """Set or replace the installation photo (PNG, JPEG or WebP, read from its bytes)."""
    if upload.error is None:
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
    device = devices.get_device(svc, actor, device_id)
    try:
        if upload.error is not None:
            raise upload.error
        if upload.content is None:
            raise Invalid("Choose the photo to upload.", fields={"file": "choose a photo"})
        documents.set_photo(svc, actor, device.id, upload.content)
    except UPLOAD_ERRORS as error:
        return _overview(request, svc, actor, device.id, error=error)
    verb = "replaced" if device.photo_key else "added"
    return redirect(request, f"/devices/{device.id}", notice=f"Installation photo {verb}.")


def _remove_photo_context(svc: Services, actor: Actor, device: Device) -> dict[str, Any]:
    return device_context(svc, actor, device, "overview")


@router.get("/devices/{device_id}/photo/remove")
def remove_photo_form(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    if not device.photo_key:
        return redirect(request, f"/devices/{device.id}")
    return render(request, "devices/remove_photo.html", _remove_photo_context(svc, actor, device))


@router.post("/devices/{device_id}/photo/remove")
def remove_photo(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, csrf: CsrfField = ""
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    return confirmed(
        request,
        csrf,
        template="devices/remove_photo.html",
        context=_remove_photo_context(svc, actor, device),
        action=lambda: documents.remove_photo(svc, actor, device.id),
        back=f"/devices/{device.id}",
        notice="Installation photo removed.",
    )
