"""/api/v1/devices: digital twins, their codes, service history, customer interactions
and lifecycle timeline; reprovisioning and new hardware (SPEC A3, A5, A7, A16, D6, D7)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from onboard.domain.access import Actor, Permission
from onboard.domain.devices import Device, Location
from onboard.domain.errors import NotFound
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.files import (
    DOCUMENT_BODY,
    DOCUMENT_FILE,
    PHOTO_BODY,
    PHOTO_FILE,
    UPLOAD_RESPONSES,
    DocumentUpload,
    PhotoUpload,
    file_response,
    photo_name,
)
from onboard.entrypoints.api.provisioning_schemas import DeviceProvisioningPublic
from onboard.entrypoints.api.schemas import NO_NUL
from onboard.services import codes, devices, documents, licensing, pairing, records
from onboard.services.ports import CodeFilter, DeviceFilter, Services
from onboard.services.provisioning import registrations, replacement, reprovisioning

router = APIRouter(prefix="/devices", tags=["devices"])

IdFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)]


class DeviceConfiguration(s.Body):
    configuration_id: s.Ident = Field(description="A configuration of the device's product.")


def location_of(given: s.Location | None) -> Location | None:
    if given is None:
        return None
    return Location(given.text, given.latitude, given.longitude)


def device_input(body: s.DeviceCreate) -> devices.DeviceInput:
    return devices.DeviceInput(
        name=body.name,
        serial=body.serial,
        gtin=body.gtin,
        template_id=body.template_id,
        attributes=body.attributes,
        departments=body.departments,
        customer_id=body.customer_id,
        location=location_of(body.location),
    )


def _answer(svc: Services, actor: Actor, device: Device) -> s.DevicePublic:
    return present.device(device, pairing.codes_of_device(svc, actor, device.id))


@router.post("", status_code=201, response_model=s.DevicePublic)
def create(body: s.DeviceCreate, svc: Svc, actor: CurrentActor) -> s.DevicePublic:
    return present.device(devices.create_device(svc, actor, device_input(body)), [])


@router.get("", response_model=s.PageOf[s.DevicePublic])
def list_(
    svc: Svc,
    actor: CurrentActor,
    paging: Paging,
    paired: bool | None = None,
    department: IdFilter = None,
    template: IdFilter = None,
    customer: IdFilter = None,
    status: s.DeviceStatusName | None = None,
    q: TextFilter = None,
) -> s.PageOf[s.DevicePublic]:
    """A16: filters combine; ``q`` searches name, serial and location."""
    filters = DeviceFilter(
        paired=paired, department=department, template=template, customer=customer,
        status=status, q=q,
    )  # fmt: skip
    page = devices.list_devices(svc, actor, filters, paging)
    codes_by_device = pairing.codes_of_devices(svc, actor, page.items)
    return s.PageOf(
        items=[present.device(d, codes_by_device[d.id]) for d in page.items],
        next_cursor=next_cursor(page),
    )


@router.get("/{device_id}", response_model=s.DevicePublic)
def get(device_id: PathId, svc: Svc, actor: CurrentActor) -> s.DevicePublic:
    return _answer(svc, actor, devices.get_device(svc, actor, device_id))


@router.patch("/{device_id}", response_model=s.DevicePublic)
def update(
    device_id: PathId, body: s.DeviceUpdate, svc: Svc, actor: CurrentActor
) -> s.DevicePublic:
    """Only the fields sent change; paired codes follow the device's departments (A8)."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if "location" in changes:
        changes["location"] = location_of(body.location) or Location()
    return _answer(svc, actor, devices.update_device(svc, actor, device_id, changes))


class Replacement(s.Body):
    serial: str = Field(
        min_length=1, max_length=100, pattern=NO_NUL, description="The new hardware's serial."
    )
    group_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="The new hardware's provisioning group (its id or group id); by default "
        "the old hardware's.",
    )


@router.post(
    "/{device_id}/replace",
    response_model=s.DevicePublic,
    responses={
        403: {"description": "`not_registered` or `registration_disabled`: the new serial"},
        409: {"description": "`conflict`: the new serial has a twin already"},
    },
)
def replace(device_id: PathId, body: Replacement, svc: Svc, actor: CurrentActor) -> s.DevicePublic:
    """D7: new hardware for this provisioned device. The twin keeps everything; the old
    serial's credential stops at once and its registration is disabled; the new serial
    activates into this twin."""
    replaced = replacement.replace_device(
        svc, actor, device_id, serial=body.serial, group=body.group_id
    )
    return _answer(svc, actor, replaced)


class Reprovisioning(s.Body):
    environment: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="One of its group's environments, by name or id; by default it keeps its "
        "own while that is up.",
    )
    organization_id: s.Ident | None = Field(
        None,
        description="Another organization to move it to (you must be an Administrator in both).",
    )


@router.post(
    "/{device_id}/reprovision",
    response_model=s.DevicePublic,
    responses={409: {"description": "`reprovision_refused`: the group's policy is never"}},
)
def reprovision(
    device_id: PathId, body: Reprovisioning, svc: Svc, actor: CurrentActor
) -> s.DevicePublic:
    """D6: move this provisioned device to another environment and/or organization; its
    group id, secret and serial stay. The group's reprovision policy keeps its twin
    (`migrate`: the device answered), starts a new one (`reset`: the new twin answered)
    or refuses (`never`). The device learns its new assignment at its next check-in
    (`reprovision`) or activation."""
    moved = reprovisioning.reprovision_device(
        svc, actor, device_id, environment=body.environment, organization=body.organization_id
    )
    if moved.device.organization_id != actor.require(Permission.READ).organization_id:
        return present.device(moved.device, [])  # its codes stayed behind, unpaired
    return _answer(svc, actor, moved.device)


@router.delete("/{device_id}", status_code=204)
def delete(device_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    """A5: its codes are unpaired first, and stay."""
    devices.delete_device(svc, actor, device_id)
    return Response(status_code=204)


@router.get("/{device_id}/codes", response_model=s.PageOf[s.CodePublic])
def list_codes(
    device_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.CodePublic]:
    device = devices.get_device(svc, actor, device_id)
    page = codes.list_codes(svc, actor, CodeFilter(device_id=device.id), paging)
    return s.PageOf(
        items=[
            present.code(
                c, public_url=svc.public_url, departments=device.departments, seen_by=actor
            )
            for c in page.items
        ],
        next_cursor=next_cursor(page),
    )


@router.post(
    "/{device_id}/codes",
    status_code=201,
    response_model=s.CodePublic,
    responses={200: {"description": "An existing code was paired", "model": s.CodePublic}},
)
def add_code(
    device_id: PathId, body: s.DeviceCodeCreate, svc: Svc, actor: CurrentActor, response: Response
) -> s.CodePublic:
    """A7 from a device: pair an existing unpaired code (200), or create a new code paired
    at once (201)."""
    if body.code is not None:
        paired = pairing.pair_code(svc, actor, body.code, device_id)
        response.status_code = 200
    else:
        paired = pairing.create_code_for_device(svc, actor, device_id)
    departments = codes.effective_departments_of(svc, paired)
    return present.code(paired, public_url=svc.public_url, departments=departments, seen_by=actor)


@router.post("/{device_id}/service-records", status_code=201, response_model=s.ServiceRecordPublic)
def add_service_record(
    device_id: PathId, body: s.ServiceRecordCreate, svc: Svc, actor: CurrentActor
) -> s.ServiceRecordPublic:
    record = records.add_service_record(
        svc, actor, device_id, text=body.text, performed_at=body.performed_at
    )
    return present.service_record(record)


@router.get("/{device_id}/service-records", response_model=s.PageOf[s.ServiceRecordPublic])
def list_service_records(
    device_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.ServiceRecordPublic]:
    """Newest first."""
    page = records.list_service_records(svc, actor, device_id, paging)
    return s.PageOf(
        items=[present.service_record(r) for r in page.items], next_cursor=next_cursor(page)
    )


@router.post("/{device_id}/interactions", status_code=201, response_model=s.InteractionPublic)
def add_interaction(
    device_id: PathId, body: s.InteractionCreate, svc: Svc, actor: CurrentActor
) -> s.InteractionPublic:
    """A note or a message; notifications come from code users (A13)."""
    added = records.add_interaction(svc, actor, device_id, kind=body.kind, text=body.text)
    return present.interaction(added)


@router.get("/{device_id}/interactions", response_model=s.PageOf[s.InteractionPublic])
def list_interactions(
    device_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.InteractionPublic]:
    """Newest first, code users' notifications included (A13)."""
    page = records.list_interactions(svc, actor, device_id, paging)
    return s.PageOf(
        items=[present.interaction(i) for i in page.items], next_cursor=next_cursor(page)
    )


@router.get("/{device_id}/timeline", response_model=s.PageOf[s.TimelineEntryPublic])
def timeline(
    device_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.TimelineEntryPublic]:
    """The device's lifecycle, newest first (A3)."""
    page = records.device_timeline(svc, actor, device_id, paging)
    return s.PageOf(
        items=[present.timeline_entry(e) for e in page.items], next_cursor=next_cursor(page)
    )


@router.get(
    "/{device_id}/provisioning",
    response_model=DeviceProvisioningPublic,
    responses={404: {"description": "`not_found`: no such device, or not a provisioned one"}},
)
def provisioning(device_id: PathId, svc: Svc, actor: CurrentActor) -> DeviceProvisioningPublic:
    """D4-D7: the group the device came through, the registration of its hardware, the
    environment it was sent to and its provisioning history, newest first. 404 for a
    device made otherwise (by hand, imported, enrolled)."""
    found = registrations.provisioning_of_device(svc, actor, device_id)
    if found is None:
        raise NotFound(f"Device {device_id} did not come through a provisioning group.")
    return DeviceProvisioningPublic(
        group_id=found.group_id,
        registration=None
        if found.registration is None
        else present.registration(found.registration),
        environment=None if found.environment is None else present.environment(found.environment),
        history=[present.timeline_entry(e) for e in found.history],
    )


@router.put("/{device_id}/configuration", response_model=s.DevicePublic)
def set_configuration(
    device_id: PathId, body: DeviceConfiguration, svc: Svc, actor: CurrentActor
) -> s.DevicePublic:
    """B8: change a licensed device's configuration (one of its product's); it receives
    it at its next check-in. 404 when the device is not a licensed device you see (P5)."""
    licensing.assign_configuration(svc, actor, body.configuration_id, [device_id])
    return _answer(svc, actor, devices.get_device(svc, actor, device_id))


# --- documents and the installation photo (A3) -------------------------------------------


@router.post(
    "/{device_id}/documents",
    status_code=201,
    response_model=s.DocumentPublic,
    openapi_extra=DOCUMENT_BODY,
    responses=UPLOAD_RESPONSES,
)
def add_document(
    device_id: PathId, svc: Svc, actor: CurrentActor, given: DocumentUpload
) -> s.DocumentPublic:
    """A file as multipart/form-data (``file``, ``title``, ``public``), or a link as JSON
    (``url``, ``title``, ``public``). A file's type is read from its content: PDF, PNG,
    JPEG, WebP, GIF or plain UTF-8 text (415 ``unsupported_file_type`` otherwise); over
    the size limit is 413 ``file_too_large``. Public documents show on the code page."""
    return present.document(documents.add_document(svc, actor, device_id, given))


@router.get("/{device_id}/documents", response_model=s.PageOf[s.DocumentPublic])
def list_documents(
    device_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.DocumentPublic]:
    """Public and internal documents, oldest first."""
    page = documents.list_documents(svc, actor, device_id, paging)
    return s.PageOf(items=[present.document(d) for d in page.items], next_cursor=next_cursor(page))


@router.get(
    "/{device_id}/documents/{document_id}/content",
    response_class=Response,
    responses=DOCUMENT_FILE,
)
def document_content(
    device_id: PathId, document_id: PathId, svc: Svc, actor: CurrentActor
) -> Response:
    """The file of a file document (a link has none: 404)."""
    document, stored = documents.document_file(svc, actor, device_id, document_id)
    return file_response(stored, filename=document.file_name)


@router.delete("/{device_id}/documents/{document_id}", status_code=204)
def delete_document(
    device_id: PathId, document_id: PathId, svc: Svc, actor: CurrentActor
) -> Response:
    """The file goes too, once no other document or photo shares it."""
    documents.delete_document(svc, actor, device_id, document_id)
    return Response(status_code=204)


@router.put(
    "/{device_id}/photo",
    response_model=s.DevicePublic,
    openapi_extra=PHOTO_BODY,
    responses=UPLOAD_RESPONSES,
)
def set_photo(
    device_id: PathId, svc: Svc, actor: CurrentActor, content: PhotoUpload
) -> s.DevicePublic:
    """Set or replace the installation photo (multipart ``file``: PNG, JPEG or WebP). Field
    work: Technicians may, like service records."""
    return _answer(svc, actor, documents.set_photo(svc, actor, device_id, content))


@router.get("/{device_id}/photo", response_class=Response, responses=PHOTO_FILE)
def photo(device_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    stored = documents.photo_of(svc, actor, device_id)
    return file_response(stored, filename=photo_name(stored.content_type))


@router.delete("/{device_id}/photo", status_code=204)
def remove_photo(device_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    documents.remove_photo(svc, actor, device_id)
    return Response(status_code=204)
