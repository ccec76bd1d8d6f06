"""Replacing a device's hardware from its overview's "Provisioning" card (SPEC D7): the
confirmation step, then the replacement; a refusal shows at the card's form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from onboard.domain.access import Actor
from onboard.domain.errors import Conflict, Forbidden, Invalid, NotFound
from onboard.entrypoints import http
from onboard.entrypoints.web.device_overview import overview_page
from onboard.entrypoints.web.device_provisioning import Replacing
from onboard.entrypoints.web.forms import CsrfField, Text
from onboard.entrypoints.web.rendering import redirect
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices
from onboard.services.ports import Services
from onboard.services.provisioning.replacement import REPLACERS, replace_device

router = web_router()

QueryText = Annotated[str, Query(max_length=1000)]

# What replacing hardware may refuse, shown at the form: a serial not registered or
# disabled (403), one with a twin already (409), one that is not a serial or the same
# (422), a group not found (404).
REFUSED = (Invalid, Forbidden, Conflict, NotFound)


def _overview(
    request: Request, svc: Services, actor: Actor, device_id: str, replacing: Replacing
) -> Response:
    return overview_page(request, svc, actor, device_id, replacing=replacing)


@router.get("/devices/{device_id}/replace")
def confirm_replacement(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, serial: QueryText = "",
    group: QueryText = "",
) -> Response:  # fmt: skip
    """D7: the confirmation step of "Replace hardware", on the device's overview."""
    device = devices.get_device(svc, actor, device_id)
    actor.require_any(*REPLACERS)
    if not serial.strip():
        error = Invalid("Give the new hardware's serial.", fields={"serial": "required"})
        return _overview(request, svc, actor, device.id, Replacing(serial, group, error=error))
    return _overview(
        request, svc, actor, device.id, Replacing(serial.strip(), group.strip(), confirming=True)
    )


@router.post("/devices/{device_id}/replace")
def replace(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    serial: Text = "",
    group: Text = "",
) -> Response:
    """D7, after confirmation: the twin is now the hardware with the new serial, which
    activates into it; the old serial's credential stops at once."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    actor.require_any(*REPLACERS)
    try:
        replaced = replace_device(svc, actor, device.id, serial=serial, group=group.strip() or None)
    except REFUSED as error:
        return _overview(request, svc, actor, device.id, Replacing(serial, group, error=error))
    return redirect(
        request,
        f"/devices/{device.id}",
        notice=f"Now serial {replaced.serial}: activate the new hardware.",
    )
