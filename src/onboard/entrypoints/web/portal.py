"""The customer portal: a customer user sees their customer's devices, and nothing else
(SPEC P6)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import CustomerUserActor, SignedIn, Svc
from onboard.services import auth

router = web_router()


@router.get("/portal")
def home(request: Request, svc: Svc, session: SignedIn, actor: CustomerUserActor) -> Response:
    # The work context is the one place a customer user may read their customer's name.
    context = next(
        (c for c in auth.work_contexts(svc, session) if c.id == session.customer_user_id), None
    )
    customer = context.label.removeprefix("customer ") if context else ""
    organization = context.organization_name if context else ""
    return render(
        request,
        "portal/home.html",
        {
            "customer": customer,
            "organization": organization,
            "email": actor.label,
            "devices": [],
        },
    )
