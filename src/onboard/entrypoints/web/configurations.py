"""Back-office pages of configurations (SPEC B8): a product's configurations, newest first,
with how many devices use each; making one from a JSON document; and one configuration
with its content and the devices that use it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response

from onboard.domain.access import Actor
from onboard.domain.errors import Invalid
from onboard.entrypoints import http
from onboard.entrypoints.web.forms import CsrfField, Cursor, Text
from onboard.entrypoints.web.products import product_context, product_path
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import licensing, licensing_overview
from onboard.services.ports import PageRequest, Services

router = web_router()

EXAMPLE = '{\n  "upload_interval_s": 300,\n  "server": "https://collect.example.com"\n}'


def _refuse_constant(name: str) -> Any:
    raise Invalid(
        f"{name} is not a JSON number; write a finite number.",
        fields={"body": "finite numbers only"},
    )


def read_document(text: str) -> Any:
    """The JSON document typed into the form, or the place where it stops being JSON."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise Invalid(
            f"This is not JSON: {error.msg} at line {error.lineno}, column {error.colno}.",
            fields={"body": f"Not JSON: line {error.lineno}, column {error.colno}"},
        ) from None


def _configurations(
    request: Request,
    svc: Services,
    actor: Actor,
    product_id: str,
    paging: PageRequest,
    *,
    draft: tuple[str, str] = ("", EXAMPLE),
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    overview = licensing_overview.product_overview(svc, actor, product_id)
    page = licensing.list_configurations(svc, actor, paging, product_id=product_id)
    context = product_context(svc, actor, overview, "configurations")
    context.update(
        {
            "configurations": page,
            "usage": licensing_overview.configuration_usage(svc, actor, [c.id for c in page.items]),
            "newest_id": page.items[0].id if page.items and paging.after is None else None,
            "list_url": f"{product_path(product_id)}/configurations",
            "paged": paging.after is not None,
            "draft": draft,
        }
    )
    return render(
        request,
        "configurations/list.html",
        context,
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/products/{product_id}/configurations")
def list_(
    request: Request, svc: Svc, actor: MemberActor, product_id: str, paging: Cursor
) -> Response:
    """B8: the product's configurations, newest first; the newest is what devices paired
    from now on get."""
    return _configurations(request, svc, actor, product_id, paging)


@router.post("/products/{product_id}/configurations")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    product_id: str,
    csrf: CsrfField = "",
    name: Text = "",
    body: Text = "",
) -> Response:
    """B8: a new configuration, immutable once made; devices paired before keep theirs
    until it is changed for them."""
    http.check_csrf(request, csrf)
    try:
        made = licensing.create_configuration(
            svc, actor, product_id, name=name, body=read_document(body)
        )
    except Invalid as refused:
        return _configurations(
            request,
            svc,
            actor,
            product_id,
            PageRequest(),
            draft=(name, body),
            errors=form_errors(refused),
            status=422,
        )
    return redirect(
        request,
        f"/configurations/{made.id}",
        notice=f"Configuration {made.name} created: devices paired from now on get it.",
    )


@router.get("/configurations/{configuration_id}")
def detail(
    request: Request, svc: Svc, actor: MemberActor, configuration_id: str, paging: Cursor
) -> Response:
    """One configuration: its content, its ETag and the devices that use it."""
    configuration = licensing.get_configuration(svc, actor, configuration_id)
    overview = licensing_overview.product_overview(svc, actor, configuration.product_id)
    devices = licensing_overview.list_licensed_devices(
        svc, actor, paging, configuration_id=configuration.id
    )
    context = product_context(svc, actor, overview, "configurations")
    context.update(
        {
            "configuration": configuration,
            "document": json.dumps(configuration.body, indent=2, ensure_ascii=False),
            "devices": devices,
            "list_url": f"/configurations/{configuration.id}",
            "paged": paging.after is not None,
        }
    )
    return render(request, "configurations/detail.html", context)
