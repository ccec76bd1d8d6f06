"""Back-office pages of licensed devices (SPEC B5, B8): a product's paired devices with
their configuration and last check-in, and changing the configuration of the devices
ticked there or of one device from its page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response

from onboard.domain.access import Actor
from onboard.domain.errors import Invalid, NotFound
from onboard.entrypoints import http
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor
from onboard.entrypoints.web.products import product_context, product_path
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import licensing, licensing_overview
from onboard.services.ports import PageRequest, Services

router = web_router()

Picked = Annotated[str, Form(max_length=64)]
# The configurations a device may be given are listed in its form; a product with more
# than this many shows the newest.
CONFIGURATIONS_OFFERED = 200


def _offered(svc: Services, actor: Actor, product_id: str) -> list[tuple[str, str]]:
    page = licensing.list_configurations(
        svc, actor, PageRequest(limit=CONFIGURATIONS_OFFERED), product_id=product_id
    )
    return [(c.id, c.name) for c in page.items]


def _devices(
    request: Request,
    svc: Services,
    actor: Actor,
    product_id: str,
    paging: PageRequest,
    *,
    ticked: tuple[str, ...] = (),
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    overview = licensing_overview.product_overview(svc, actor, product_id)
    page = licensing_overview.list_licensed_devices(svc, actor, paging, product_id=product_id)
    context = product_context(svc, actor, overview, "devices")
    context.update(
        {
            "devices": page,
            "configurations": _offered(svc, actor, product_id),
            "ticked": ticked,
            "list_url": f"{product_path(product_id)}/devices",
            "paged": paging.after is not None,
        }
    )
    return render(
        request, "products/devices.html", context, errors=errors or FormErrors(), status=status
    )


@router.get("/products/{product_id}/devices")
def list_(
    request: Request, svc: Svc, actor: MemberActor, product_id: str, paging: Cursor
) -> Response:
    """The product's paired devices you see, newest first: their configuration, when they
    last checked in and what they reported of themselves."""
    return _devices(request, svc, actor, product_id, paging)


def _assign(svc: Services, actor: Actor, configuration_id: str, device_ids: list[str]) -> int:
    if not configuration_id:
        raise Invalid("Choose a configuration.", fields={"configuration": "choose one"})
    if not device_ids:
        raise Invalid("Tick the devices to change.", fields={"devices": "tick at least one"})
    return licensing.assign_configuration(svc, actor, configuration_id, device_ids)


def _changed(count: int, asked: int) -> str:
    same = asked - count
    said = f"{count:,} device{'' if count == 1 else 's'} will get the configuration at "
    said += "their next check-in." if count != 1 else "its next check-in."
    if same:
        said += f" {same:,} had it already."
    return said


@router.post("/products/{product_id}/devices/configuration")
def change_many(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    product_id: str,
    csrf: CsrfField = "",
    configuration: Picked = "",
    devices: Choices = None,
) -> Response:
    """B8: give the ticked devices one configuration, all or none."""
    http.check_csrf(request, csrf)
    ticked = [d for d in devices or [] if d]
    try:
        changed = _assign(svc, actor, configuration, ticked)
    except (Invalid, NotFound) as refused:
        return _devices(
            request,
            svc,
            actor,
            product_id,
            PageRequest(),
            ticked=tuple(ticked),
            errors=form_errors(refused, fields={"device_ids": "devices"}),
            status=422 if isinstance(refused, Invalid) else 404,
        )
    return redirect(
        request,
        f"{product_path(product_id)}/devices",
        notice=_changed(changed, len(set(ticked))),
    )


@router.post("/devices/{device_id}/configuration")
def change_one(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    configuration: Picked = "",
) -> Response:
    """B8: give one device another configuration, from its page."""
    http.check_csrf(request, csrf)
    _assign(svc, actor, configuration, [device_id])
    return redirect(
        request,
        f"/devices/{device_id}",
        notice="The device gets the configuration at its next check-in.",
    )


def licensed_card(svc: Services, actor: Actor, device_id: str) -> dict[str, object]:
    """What a device's overview shows when it runs a licensed client (B5, B8)."""
    found = licensing_overview.licensed_device(svc, actor, device_id)
    if found is None:
        return {"licensed": None}
    product = licensing.get_product(svc, actor, found.client.product_id)
    return {
        "licensed": found,
        "licensed_product": product,
        "licensed_configurations": _offered(svc, actor, product.id),
    }
