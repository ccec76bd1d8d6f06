"""The public code page /c/{TOKEN}: what a code user sees after scanning a sticker, and the
staff view and pairing actions a signed-in member gets there (SPEC A2, A10-A13)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Query, Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.codes import (
    MAX_CONTACT_LENGTH,
    MAX_MESSAGE_LENGTH,
    Code,
    Notification,
    PublicState,
    code_url,
    normalize_token,
)
from onboard.domain.devices import Device
from onboard.domain.documents import Document
from onboard.domain.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    NotificationLimited,
    PinLocked,
    WrongPin,
)
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import department_names
from onboard.entrypoints.web.device_views import (
    attribute_rows,
    customer_name,
    document_kind,
    template_of,
)
from onboard.entrypoints.web.forms import CsrfField
from onboard.entrypoints.web.layout import member_of
from onboard.entrypoints.web.pairing import (
    UNPAIR_TEXT,
    pair_chosen_device,
    paired_device,
    unpair_title,
)
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import codes, devices, documents, pairing, public
from onboard.services.ports import DeviceFilter, Page, PageRequest, Services
from onboard.services.public import PublicView

router = web_router()

DEVICE_CHOICES = 50
NOTIFICATIONS_SHOWN = 20
DOCUMENTS_SHOWN = 100

# Generous bounds: a message over its limit comes back with its text and a field error
# from the use case instead of a bare "too long" page.
Message = Annotated[str, Form(max_length=4 * MAX_MESSAGE_LENGTH)]
Contact = Annotated[str, Form(max_length=4 * MAX_CONTACT_LENGTH)]
Pin = Annotated[str, Form(max_length=64)]
DeviceChoice = Annotated[str, Form(alias="device_id", max_length=64)]
Search = Annotated[str | None, Query(max_length=100)]


@dataclass(frozen=True)
class StaffView:
    """What a member who sees the code gets on top of the public page (A12)."""

    code: Code
    device: Device | None
    can_pair: bool


@dataclass(frozen=True)
class DocumentLink:
    """A document as the code page lists it: where it opens, and what it is."""

    title: str
    href: str
    kind: str
    public: bool
    external: bool


def _document_links(
    found: Sequence[Document], file_href: Callable[[Document], str]
) -> list[DocumentLink]:
    """Links open where they point; files open from this server (``file_href``)."""
    links: list[DocumentLink] = []
    for d in found:
        if d.url is not None:
            links.append(DocumentLink(d.title, d.url, "Link", d.public, external=True))
        else:
            kind = document_kind(d)
            links.append(DocumentLink(d.title, file_href(d), kind, d.public, external=False))
    return links


def _canonical(raw: str) -> str:
    """The token as the forms and cookies use it: /c/ and /C/, any case, lead here (A2)."""
    return normalize_token(raw) or raw


def _pin_pass(request: Request, raw: str) -> str | None:
    return request.cookies.get(http.pin_cookie_name(_canonical(raw)))


def _view(svc: Services, request: Request, raw: str) -> PublicView:
    return public.view_code(
        svc, raw, pin_pass=_pin_pass(request, raw), client=http.client_ip(request)
    )


def _staff(svc: Services, member: Actor | None, view: PublicView) -> StaffView | None:
    """The code and its device as the member's scope sees them; None when the member does
    not see the code (another organization, other departments) or nobody is signed in."""
    if member is None or view.token is None:
        return None
    try:
        code = codes.get_code(svc, member, view.token)
    except DomainError:
        return None
    return StaffView(code, paired_device(svc, member, code), member.can(Permission.PAIR))


def _context(request: Request, token: str | None, **values: Any) -> dict[str, Any]:
    """What every code page shows around its state: the way in for staff, or who is in."""
    token = token or ""
    return {
        "code_path": f"/c/{token}",
        "sign_in_url": f"/m/login?next=/c/{token}" if token else "/m/login",
        "member": member_of(request),
        "staff": None,
        **values,
    }


def _unpaired_page(
    request: Request,
    svc: Services,
    view: PublicView,
    staff: StaffView | None,
    *,
    q: str | None = None,
    error: DomainError | None = None,
) -> Response:
    """A12: "Code not paired", and to a member who sees the code and may pair, the choice
    of an unpaired device of theirs to pair it with."""
    member = member_of(request)
    choices: list[Device] = []
    more = False
    if member is not None and staff is not None and staff.can_pair:
        found = devices.list_devices(
            svc, member, DeviceFilter(paired=False, q=q or None), PageRequest(None, DEVICE_CHOICES)
        )
        choices, more = list(found.items), found.next_after is not None
    context = _context(
        request, view.token, view=view, staff=staff, choices=choices, more=more, q=q or ""
    )
    return render(request, "codepage/unpaired.html", context, error=error)


def _pin_page(request: Request, view: PublicView, *, error: DomainError | None = None) -> Response:
    locked = isinstance(error, PinLocked)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, PinLocked) else None
    return render(
        request,
        "codepage/pin.html",
        _context(request, view.token, view=view, locked=locked),
        error=error,
        headers=headers,
    )


def _device_page(
    request: Request,
    view: PublicView,
    *,
    message: str = "",
    contact: str = "",
    error: DomainError | None = None,
) -> Response:
    headers = (
        {"Retry-After": str(error.retry_after)} if isinstance(error, NotificationLimited) else None
    )
    # A12: the photo and public documents, served under the token by the same checks.
    token = view.token or ""
    shown = view.device
    context = _context(
        request,
        view.token,
        view=view,
        message=message,
        contact=contact,
        max_message=MAX_MESSAGE_LENGTH,
        max_contact=MAX_CONTACT_LENGTH,
        photo_url=f"/api/v1/public/codes/{token}/photo" if shown and shown.has_photo else None,
        document_links=_document_links(
            shown.documents if shown else (),
            lambda d: f"/api/v1/public/codes/{token}/documents/{d.id}",
        ),
        more_documents=False,
    )
    return render(request, "codepage/device.html", context, error=error, headers=headers)


def _staff_page(
    request: Request, svc: Services, view: PublicView, staff: StaffView, member: Actor
) -> Response:
    """A12: a member who sees the device gets all of it, the code's settings, the messages
    code users sent, and the staff actions."""
    device = staff.device
    assert device is not None
    # What the member's scope does not show (a customer of other departments) stays out.
    template = template_of(svc, member, device)
    found: Page[Document] = Page([], None)
    with suppress(DomainError):
        found = documents.list_documents(svc, member, device.id, PageRequest(None, DOCUMENTS_SHOWN))
    notifications: Page[Notification] = Page([], None)
    with suppress(DomainError):
        notifications = codes.list_notifications(
            svc, member, staff.code.token, PageRequest(None, NOTIFICATIONS_SHOWN)
        )
    context = _context(
        request,
        view.token,
        staff=staff,
        device=device,
        template=template,
        customer_name=customer_name(svc, member, device),
        attributes=attribute_rows(device, template),
        department_names=department_names(svc, member),
        notifications=notifications,
        code_url=code_url(svc.public_url, staff.code.token),
        photo_url=f"/api/v1/devices/{device.id}/photo" if device.photo_key else None,
        document_links=_document_links(
            found.items, lambda d: f"/api/v1/devices/{device.id}/documents/{d.id}/content"
        ),
        more_documents=found.next_after is not None,
    )
    return render(request, "codepage/staff.html", context)


@router.get("/c/{token}")
@router.get("/C/{token}")
def show(request: Request, svc: Svc, token: str, q: Search = None) -> Response:
    """A12's states in order: unknown, deactivated, unpaired, PIN, then the device."""
    view = _view(svc, request, token)
    member = member_of(request)
    staff = _staff(svc, member, view)
    if view.state is PublicState.NOT_FOUND:
        return render(
            request, "codepage/not_found.html", _context(request, None, raw=token[:40]), status=404
        )
    if view.state is PublicState.DEACTIVATED:
        return render(
            request, "codepage/deactivated.html", _context(request, view.token, staff=staff)
        )
    if view.state is PublicState.UNPAIRED:
        return _unpaired_page(request, svc, view, staff, q=q)
    if member is not None and staff is not None and staff.device is not None:
        return _staff_page(request, svc, view, staff, member)
    if view.state is PublicState.PIN_REQUIRED:
        return _pin_page(request, view)
    return _device_page(request, view)


@router.post("/c/{token}/pin")
def enter_pin(
    request: Request, svc: Svc, token: str, csrf: CsrfField = "", pin: Pin = ""
) -> Response:
    """A11: a right PIN gives this browser a pass for the code, kept for the browser
    session; a wrong one shows the form again; too many lock this client out."""
    http.check_csrf(request, csrf)
    client = http.client_ip(request)
    try:
        pin_pass = public.enter_pin(svc, token, pin.strip(), client=client)
    except (WrongPin, PinLocked) as error:
        return _pin_page(request, public.view_code(svc, token, client=client), error=error)
    canonical = _canonical(token)
    response = redirect(request, f"/c/{canonical}")
    http.set_cookie(request, response, http.pin_cookie_name(canonical), pin_pass, max_age=None)
    return response


@router.post("/c/{token}/notify")
def notify(
    request: Request,
    svc: Svc,
    token: str,
    csrf: CsrfField = "",
    message: Message = "",
    contact: Contact = "",
) -> Response:
    """A13: a code user's message to the people who look after the device."""
    http.check_csrf(request, csrf)
    # Browsers send a textarea's line breaks as CRLF; count them as one character, as the
    # textarea's own limit does.
    message = message.replace("\r\n", "\n")
    canonical = _canonical(token)
    try:
        public.send_notification(
            svc,
            token,
            message=message,
            contact=contact or None,
            pin_pass=_pin_pass(request, token),
            client=http.client_ip(request),
        )
    except WrongPin:
        return redirect(request, f"/c/{canonical}")
    except (Invalid, NotificationLimited) as error:
        view = _view(svc, request, token)
        if view.state is not PublicState.PAIRED:
            return redirect(request, f"/c/{canonical}")
        return _device_page(request, view, message=message, contact=contact, error=error)
    return redirect(
        request,
        f"/c/{canonical}",
        notice="Thank you! Your message has been sent to the people who look after this device.",
    )


@router.post("/c/{token}/pair")
def pair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    csrf: CsrfField = "",
    device_id: DeviceChoice = "",
) -> Response:
    """A7: from a code, pick an existing unpaired device."""
    http.check_csrf(request, csrf)
    try:
        paired = pair_chosen_device(svc, actor, token, device_id)
    except (Invalid, Conflict, NotFound) as error:
        # Shown on the pairing form while there still is one; otherwise as a page.
        view = _view(svc, request, token)
        staff = _staff(svc, actor, view)
        if view.state is not PublicState.UNPAIRED or staff is None or not staff.can_pair:
            raise
        return _unpaired_page(request, svc, view, staff, error=error)
    device = paired_device(svc, actor, paired)
    name = device.name if device is not None else "the device"
    return redirect(request, f"/c/{paired.token}", notice=f"Code paired with {name}.")


def _unpair_context(
    request: Request, svc: Services, actor: Actor, token: str
) -> tuple[Code, dict[str, Any]]:
    code = codes.get_code(svc, actor, token)
    context = _context(
        request,
        code.token,
        confirm_title=unpair_title(svc, actor, code, code_name="this code"),
        confirm_text=UNPAIR_TEXT,
        confirm_action=f"/c/{code.token}/unpair",
        confirm_button="Unpair",
        cancel_url=f"/c/{code.token}",
    )
    return code, context


@router.get("/c/{token}/unpair")
def unpair_form(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    code, context = _unpair_context(request, svc, actor, token)
    if code.device_id is None:
        return redirect(request, f"/c/{code.token}")
    return render(request, "codepage/unpair.html", context)


@router.post("/c/{token}/unpair")
def unpair(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A9: remove the link only; confirmed first, as every destructive action (§5)."""
    code, context = _unpair_context(request, svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codepage/unpair.html",
        context=context,
        action=lambda: pairing.unpair_code(svc, actor, code.token),
        back=f"/c/{code.token}",
        notice="Code unpaired. The device and the code are both kept.",
    )
