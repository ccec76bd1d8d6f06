"""GS1 Digital Link paths on the public site, /01/{gtin}/21/{serial}: the manufacturer's
own label works as a code (SPEC A14), leading into the code page's flow (A12)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from onboard.domain.access import Permission
from onboard.domain.devices import Device
from onboard.domain.errors import DomainError
from onboard.entrypoints import http
from onboard.entrypoints.web.forms import CsrfField
from onboard.entrypoints.web.layout import member_of
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices, dynamic_codes
from onboard.services.ports import Services

router = web_router()


def _payload(svc: Services, request: Request) -> str:
    """The label's payload as our server sees it: the public URL and the path (a code
    created here is bound to it)."""
    return svc.public_url.rstrip("/") + request.url.path


def _page(request: Request, svc: Services, gtin: str, serial: str) -> Response:
    """The one registered device with this GTIN and serial, of any organization: its code
    page (303, so PIN and notifications apply); with no code, "Code not paired" and, to a
    member who sees it and may pair, the offer of a code paired with it; otherwise the
    not-found page. Nothing tells one organization's devices from another's."""
    link = dynamic_codes.resolve_digital_link(svc, gtin, serial, payload=_payload(svc, request))
    if link is None:
        missing = {"member": member_of(request), "sign_in_url": "/m/login", "raw": gtin[:20]}
        return render(request, "codepage/not_found.html", missing, status=404)
    if link.token is not None:
        return redirect(request, f"/c/{link.token}")
    member = member_of(request)
    device: Device | None = None
    if member is not None:
        try:
            device = devices.get_device(svc, member, link.device_id)
        except DomainError:
            device = None
    path = request.url.path
    context: dict[str, Any] = {
        "member": member,
        "device": device,
        "can_pair": member is not None and member.can(Permission.PAIR),
        "link_path": path,
        "sign_in_url": f"/m/login?{urlencode({'next': path}, safe='/')}",
    }
    return render(request, "codepage/link_unpaired.html", context)


@router.get("/01/{gtin}/21/{serial}")
def show(request: Request, svc: Svc, gtin: str, serial: str) -> Response:
    return _page(request, svc, gtin, serial)


@router.get("/01/{gtin}/21/{serial}/{rest:path}")
def show_qualified(request: Request, svc: Svc, gtin: str, serial: str, rest: str) -> Response:
    """Further key qualifiers and attributes (``/10/LOT``, a query) do not change which
    device the path names."""
    return _page(request, svc, gtin, serial)


def _create(
    request: Request, svc: Services, actor: MemberActor, gtin: str, serial: str, csrf: str
) -> Response:
    http.check_csrf(request, csrf)
    code = dynamic_codes.code_for_digital_link(
        svc, actor, gtin, serial, payload=_payload(svc, request)
    )
    return redirect(request, f"/c/{code.token}", notice="Code created and paired with the device.")


@router.post("/01/{gtin}/21/{serial}")
def create_code(
    request: Request, svc: Svc, actor: MemberActor, gtin: str, serial: str, csrf: CsrfField = ""
) -> Response:
    """A7: a code bound to this label, paired at once with the device it names."""
    return _create(request, svc, actor, gtin, serial, csrf)


@router.post("/01/{gtin}/21/{serial}/{rest:path}")
def create_code_qualified(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    gtin: str,
    serial: str,
    rest: str,
    csrf: CsrfField = "",
) -> Response:
    return _create(request, svc, actor, gtin, serial, csrf)
