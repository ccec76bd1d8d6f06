"""The customer portal: a customer user sees their customer's devices, each with its public
attributes, documents and installation photo, and never a code (SPEC P6, A15)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.domain.access import Actor
from onboard.domain.documents import EXTENSIONS
from onboard.entrypoints.api.files import file_response, photo_name
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
        {**_shell(svc, actor), "page": page, "paged": paging.after is not None},
    )


@router.get("/portal/devices/{device_id}")
def device(request: Request, svc: Svc, actor: CustomerUserActor, device_id: str) -> Response:
    shown = portal.customer_device(svc, actor, device_id)
    return render(
        request,
        "portal/device.html",
        {**_shell(svc, actor), "device": shown, "extensions": EXTENSIONS},
    )


@router.get("/portal/devices/{device_id}/photo")
def photo(request: Request, svc: Svc, actor: CustomerUserActor, device_id: str) -> Response:
    stored = portal.customer_device_photo(svc, actor, device_id)
    return file_response(stored, filename=photo_name(stored.content_type))


@router.get("/portal/devices/{device_id}/documents/{document_id}")
def document(
    request: Request, svc: Svc, actor: CustomerUserActor, device_id: str, document_id: str
) -> Response:
    shown, stored = portal.customer_device_document(svc, actor, device_id, document_id)
    return file_response(stored, filename=shown.file_name)
