"""Scanning in the mobile app (SPEC §5, A7, A14): the camera view, decoded in the browser
where it can and on the server otherwise, typed entry and a photo as the fallbacks, and
where a scanned payload leads, including pairing the scanned sticker with a device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from onboard.adapters.qr import read_qr_codes
from onboard.domain.access import Actor, Permission
from onboard.domain.devices import Device
from onboard.domain.errors import (
    Conflict,
    DomainError,
    FileTooLarge,
    Forbidden,
    Invalid,
    NotFound,
)
from onboard.entrypoints import http
from onboard.entrypoints.uploads import Upload, picture_too_large, read_body, read_page_upload
from onboard.entrypoints.web.forms import CsrfField, with_query
from onboard.entrypoints.web.mobile_devices import Done, device_url, done_url
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices, dynamic_codes, pairing
from onboard.services.dynamic_codes import Scanned, ScanOutcome
from onboard.services.ports import Services
from onboard.services.provisioning.onboarding import onboarding_link

router = web_router()

# A camera frame the page sends is a JPEG of at most 960 pixels a side: tens of kilobytes.
FRAME_MAX_BYTES = 1024 * 1024
# A phone's photo of a sticker: a few megabytes.
PHOTO_MAX_BYTES = 8 * 1024 * 1024

Payload = Annotated[str, Form(max_length=2000)]
PairField = Annotated[str, Form(alias="pair_device", max_length=64)]
PairQuery = Annotated[str | None, Query(alias="pair_device", max_length=64)]
CreateField = Annotated[str, Form(alias="create", max_length=8)]


@dataclass(frozen=True)
class Offer:
    """A payload an organization's rule reads, naming a device not registered yet (A14):
    the member may create it, with a code bound to the payload."""

    payload: str
    gtin: str | None
    serial: str | None


def _pair_target(svc: Services, actor: Actor, device_id: str | None) -> Device | None:
    """The device a sticker is being scanned for ("scan to pair"), if any."""
    if not device_id:
        return None
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.PAIR)
    return device


def _scan_page(
    request: Request,
    actor: Actor,
    *,
    target: Device | None,
    payload: str = "",
    offer: Offer | None = None,
    error: DomainError | None = None,
) -> Response:
    return render(
        request,
        "mobile/scan.html",
        {
            "target": target,
            "payload": payload,
            "offer": offer,
            "can_create": actor.can(Permission.EDIT_DEVICES) and actor.can(Permission.PAIR),
            "photo_action": with_query("/m/scan/photo", pair_device=target.id if target else None),
            "back_url": device_url(target.id) if target else "/m",
        },
        error=error,
    )


@router.get("/m/scan")
def scan_page(
    request: Request, svc: Svc, actor: MemberActor, pair_device: PairQuery = None
) -> Response:
    """The camera view (scan.js), with typed entry and a photo for when there is none."""
    return _scan_page(request, actor, target=_pair_target(svc, actor, pair_device))


@router.post("/m/scan")
def scan(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    payload: Payload = "",
    pair_device: PairField = "",
    create: CreateField = "",
) -> Response:
    """What a scanned or typed payload leads to; the camera view submits this form too."""
    http.check_csrf(request, csrf)
    target = _pair_target(svc, actor, pair_device.strip() or None)
    return _resolve(request, svc, actor, payload, target=target, create=create == "1")


def _resolve(
    request: Request,
    svc: Services,
    actor: Actor,
    payload: str,
    *,
    target: Device | None,
    create: bool,
) -> Response:
    """A14: our code (paired: its device; not paired: "Code not paired"), a dynamic code's
    device, or the offer to create it; in "scan to pair", the scanned code is paired.
    An onboarding label of this server (D5) opens its onboarding page."""
    if target is None and (link := onboarding_link(svc.public_url, payload)) is not None:
        return redirect(request, link.path)
    try:
        found = dynamic_codes.scan(svc, actor, payload, create=create and target is None)
    except Invalid as error:
        return _scan_page(request, actor, target=target, payload=payload, error=error)
    if target is not None:
        return _pair_scanned(request, svc, actor, found, target, payload)
    if found.result is ScanOutcome.CREATED and found.device and found.code:
        return redirect(
            request,
            with_query(f"{device_url(found.device.id)}/photo", code=found.code.token),
            notice=f"{found.device.name} created, with a code bound to its label.",
        )
    if found.device is not None:
        return redirect(request, device_url(found.device.id))
    if found.code is not None:
        return redirect(request, f"/m/codes/{found.code.token}")
    if found.serial is not None:
        offer = Offer(payload.strip(), found.gtin, found.serial)
        return _scan_page(request, actor, target=None, payload=payload, offer=offer)
    nothing = NotFound(
        "No code or device of yours matches that. Check what you typed, or scan again.",
        fields={"payload": "nothing found"},
    )
    return _scan_page(request, actor, target=None, payload=payload, error=nothing)


def _pair_scanned(
    request: Request,
    svc: Services,
    actor: Actor,
    found: Scanned,
    target: Device,
    payload: str,
) -> Response:
    """Seed 000 "Scan a QR code to pair": the scanned sticker's code, paired with the
    device the scan was started from."""
    code = found.code
    if found.result is not ScanOutcome.CODE or code is None:
        refusal = NotFound(
            "That is not one of your code stickers. Scan the QR code of an unpaired code.",
            fields={"payload": "not a code"},
        )
        return _scan_page(request, actor, target=target, payload=payload, error=refusal)
    if code.device_id == target.id:
        return redirect(
            request,
            done_url(target.id, code.token, Done.PAIRED),
            notice="This code is paired with this device already.",
        )
    try:
        paired = pairing.pair_code(svc, actor, code.token, target.id)
    except Conflict as error:
        return _scan_page(request, actor, target=target, payload=payload, error=error)
    return redirect(
        request,
        done_url(target.id, paired.token, Done.PAIRED),
        notice="Code paired with the device.",
    )


# --- a photo of the sticker, read on the server ------------------------------------------


async def _scan_photo(request: Request, svc: Svc) -> Upload:
    limit = min(svc.upload_max_bytes, PHOTO_MAX_BYTES)
    return await read_page_upload(
        request, limit, fields={http.CSRF_FIELD}, too_large=picture_too_large
    )


ScanPhoto = Annotated[Upload, Depends(_scan_photo)]


@router.post("/m/scan/photo")
def scan_photo(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    upload: ScanPhoto,
    pair_device: PairQuery = None,
) -> Response:
    """The fallback without a live camera: a photo of the sticker, decoded here."""
    target = _pair_target(svc, actor, pair_device)
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
        if not upload.content:
            raise Invalid(
                "Take or choose a photo of the QR code first.", fields={"file": "required"}
            )
        texts = read_qr_codes(upload.content)
        if not texts:
            raise Invalid(
                "No QR code was found in the photo. Fill the picture with the code, hold "
                "still, and try again.",
                fields={"file": "no QR code found"},
            )
    except (Invalid, FileTooLarge) as error:
        return _scan_page(request, actor, target=target, error=error)
    return _resolve(request, svc, actor, texts[0], target=target, create=False)


# --- camera frames from scan.js, where the browser cannot decode them itself --------------


@router.post("/m/scan/frame")
async def scan_frame(request: Request, actor: MemberActor) -> Response:
    """One camera frame (a JPEG body, with the CSRF token in its header): the text of the
    first QR code in it, or null. Only the camera view calls this."""
    try:
        http.check_csrf(request, request.headers.get(http.CSRF_HEADER))
        frame = await read_body(request, FRAME_MAX_BYTES, too_large=picture_too_large)
    except (Forbidden, FileTooLarge) as error:
        status = 403 if isinstance(error, Forbidden) else 413
        return JSONResponse({"text": None, "error": error.detail}, status_code=status)
    texts = await run_in_threadpool(read_qr_codes, frame)
    return JSONResponse(
        {"text": texts[0] if texts else None}, headers={"Cache-Control": "no-store"}
    )
