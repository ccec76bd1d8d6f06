"""A device's Codes tab in the back office: the codes paired with it, pairing an unpaired
code (picked from a searchable list, or typed), a new code paired at once, and unpairing
after confirmation (SPEC A6, A7, A9; seed 000 "Starting with the Device")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request, Response

from onboard.domain.access import Actor
from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.domain.errors import (
    CodeAlreadyPaired,
    CodeDeactivated,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
)
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import department_names
from onboard.entrypoints.web.device_views import device_context, tab_page
from onboard.entrypoints.web.forms import CsrfField, Cursor, with_query
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import codes, devices, pairing
from onboard.services.ports import CodeFilter, PageRequest, Services

router = web_router()

Search = Annotated[str, Query(max_length=100)]


@router.get("/devices/{device_id}/codes")
def codes_tab(request: Request, svc: Svc, actor: MemberActor, device_id: str) -> Response:
    device = devices.get_device(svc, actor, device_id)
    paired = pairing.codes_of_device(svc, actor, device.id)
    context = device_context(
        svc, actor, device, "codes", codes=paired, department_names=department_names(svc, actor)
    )
    return render(request, "devices/codes.html", context)


def _picker(
    request: Request,
    svc: Services,
    actor: Actor,
    device: Device,
    paging: PageRequest,
    *,
    q: str = "",
    typed: str = "",
    error: DomainError | None = None,
) -> Response:
    """A7 from a device: the unpaired, active codes the member sees, searchable."""
    found = codes.list_codes(svc, actor, CodeFilter(paired=False, active=True, q=q or None), paging)
    context = device_context(
        svc,
        actor,
        device,
        "codes",
        found=found,
        q=q,
        typed=typed,
        paged=paging.after is not None,
        picker_base=with_query(f"/devices/{device.id}/codes/pair", q=q),
        department_names=department_names(svc, actor),
    )
    return tab_page(request, "devices/pair.html", context, error)


@router.get("/devices/{device_id}/codes/pair")
def pair_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor, q: Search = ""
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    return _picker(request, svc, actor, device, paging, q=q.strip())


def _on_token_field(error: DomainError) -> DomainError:
    """A refused pairing, said next to the token field too."""
    if isinstance(error, NotFound):
        return NotFound("No code with that token here.", fields={"code": "no such code here"})
    if error.fields:
        return error
    shorts: dict[type[DomainError], str] = {
        CodeAlreadyPaired: "paired with a device already",
        CodeDeactivated: "deactivated",
    }
    short = shorts.get(type(error), "cannot be paired")
    return type(error)(error.detail, fields={"code": short})


@router.post("/devices/{device_id}/codes/pair")
def pair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Pair the chosen (or typed) unpaired code with this device."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    try:
        if not code.strip():
            raise Invalid("Enter or choose the code to pair.", fields={"code": "required"})
        paired = pairing.pair_code(svc, actor, code.strip(), device.id)
    except (Invalid, Conflict, NotFound) as error:
        shown = _on_token_field(error)
        return _picker(request, svc, actor, device, PageRequest(), typed=code, error=shown)
    return redirect(
        request,
        f"/devices/{device.id}/codes",
        notice=f"Code {paired.token} paired with {device.name}.",
    )


@router.post("/devices/{device_id}/codes/new")
def create_code(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, csrf: CsrfField = ""
) -> Response:
    """A7: a new code, paired with this device at once."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    created = pairing.create_code_for_device(svc, actor, device.id)
    return redirect(
        request,
        f"/devices/{device.id}/codes",
        notice=f"New code {created.token} created and paired with {device.name}.",
    )


def _paired_code(svc: Services, actor: Actor, device: Device, token: str) -> Code:
    code = codes.get_code(svc, actor, token)
    if code.device_id != device.id:
        raise NotFound("That code is not paired with this device.")
    return code


def _unpair_context(svc: Services, actor: Actor, device: Device, code: Code) -> dict[str, Any]:
    return device_context(svc, actor, device, "codes", code=code)


@router.get("/devices/{device_id}/codes/{token}/unpair")
def unpair_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, token: str
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    code = _paired_code(svc, actor, device, token)
    return render(request, "devices/unpair.html", _unpair_context(svc, actor, device, code))


@router.post("/devices/{device_id}/codes/{token}/unpair")
def unpair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    token: str,
    csrf: CsrfField = "",
) -> Response:
    """A9: the link goes; the code and the device stay."""
    device = devices.get_device(svc, actor, device_id)
    code = _paired_code(svc, actor, device, token)
    return confirmed(
        request,
        csrf,
        template="devices/unpair.html",
        context=_unpair_context(svc, actor, device, code),
        action=lambda: pairing.unpair_code(svc, actor, code.token),
        back=f"/devices/{device.id}/codes",
        notice=f"Code {code.token} unpaired. The code and the device are both kept.",
    )
