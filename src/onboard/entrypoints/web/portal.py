"""The customer portal: a customer user sees their customer's devices, and nothing else
(SPEC P6)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import CustomerUserActor, Svc
from onboard.services import customers

router = web_router()


@router.get("/portal")
def home(request: Request, svc: Svc, actor: CustomerUserActor) -> Response:
    customer, organization = customers.own_customer(svc, actor)
    return render(
        request,
        "portal/home.html",
        {
            "customer": customer.name,
            "organization": organization,
            "email": actor.label,
            "devices": [],
        },
    )
