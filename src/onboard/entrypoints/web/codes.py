"""Back-office pages of codes: the filtered list and creating codes, a code's details with
its QR, pairing from the code with an unpaired device and unpairing, its settings (label,
active, PIN, departments), its notification history, and deleting it; every destructive
step confirmed first (SPEC A1, A2, A5-A11, A13, A16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Query, Request, Response
from markupsafe import Markup

from onboard.adapters.qr import qr_svg
from onboard.domain.access import Actor, Permission
from onboard.domain.codes import Code, code_url, normalize_token
from onboard.domain.devices import Device
from onboard.domain.errors import Conflict, DepartmentForbidden, DomainError, Invalid, NotFound
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor, Text, with_query
from onboard.entrypoints.web.pairing import (
    UNPAIR_TEXT,
    pair_chosen_device,
    paired_device,
    unpair_title,
)
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import batches, codes, devices, pairing
from onboard.services.batches import BatchView
from onboard.services.ports import CodeFilter, DeviceFilter, Page, PageRequest, Services

router = web_router()

# The back office creates up to this many codes at once; larger runs are the CLI's.
MAX_CREATED_HERE = 1000

_FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)

Filter = Annotated[str, Query(max_length=200)]
DeviceChoice = Annotated[str, Form(alias="device_id", max_length=64)]
Pin = Annotated[str, Form(max_length=64)]

# The three-way filters of the list (A16): any, yes, no.
_TRI_STATE = {"yes": True, "no": False}


def _tri_state(raw: str) -> bool | None:
    return _TRI_STATE.get(raw.strip().lower())


def _count(raw: str) -> int:
    """How many codes to create: a whole number the back office may create at once."""
    try:
        count = int(raw.strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_CREATED_HERE:
        raise Invalid(
            f"Create 1 to {MAX_CREATED_HERE:,} codes at once here; larger runs are the "
            "command line's (onboard codes create).",
            fields={"count": f"a whole number from 1 to {MAX_CREATED_HERE}"},
        )
    return count


def _code_path(code: Code) -> str:
    return f"/codes/{code.token}"


def _permissions(actor: Actor) -> dict[str, bool]:
    """What the pages offer: actions the member's roles do not allow are not shown (the use
    cases refuse them anyway)."""
    return {
        "can_manage": actor.can(Permission.MANAGE_CODES),
        "can_pair": actor.can(Permission.PAIR),
        "can_create_device": actor.can(Permission.PAIR) and actor.can(Permission.EDIT_DEVICES),
        "can_delete_notifications": actor.can(Permission.MANAGE_NOTIFICATIONS),
    }


# --- the list ---------------------------------------------------------------------------


def _list_page(
    request: Request,
    svc: Services,
    actor: Actor,
    paging: PageRequest,
    *,
    shown: dict[str, str],
    created: dict[str, Any] | None = None,
    error: DomainError | None = None,
) -> Response:
    filters = CodeFilter(
        paired=_tri_state(shown["paired"]),
        active=_tri_state(shown["active"]),
        pin=_tri_state(shown["pin"]),
        printed=_tri_state(shown["printed"]),
        department=shown["department"] or None,
        batch=shown["batch"] or None,
        q=shown["q"] or None,
    )
    page = codes.list_codes(svc, actor, filters, paging)
    known = all_departments(svc, actor)
    given = {k: v for k, v in shown.items() if v}
    return render(
        request,
        "codes/list.html",
        {
            "area": "codes",
            **_permissions(actor),
            "page": page,
            "paged": paging.after is not None,
            "filters": shown,
            "filtered": bool(given),
            "base_url": with_query("/codes", **given),
            "effective": codes.effective_departments(svc, page.items),
            "devices": pairing.devices_of_codes(svc, actor, page.items),
            "departments": known,
            "department_names": {d.id: d.name for d in known},
            "created": created or {"count": "1", "label": "", "batch": "", "chosen": []},
            "max_created": MAX_CREATED_HERE,
        },
        error=error,
    )


@router.get("/codes")
def list_(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    paging: Cursor,
    paired: Filter = "",
    active: Filter = "",
    pin: Filter = "",
    printed: Filter = "",
    department: Filter = "",
    batch: Filter = "",
    q: Filter = "",
) -> Response:
    """A16: the codes the member sees, narrowed by the filters, which the page links keep."""
    shown = {
        "q": q.strip(),
        "paired": paired.strip() if _tri_state(paired) is not None else "",
        "active": active.strip() if _tri_state(active) is not None else "",
        "pin": pin.strip() if _tri_state(pin) is not None else "",
        "printed": printed.strip() if _tri_state(printed) is not None else "",
        "department": department.strip(),
        "batch": batch.strip(),
    }
    return _list_page(request, svc, actor, paging, shown=shown)


_NO_FILTERS = dict.fromkeys(("q", "paired", "active", "pin", "printed", "department", "batch"), "")


@router.post("/codes")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    count: Text = "1",
    label: Text = "",
    batch: Text = "",
    departments: Choices = None,
) -> Response:
    """Create unpaired codes; with no department ticked they get the creator's own (P5)."""
    http.check_csrf(request, csrf)
    try:
        made = codes.create_codes(
            svc,
            actor,
            count=_count(count),
            label=label or None,
            batch=batch or None,
            departments=departments or None,
        )
    except _FORM_ERRORS as error:
        created = {"count": count, "label": label, "batch": batch, "chosen": departments or []}
        return _list_page(
            request, svc, actor, PageRequest(), shown=_NO_FILTERS, created=created, error=error
        )
    if len(made) == 1:
        return redirect(request, _code_path(made[0]), notice=f"Code {made[0].token} created.")
    where = with_query("/codes", batch=made[0].batch)
    return redirect(request, where, notice=f"{len(made):,} codes created.")


# --- one code ---------------------------------------------------------------------------


def _batch_of(svc: Services, actor: Actor, code: Code) -> BatchView | None:
    """The code's batch, to link to its page; None when it has none or no record of it."""
    if code.batch is None:
        return None
    try:
        return batches.find_batch(svc, actor, code.batch)
    except NotFound:
        return None


def _detail(
    request: Request,
    svc: Services,
    actor: Actor,
    raw_token: str,
    paging: PageRequest,
    *,
    label: str | None = None,
    pin: str = "",
    chosen: list[str] | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    code = codes.get_code(svc, actor, raw_token)
    url = code_url(svc.public_url, code.token)
    known = all_departments(svc, actor)
    return render(
        request,
        "codes/detail.html",
        {
            "area": "codes",
            **_permissions(actor),
            "code": code,
            "device": paired_device(svc, actor, code),
            "batch": _batch_of(svc, actor, code),
            "url": url,
            # Uppercase: the QR encodes it in alphanumeric mode, a smaller symbol (A2). The
            # SVG drawn by adapters/qr of our own URL and token: nothing a user typed.
            "qr": Markup(qr_svg(url.upper(), scale=5, title=f"QR code of {code.token}")),  # noqa: S704
            "effective": codes.effective_departments_of(svc, code),
            "notifications": codes.list_notifications(svc, actor, code.token, paging),
            "paged": paging.after is not None,
            "departments": known,
            "department_names": {d.id: d.name for d in known},
            "label": (code.label or "") if label is None else label,
            "pin": pin,
            "chosen": sorted(code.departments) if chosen is None else chosen,
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/codes/{token}")
def detail(request: Request, svc: Svc, actor: MemberActor, token: str, paging: Cursor) -> Response:
    """The Code Details View; a token typed in another letter case leads to the canonical
    address (A2)."""
    canonical = normalize_token(token)
    if canonical is not None and canonical != token:
        query = f"?{request.url.query}" if request.url.query else ""
        return redirect(request, f"/codes/{canonical}{query}")
    return _detail(request, svc, actor, token, paging)


def _changed(
    request: Request,
    svc: Services,
    actor: Actor,
    token: str,
    changes: dict[str, Any],
    *,
    notice: Callable[[Code], str],
    form: dict[str, Any],
) -> Response:
    """Apply settings to a code and go back to it; a refusal shows the code page again with
    the error next to the field (``form`` keeps what was typed)."""
    try:
        changed = codes.update_code(svc, actor, token, changes)
    except _FORM_ERRORS as error:
        return _detail(
            request,
            svc,
            actor,
            token,
            PageRequest(),
            errors=form_errors(error),
            status=status_of(error),
            **form,
        )
    return redirect(request, _code_path(changed), notice=notice(changed))


@router.post("/codes/{token}/label")
def change_label(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    csrf: CsrfField = "",
    label: Text = "",
) -> Response:
    """The short text printed under the QR (A1); empty removes it."""
    http.check_csrf(request, csrf)
    return _changed(
        request,
        svc,
        actor,
        token,
        {"label": label or None},
        notice=lambda c: f"Label changed to {c.label}." if c.label else "Label removed.",
        form={"label": label},
    )


@router.post("/codes/{token}/activate")
def activate(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A10: code users get access again."""
    http.check_csrf(request, csrf)
    return _changed(
        request,
        svc,
        actor,
        token,
        {"active": True},
        notice=lambda c: "Code activated: code users have access again.",
        form={},
    )


@router.post("/codes/{token}/pin")
def set_pin(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = "", pin: Pin = ""
) -> Response:
    """A11: a PIN of 4 to 8 digits that code users enter before they see the device."""
    http.check_csrf(request, csrf)
    return _changed(
        request,
        svc,
        actor,
        token,
        {"pin": pin.strip()},
        notice=lambda c: "PIN set: code users enter it before they see the device.",
        form={"pin": pin},
    )


@router.post("/codes/{token}/departments")
def change_departments(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    csrf: CsrfField = "",
    departments: Choices = None,
) -> Response:
    """The code's own departments, which apply while it is unpaired (A8)."""
    http.check_csrf(request, csrf)
    chosen = [d for d in departments or [] if d]
    return _changed(
        request,
        svc,
        actor,
        token,
        {"departments": chosen},
        notice=lambda c: "Departments saved.",
        form={"chosen": chosen},
    )


# --- confirmed actions ------------------------------------------------------------------


def _confirmation(
    code: Code, *, title: str, text: str, action: str, button: str, back: str | None = None
) -> dict[str, Any]:
    return {
        "area": "codes",
        "code": code,
        "confirm_title": title,
        "confirm_text": text,
        "confirm_action": f"{_code_path(code)}/{action}",
        "confirm_button": button,
        "cancel_url": back or _code_path(code),
    }


def _unpair_context(svc: Services, actor: Actor, code: Code) -> dict[str, Any]:
    return _confirmation(
        code,
        title=unpair_title(svc, actor, code, code_name=code.token),
        text=UNPAIR_TEXT,
        action="unpair",
        button="Unpair",
    )


@router.get("/codes/{token}/unpair")
def unpair_form(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    code = codes.get_code(svc, actor, token)
    actor.require(Permission.PAIR)
    if code.device_id is None:
        return redirect(request, _code_path(code))
    return render(request, "codes/confirm.html", _unpair_context(svc, actor, code))


@router.post("/codes/{token}/unpair")
def unpair(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A9: remove the link only; the code's notification history goes with it."""
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_unpair_context(svc, actor, code),
        action=lambda: pairing.unpair_code(svc, actor, code.token),
        back=_code_path(code),
        notice="Code unpaired. The code and the device are both kept.",
    )


def _deactivate_context(code: Code) -> dict[str, Any]:
    return _confirmation(
        code,
        title=f"Deactivate {code.token}?",
        text=(
            "Code users who scan it see “deactivated” and lose access to the device"
            + (", although it stays paired" if code.device_id else "")
            + ". A deactivated code cannot be paired. You can activate it again at any time."
        ),
        action="deactivate",
        button="Deactivate",
    )


@router.get("/codes/{token}/deactivate")
def deactivate_form(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    code = codes.get_code(svc, actor, token)
    actor.require(Permission.MANAGE_CODES)
    return render(request, "codes/confirm.html", _deactivate_context(code))


@router.post("/codes/{token}/deactivate")
def deactivate(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A10: a deactivated code grants no access, whatever its pairing."""
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_deactivate_context(code),
        action=lambda: codes.update_code(svc, actor, code.token, {"active": False}),
        back=_code_path(code),
        notice="Code deactivated: code users no longer have access.",
    )


def _clear_pin_context(code: Code) -> dict[str, Any]:
    return _confirmation(
        code,
        title=f"Remove the PIN of {code.token}?",
        text="Anyone who scans the code then sees the device's public page without a PIN.",
        action="clear-pin",
        button="Remove PIN",
    )


@router.get("/codes/{token}/clear-pin")
def clear_pin_form(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    code = codes.get_code(svc, actor, token)
    actor.require(Permission.MANAGE_CODES)
    return render(request, "codes/confirm.html", _clear_pin_context(code))


@router.post("/codes/{token}/clear-pin")
def clear_pin(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_clear_pin_context(code),
        action=lambda: codes.update_code(svc, actor, code.token, {"pin": None}),
        back=_code_path(code),
        notice="PIN removed.",
    )


def _delete_context(svc: Services, actor: Actor, code: Code) -> dict[str, Any]:
    device = paired_device(svc, actor, code)
    kept = (
        f" It is unpaired from {device.name} first; the device is kept."
        if device is not None
        else " No device is affected."
    )
    return _confirmation(
        code,
        title=f"Delete code {code.token}?",
        text="The code is deleted for good and its sticker stops working." + kept,
        action="delete",
        button="Delete code",
    )


@router.get("/codes/{token}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    code = codes.get_code(svc, actor, token)
    actor.require(Permission.MANAGE_CODES)
    return render(request, "codes/confirm.html", _delete_context(svc, actor, code))


@router.post("/codes/{token}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A5: a paired code is unpaired first; the device stays."""
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_delete_context(svc, actor, code),
        action=lambda: codes.delete_code(svc, actor, code.token),
        back="/codes",
        notice=f"Code {code.token} deleted.",
    )


def _notification_context(
    svc: Services, actor: Actor, code: Code, notification_id: str
) -> dict[str, Any]:
    notification = codes.get_notification(svc, actor, code.token, notification_id)
    context = _confirmation(
        code,
        title="Delete this message?",
        text="It leaves the code's notification history; the device keeps it among its "
        "interactions.",
        action=f"notifications/{notification.id}/delete",
        button="Delete message",
    )
    return {**context, "notification": notification}


@router.get("/codes/{token}/notifications/{notification_id}/delete")
def delete_notification_form(
    request: Request, svc: Svc, actor: MemberActor, token: str, notification_id: str
) -> Response:
    code = codes.get_code(svc, actor, token)
    context = _notification_context(svc, actor, code, notification_id)
    actor.require(Permission.MANAGE_NOTIFICATIONS)
    return render(request, "codes/confirm.html", context)


@router.post("/codes/{token}/notifications/{notification_id}/delete")
def delete_notification(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    notification_id: str,
    csrf: CsrfField = "",
) -> Response:
    """A13: one message of the code's history; the device keeps its interaction."""
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_notification_context(svc, actor, code, notification_id),
        action=lambda: codes.delete_notifications(svc, actor, code.token, notification_id),
        back=_code_path(code),
        notice="Message deleted.",
    )


def _all_notifications_context(code: Code) -> dict[str, Any]:
    return _confirmation(
        code,
        title=f"Delete every message of {code.token}?",
        text="The code's whole notification history is cleared; the device keeps each "
        "message among its interactions.",
        action="notifications/delete",
        button="Delete all messages",
    )


@router.get("/codes/{token}/notifications/delete")
def delete_notifications_form(
    request: Request, svc: Svc, actor: MemberActor, token: str
) -> Response:
    code = codes.get_code(svc, actor, token)
    actor.require(Permission.MANAGE_NOTIFICATIONS)
    return render(request, "codes/confirm.html", _all_notifications_context(code))


@router.post("/codes/{token}/notifications/delete")
def delete_notifications(
    request: Request, svc: Svc, actor: MemberActor, token: str, csrf: CsrfField = ""
) -> Response:
    """A13: all of the code's messages at once."""
    http.check_csrf(request, csrf)
    code = codes.get_code(svc, actor, token)
    return confirmed(
        request,
        csrf,
        template="codes/confirm.html",
        context=_all_notifications_context(code),
        action=lambda: codes.delete_notifications(svc, actor, code.token),
        back=_code_path(code),
        notice="All messages deleted.",
    )


# --- pairing from the code --------------------------------------------------------------


def _picker(
    request: Request,
    svc: Services,
    actor: Actor,
    raw_token: str,
    paging: PageRequest,
    *,
    q: str = "",
    error: DomainError | None = None,
) -> Response:
    """A7: the unpaired devices the member sees, one button each to pair with the code."""
    code = codes.get_code(svc, actor, raw_token)
    actor.require(Permission.PAIR)
    found: Page[Device] | None = None
    if code.active and code.device_id is None:
        found = devices.list_devices(svc, actor, DeviceFilter(paired=False, q=q or None), paging)
    known = all_departments(svc, actor)
    return render(
        request,
        "codes/pair.html",
        {
            "area": "codes",
            **_permissions(actor),
            "code": code,
            "device": paired_device(svc, actor, code),
            "page": found,
            "paged": paging.after is not None,
            "q": q,
            "base_url": with_query(f"{_code_path(code)}/pair", q=q),
            "department_names": {d.id: d.name for d in known},
        },
        error=error,
    )


@router.get("/codes/{token}/pair")
def pair_form(
    request: Request, svc: Svc, actor: MemberActor, token: str, paging: Cursor, q: Filter = ""
) -> Response:
    return _picker(request, svc, actor, token, paging, q=q.strip())


@router.post("/codes/{token}/pair")
def pair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    csrf: CsrfField = "",
    device_id: DeviceChoice = "",
) -> Response:
    """A6, A7: pair the code with the chosen unpaired device and go back to the code."""
    http.check_csrf(request, csrf)
    try:
        paired = pair_chosen_device(svc, actor, token, device_id)
    except (Invalid, Conflict, NotFound) as error:
        # Shown on the picker, which itself answers "not found" for a code not seen.
        return _picker(request, svc, actor, token, PageRequest(), error=error)
    device = paired_device(svc, actor, paired)
    name = device.name if device is not None else "the device"
    return redirect(request, _code_path(paired), notice=f"Code paired with {name}.")
