"""Enrolling connected devices in the mobile app (SPEC C9, C5): scan the QR on a device's
back (or type its serial and access key, or photograph the QR), say how it enrolls and
where it is, take the installation photo in the same form, or start from a serial that a
gateway reported nearby."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from onboard.adapters.qr import read_qr_codes
from onboard.domain.access import Actor
from onboard.domain.enrollment import DeviceKind, Enrollment, EnrollmentState, may_enroll
from onboard.domain.errors import DomainError, FileTooLarge, Invalid, NotFound
from onboard.entrypoints import http
from onboard.entrypoints.uploads import Upload, picture_too_large, read_page_upload
from onboard.entrypoints.web.enrollments import (
    KIND_HINTS,
    KIND_LABELS,
    STATE_LABELS,
    enrollable_gateways,
    kind_of,
)
from onboard.entrypoints.web.forms import CsrfField
from onboard.entrypoints.web.mobile_scan import PHOTO_MAX_BYTES, Payload
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import enrollments
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import Services

router = web_router()

SerialQuery = Annotated[str, Query(max_length=100)]
GatewayQuery = Annotated[str, Query(max_length=64)]
NEARBY_SHOWN = 30
FORM_FIELDS = frozenset(
    {http.CSRF_FIELD, "serial", "access_key", "scanned", "kind", "gateway_id", "name", "location"}
)


@dataclass(frozen=True)
class Draft:
    """The enrollment form as filled in so far; a scanned access key rides along hidden."""

    serial: str = ""
    access_key: str = ""
    scanned: bool = False
    kind: str = DeviceKind.NODE.value
    gateway_id: str = ""
    name: str = ""
    location: str = ""


def _result_url(enrollment_id: str) -> str:
    return f"/m/enroll/{enrollment_id}"


def _gateway_names(gateways: list[Enrollment]) -> dict[str, str]:
    return {g.id: g.name or g.serial for g in gateways}


def _start_page(
    request: Request,
    svc: Services,
    actor: Actor,
    *,
    payload: str = "",
    error: DomainError | None = None,
) -> Response:
    """The camera view for a device's QR, typed entry, a photo of the QR, and the
    devices gateways see nearby."""
    names = _gateway_names(enrollable_gateways(svc, actor))
    return render(
        request,
        "mobile/enroll.html",
        {
            "payload": payload,
            "allowed": may_enroll(actor),
            "nearby": enrollments.nearby(svc, actor)[:NEARBY_SHOWN],
            "gateway_names": names,
        },
        error=error,
    )


def _form_page(
    request: Request,
    svc: Services,
    actor: Actor,
    draft: Draft,
    *,
    error: DomainError | None = None,
) -> Response:
    return render(
        request,
        "mobile/enroll_form.html",
        {
            "draft": draft,
            "kinds": [(k.value, KIND_LABELS[k], KIND_HINTS[k]) for k in DeviceKind],
            "gateways": enrollable_gateways(svc, actor),
        },
        error=error,
    )


def _seen_by(svc: Services, actor: Actor, serial: str) -> str:
    """The gateway that sees this serial with the strongest signal, if any does."""
    return next((n.gateway_id for n in enrollments.nearby(svc, actor) if n.serial == serial), "")


@router.get("/m/enroll")
def start(request: Request, svc: Svc, actor: MemberActor) -> Response:
    return _start_page(request, svc, actor)


@router.post("/m/enroll/scan")
def scanned(
    request: Request, svc: Svc, actor: MemberActor, csrf: CsrfField = "", payload: Payload = ""
) -> Response:
    """A scanned or typed device QR: its serial is already enrolled (its result), or the
    form, with the gateway that sees it nearby chosen."""
    http.check_csrf(request, csrf)
    return _read(request, svc, actor, payload)


def _read(request: Request, svc: Services, actor: Actor, payload: str) -> Response:
    try:
        found = enrollments.read_label(svc, actor, payload)
    except Invalid as error:
        return _start_page(request, svc, actor, payload=payload, error=error)
    if found.enrollment is not None:
        return redirect(
            request,
            _result_url(found.enrollment.id),
            notice=f"Serial {found.label.serial} is enrolled already.",
        )
    label = found.label
    gateway = _seen_by(svc, actor, label.serial)
    kind = DeviceKind.NODE.value if gateway else DeviceKind.DIRECT.value
    draft = Draft(label.serial, label.access_key, True, kind, gateway)
    return _form_page(request, svc, actor, draft)


async def _qr_photo(request: Request, svc: Svc) -> Upload:
    limit = min(svc.upload_max_bytes, PHOTO_MAX_BYTES)
    return await read_page_upload(
        request, limit, fields={http.CSRF_FIELD}, too_large=picture_too_large
    )


@router.post("/m/enroll/scan/photo")
def scanned_photo(
    request: Request, svc: Svc, actor: MemberActor, upload: Annotated[Upload, Depends(_qr_photo)]
) -> Response:
    """Without a live camera: a photo of the device's QR, decoded here."""
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
        texts = read_qr_codes(upload.content) if upload.content else []
        if not texts:
            raise Invalid(
                "No QR code was found in the photo. Fill the picture with the device's QR "
                "code, hold still, and try again.",
                fields={"file": "no QR code found"},
            )
    except (Invalid, FileTooLarge) as error:
        return _start_page(request, svc, actor, error=error)
    return _read(request, svc, actor, texts[0])


@router.get("/m/enroll/new")
def new_form(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    serial: SerialQuery = "",
    gateway: GatewayQuery = "",
) -> Response:
    """The form with the serial and access key typed; a serial a gateway reported nearby
    comes filled in, with that gateway."""
    kind = DeviceKind.NODE.value if gateway or not serial else DeviceKind.DIRECT.value
    return _form_page(request, svc, actor, Draft(serial=serial, kind=kind, gateway_id=gateway))


async def _enroll_form(request: Request, svc: Svc) -> Upload:
    limit = min(svc.upload_max_bytes, PHOTO_MAX_BYTES)
    return await read_page_upload(request, limit, fields=FORM_FIELDS, too_large=picture_too_large)


@router.post("/m/enroll/new")
def enroll(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    upload: Annotated[Upload, Depends(_enroll_form)],
) -> Response:
    """C9: the enrollment and its installation photo in one step. A node without a gateway
    is enrolled by this app (C5): done at once, its twin made."""
    text = upload.text
    draft = Draft(
        text("serial"), text("access_key"), upload.flag("scanned"), text("kind"),
        text("gateway_id"), text("name"), text("location"),
    )  # fmt: skip
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, text(http.CSRF_FIELD))
        kind = kind_of(draft.kind)
        if kind is None:
            raise Invalid("Choose what kind of device it is.", fields={"kind": "choose one"})
        gateway = draft.gateway_id or None if kind is DeviceKind.NODE else None
        given = EnrollmentInput(
            draft.serial, draft.access_key, kind, gateway, draft.name or None,
            draft.location or None,
        )  # fmt: skip
        by_app: dict[str, Any] | None = {} if kind is DeviceKind.NODE and not gateway else None
        made = enrollments.enroll_on_site(
            svc, actor, given, photo=upload.content, enrolled_by_app=by_app
        )
    except DomainError as error:  # refused (C8, a rule, the photo): the form again, with why
        return _form_page(request, svc, actor, draft, error=error)
    return redirect(request, _result_url(made.id), notice=f"{made.serial} enrolled.")


@router.get("/m/enroll/{enrollment_id}")
def result(request: Request, svc: Svc, actor: MemberActor, enrollment_id: str) -> Response:
    """Where the enrollment stands and what happens next; its device once it has one."""
    found = enrollments.get_enrollment(svc, actor, enrollment_id)
    gateway = None
    if found.gateway_id is not None:
        with suppress(NotFound):  # a gateway in a department the member does not see
            gateway = enrollments.get_enrollment(svc, actor, found.gateway_id)
    return render(
        request,
        "mobile/enrolled.html",
        {
            "enrollment": found,
            "gateway": gateway,
            "state_label": STATE_LABELS[found.state],
            "kind_label": KIND_LABELS[found.kind],
            "done": found.state is EnrollmentState.DONE,
        },
    )
