"""The mobile app's devices (SPEC §5, A6-A9, seed 000 "Starting with the Device"): the list
with search, a device's page with its action menu, pairing it with a code (pick one, scan
one, or a new one at once), its codes with unpairing, a service record, the installation
photo, and the Done screen every pairing flow ends on."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request, Response

from onboard.adapters.qr import qr_svg
from onboard.domain.access import Actor, Permission
from onboard.domain.codes import Code, code_url
from onboard.domain.devices import MAX_TEXT_LENGTH, Device
from onboard.domain.errors import Conflict, DomainError, FileTooLarge, Invalid, UnsupportedFileType
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.uploads import Upload, picture_too_large, read_page_upload
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.device_views import attribute_rows, customer_name, template_of
from onboard.entrypoints.web.forms import CsrfField, Cursor, parse_time, with_query
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import codes, devices, documents, pairing, records
from onboard.services.ports import CodeFilter, DeviceFilter, PageRequest, Services

router = web_router()

# A phone shows a short list; search narrows it, "Next page" goes on.
CHOICES = 20
RECENT_RECORDS = 3

Search = Annotated[str | None, Query(max_length=100)]
CodeQuery = Annotated[str | None, Query(alias="code", max_length=64)]
EventQuery = Annotated[str | None, Query(alias="event", max_length=20)]
TokenField = Annotated[str, Form(alias="token", max_length=64)]
RecordText = Annotated[str, Form(max_length=2 * MAX_TEXT_LENGTH)]
DateField = Annotated[str, Form(max_length=40)]


class Done(StrEnum):
    """What the Done screen confirms."""

    PAIRED = "paired"
    CREATED = "created"  # a new device, made from a code and paired with it
    NEW_CODE = "new_code"  # a new code, made for a device and paired with it
    UNPAIRED = "unpaired"


def device_url(device_id: str) -> str:
    return f"/m/devices/{device_id}"


def done_url(device_id: str, token: str, event: Done) -> str:
    return f"{device_url(device_id)}/done/{token}?{urlencode({'event': event.value})}"


def searched(q: str | None) -> str | None:
    """A search box's text, or None when nothing was typed."""
    text = " ".join((q or "").split())
    return text or None


def _abilities(actor: Actor) -> dict[str, bool]:
    """What the pages offer; the use cases refuse the rest anyway."""
    return {
        "can_pair": actor.can(Permission.PAIR),
        "can_record": actor.can(Permission.RECORD_SERVICE),
    }


def photo_url(device: Device) -> str | None:
    """The installation photo, through the API (the session works there), with the time
    of the last change so that a replaced photo is fetched again."""
    if device.photo_key is None:
        return None
    return f"/api/v1/devices/{device.id}/photo?v={int(device.updated_at.timestamp())}"


# --- the list and a device's page -------------------------------------------------------


@router.get("/m/devices")
def list_(
    request: Request, svc: Svc, actor: MemberActor, paging: Cursor, q: Search = None
) -> Response:
    query = searched(q)
    page = devices.list_devices(
        svc, actor, DeviceFilter(q=query), PageRequest(paging.after, CHOICES)
    )
    found = pairing.codes_of_devices(svc, actor, page.items)
    return render(
        request,
        "mobile/devices.html",
        {
            "page": page,
            "paged": paging.after is not None,
            "q": query or "",
            "base": with_query("/m/devices", q=query),
            "code_counts": {device_id: len(paired) for device_id, paired in found.items()},
            "back_url": "/m",
        },
    )


@router.get("/m/devices/{device_id}")
def detail(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    # What the member's scope does not show (a customer of other departments) stays out.
    template = template_of(svc, actor, device)
    recent = records.list_service_records(svc, actor, device.id, PageRequest(None, RECENT_RECORDS))
    return render(
        request,
        "mobile/device.html",
        {
            "device": device,
            "template_name": template.name if template else None,
            "attributes": attribute_rows(device, template),
            "customer_name": customer_name(svc, actor, device),
            "codes": pairing.codes_of_device(svc, actor, device.id),
            "records": recent.items,
            "photo_url": photo_url(device),
            "back_url": "/m/devices",
            **_abilities(actor),
        },
    )


# --- pairing with a code: pick one, scan one, or a new one at once (A7) -------------------


def _pair_page(
    request: Request,
    svc: Services,
    actor: Actor,
    device: Device,
    paging: PageRequest,
    *,
    q: str | None = None,
    error: DomainError | None = None,
) -> Response:
    found = codes.list_codes(
        svc, actor, CodeFilter(paired=False, active=True, q=q), PageRequest(paging.after, CHOICES)
    )
    return render(
        request,
        "mobile/device_pair.html",
        {
            "device": device,
            "page": found,
            "paged": paging.after is not None,
            "q": q or "",
            "base": with_query(f"{device_url(device.id)}/pair", q=q),
            "back_url": device_url(device.id),
        },
        error=error,
    )


@router.get("/m/devices/{device_id}/pair")
def pair_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor, q: Search = None
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.PAIR)
    return _pair_page(request, svc, actor, device, paging, q=searched(q))


@router.post("/m/devices/{device_id}/pair")
def pair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    token: TokenField = "",
) -> Response:
    """Seed 000: from a device, pick an existing unpaired code."""
    http.check_csrf(request, csrf)
    try:
        if not token.strip():
            raise Invalid("Choose the code to pair with.", fields={"token": "required"})
        paired = pairing.pair_code(svc, actor, token.strip(), device_id)
    except (Invalid, Conflict) as error:
        device = devices.get_device(svc, actor, device_id)
        return _pair_page(request, svc, actor, device, PageRequest(), error=error)
    return redirect(
        request,
        done_url(device_id, paired.token, Done.PAIRED),
        notice="Code paired with the device.",
    )


@router.post("/m/devices/{device_id}/codes/new")
def new_code(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, csrf: CsrfField = ""
) -> Response:
    """Seed 000 "+": a new code, created and paired with the device at once."""
    http.check_csrf(request, csrf)
    created = pairing.create_code_for_device(svc, actor, device_id)
    return redirect(
        request,
        done_url(device_id, created.token, Done.NEW_CODE),
        notice="A new code was created and paired with the device.",
    )


# --- the device's codes, and unpairing (A9) ----------------------------------------------


@router.get("/m/devices/{device_id}/codes")
def code_settings(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    return render(
        request,
        "mobile/device_codes.html",
        {
            "device": device,
            "codes": pairing.codes_of_device(svc, actor, device.id),
            "back_url": device_url(device.id),
            **_abilities(actor),
        },
    )


def _unpair_context(
    request: Request, svc: Services, actor: Actor, device_id: str, token: str
) -> tuple[Device, Code, dict[str, Any]]:
    device = devices.get_device(svc, actor, device_id)
    code = codes.get_code(svc, actor, token)
    context = {
        "device": device,
        "code": code,
        "confirm_action": f"{device_url(device.id)}/codes/{code.token}/unpair",
        "cancel_url": f"{device_url(device.id)}/codes",
        "back_url": f"{device_url(device.id)}/codes",
    }
    return device, code, context


@router.get("/m/devices/{device_id}/codes/{token}/unpair")
def unpair_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, token: str
) -> Response:
    device, code, context = _unpair_context(request, svc, actor, device_id, token)
    if code.device_id != device.id:
        return redirect(request, f"{device_url(device.id)}/codes")
    return render(request, "mobile/unpair.html", context)


@router.post("/m/devices/{device_id}/codes/{token}/unpair")
def unpair(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, token: str, csrf: CsrfField = ""
) -> Response:
    """A9: remove the link only; confirmed first, as every destructive action (§5)."""
    device, code, context = _unpair_context(request, svc, actor, device_id, token)
    if code.device_id != device.id:
        http.check_csrf(request, csrf)
        return redirect(
            request,
            f"{device_url(device.id)}/codes",
            notice="That code is not paired with this device any more.",
        )
    return confirmed(
        request,
        csrf,
        template="mobile/unpair.html",
        context=context,
        action=lambda: pairing.unpair_code(svc, actor, code.token),
        back=done_url(device.id, code.token, Done.UNPAIRED),
        notice="Code unpaired. The device and the code are both kept.",
    )


# --- service record (A3) -----------------------------------------------------------------


def _record_page(
    request: Request,
    device: Device,
    *,
    text: str = "",
    performed_at: str = "",
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "mobile/record.html",
        {
            "device": device,
            "text": text,
            "performed_at": performed_at,
            "back_url": device_url(device.id),
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/m/devices/{device_id}/records/new")
def record_form(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.RECORD_SERVICE)
    return _record_page(request, device)


@router.post("/m/devices/{device_id}/records")
def add_record(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    text: RecordText = "",
    performed_at: DateField = "",
) -> Response:
    http.check_csrf(request, csrf)
    text = text.replace("\r\n", "\n")
    try:
        when = parse_time(performed_at, field="performed_at")
        records.add_service_record(svc, actor, device_id, text=text, performed_at=when)
    except Invalid as error:
        device = devices.get_device(svc, actor, device_id)
        return _record_page(
            request,
            device,
            text=text,
            performed_at=performed_at,
            errors=form_errors(error),
            status=status_of(error),
        )
    return redirect(request, device_url(device_id), notice="Service record added.")


# --- the installation photo (A3) ---------------------------------------------------------


async def _photo_form(request: Request, svc: Svc) -> Upload:
    return await read_page_upload(
        request, svc.upload_max_bytes, fields={http.CSRF_FIELD, "code"}, too_large=picture_too_large
    )


PhotoForm = Annotated[Upload, Depends(_photo_form)]


def _photo_page(
    request: Request,
    device: Device,
    *,
    token: str | None,
    error: DomainError | None = None,
) -> Response:
    """The photo step: take or choose a picture. After a new device (``token``: the code it
    was paired with) it can be skipped, to the Done screen."""
    return render(
        request,
        "mobile/photo.html",
        {
            "device": device,
            "token": token,
            "photo_url": photo_url(device),
            "skip_url": done_url(device.id, token, Done.CREATED) if token else None,
            "back_url": device_url(device.id),
        },
        error=error,
    )


@router.get("/m/devices/{device_id}/photo")
def photo_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, code: CodeQuery = None
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.RECORD_SERVICE)
    return _photo_page(request, device, token=code)


@router.post("/m/devices/{device_id}/photo")
def set_photo(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, upload: PhotoForm
) -> Response:
    """Set or replace the installation photo; a refusal (too large, not a picture) shows
    the form again with the reason next to the file."""
    token = upload.text("code") or None
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
        if not upload.content:
            raise Invalid("Take or choose a photo first.", fields={"file": "required"})
        documents.set_photo(svc, actor, device_id, upload.content)
    except (Invalid, FileTooLarge, UnsupportedFileType) as error:
        device = devices.get_device(svc, actor, device_id)
        return _photo_page(request, device, token=token, error=error)
    if token:
        return redirect(request, done_url(device_id, token, Done.CREATED), notice="Photo saved.")
    return redirect(request, device_url(device_id), notice="Photo saved.")


# --- Done --------------------------------------------------------------------------------


@router.get("/m/devices/{device_id}/done/{token}")
def done(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    token: str,
    event: EventQuery = None,
) -> Response:
    """Seed 000's "✅ Done!": what is true now of the code and the device, said after the
    flow that led here (``event``); a new code is shown with its QR for a sticker."""
    device = devices.get_device(svc, actor, device_id)
    found = codes.get_code(svc, actor, token)
    happened = Done(event) if event in {d.value for d in Done} else Done.PAIRED
    paired = found.device_id == device.id
    qr: str | None = None
    if happened is Done.NEW_CODE and paired:
        url = code_url(svc.public_url, found.token).upper()
        qr = qr_svg(url, scale=5, title=f"QR code of {found.token}")
    return render(
        request,
        "mobile/done.html",
        {
            "device": device,
            "code": found,
            "event": happened.value,
            "paired": paired,
            "qr": qr,
            "url": code_url(svc.public_url, found.token),
        },
    )
