"""The customer portal: a customer user sees their customer's devices, and nothing else
(SPEC P6, A15)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.domain.access import Actor
from onboard.entrypoints.web.forms import Cursor
from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import CustomerUserActor, Svc
from onboard.services import customers, portal
from onboard.services.ports import Services

router = web_router()


def _shell(svc: Services, actor: Actor) -> dict[str, str]:
    customer, organization = customers.own_customer(svc, actor)
    return {"customer": customer.name, "organization": organization, "email": actor.label}


@router.get("/portal")
def home(request: Request, svc: Svc, actor: CustomerUserActor, paging: Cursor) -> Response:
    page = portal.customer_devices(svc, actor, paging)
    return render(
        request,
        "portal/home.html",
        {**_shell(svc, actor), "devices": page.items, "next_after": page.next_after},
    )


@router.get("/portal/devices/{device_id}")
def device(request: Request, svc: Svc, actor: CustomerUserActor, device_id: str) -> Response:
    return render(
        request,
        "portal/device.html",
        {**_shell(svc, actor), "device": portal.customer_device(svc, actor, device_id)},
    )
