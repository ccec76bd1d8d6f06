"""The mobile app's code pages (SPEC A6, A7, seed 000 "Starting with the Code"): a scanned
code that is not paired says so, and a member who may pair chooses an existing unpaired
device, or creates a new one from a template and pairs it, then takes its photo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Form, Query, Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.codes import Code
from onboard.domain.devices import Template
from onboard.domain.errors import Conflict, DomainError, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.device_forms import (
    NO_TEMPLATE,
    DeviceFields,
    RawForm,
    attribute_texts,
    attributes_from,
    chosen_template,
    device_form_errors,
)
from onboard.entrypoints.web.forms import CsrfField, Cursor, with_query
from onboard.entrypoints.web.mobile_devices import (
    CHOICES,
    Done,
    Search,
    device_url,
    done_url,
    searched,
)
from onboard.entrypoints.web.pairing import pair_chosen_device, paired_device
from onboard.entrypoints.web.rendering import FormErrors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import codes, devices, pairing, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import DeviceFilter, PageRequest, Services

router = web_router()

DeviceChoice = Annotated[str, Form(alias="device_id", max_length=64)]
TemplateChoice = Annotated[str, Form(alias="template_id", max_length=64)]
TemplateQuery = Annotated[str | None, Query(alias="template", max_length=64)]


def code_page_url(token: str) -> str:
    return f"/m/codes/{token}"


# --- "Code not paired" and the choice ----------------------------------------------------


def _abilities(actor: Actor) -> dict[str, bool]:
    return {
        "can_pair": actor.can(Permission.PAIR),
        "can_create": actor.can(Permission.PAIR) and actor.can(Permission.EDIT_DEVICES),
    }


def _pairable(code: Code) -> bool:
    return code.device_id is None and code.active


@router.get("/m/codes/{token}")
def show(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    """A scanned code: a paired one opens its device; otherwise "Code not paired" with the
    PAIR button (or why it cannot be paired)."""
    code = codes.get_code(svc, actor, token)
    device = paired_device(svc, actor, code)
    if device is not None:
        return redirect(request, device_url(device.id))
    return render(
        request,
        "mobile/code.html",
        {"code": code, "pairable": _pairable(code), "back_url": "/m/scan", **_abilities(actor)},
    )


def _code_to_pair(svc: Services, actor: Actor, token: str, *needs: Permission) -> Code:
    code = codes.get_code(svc, actor, token)
    for permission in (Permission.PAIR, *needs):
        actor.require(permission)
    return code


@router.get("/m/codes/{token}/pair")
def pair_choice(request: Request, svc: Svc, actor: MemberActor, token: str) -> Response:
    """Seed 000: PAIR offers Existing device or New device."""
    code = _code_to_pair(svc, actor, token)
    if not _pairable(code):
        return redirect(request, code_page_url(code.token))
    return render(
        request,
        "mobile/code_pair.html",
        {"code": code, "back_url": code_page_url(code.token), **_abilities(actor)},
    )


# --- an existing device ------------------------------------------------------------------


def _existing_page(
    request: Request,
    svc: Services,
    actor: Actor,
    code: Code,
    paging: PageRequest,
    *,
    q: str | None = None,
    error: DomainError | None = None,
) -> Response:
    found = devices.list_devices(
        svc, actor, DeviceFilter(paired=False, q=q), PageRequest(paging.after, CHOICES)
    )
    return render(
        request,
        "mobile/code_existing.html",
        {
            "code": code,
            "page": found,
            "paged": paging.after is not None,
            "q": q or "",
            "base": with_query(f"{code_page_url(code.token)}/pair/existing", q=q),
            "back_url": f"{code_page_url(code.token)}/pair",
        },
        error=error,
    )


@router.get("/m/codes/{token}/pair/existing")
def existing_form(
    request: Request, svc: Svc, actor: MemberActor, token: str, paging: Cursor, q: Search = None
) -> Response:
    code = _code_to_pair(svc, actor, token)
    if not _pairable(code):
        return redirect(request, code_page_url(code.token))
    return _existing_page(request, svc, actor, code, paging, q=searched(q))


@router.post("/m/codes/{token}/pair/existing")
def pair_existing(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    csrf: CsrfField = "",
    device_id: DeviceChoice = "",
) -> Response:
    """Seed 000: from a code, choose the device from the list."""
    http.check_csrf(request, csrf)
    try:
        paired = pair_chosen_device(svc, actor, token, device_id)
    except (Invalid, Conflict) as error:
        code = codes.get_code(svc, actor, token)
        if not _pairable(code):
            raise
        return _existing_page(request, svc, actor, code, PageRequest(), error=error)
    assert paired.device_id is not None
    return redirect(
        request,
        done_url(paired.device_id, paired.token, Done.PAIRED),
        notice="Code paired with the device.",
    )


# --- a new device from a template --------------------------------------------------------


def _new_device_page(
    request: Request,
    code: Code,
    template: Template | None,
    *,
    fields: DeviceFields | None = None,
    attributes: Mapping[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "mobile/code_new_device.html",
        {
            "code": code,
            "template": template,
            "template_id": template.id if template else NO_TEMPLATE,
            "fields": fields or DeviceFields(),
            "attributes": attributes or {},
            "back_url": f"{code_page_url(code.token)}/pair/new",
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/m/codes/{token}/pair/new")
def new_device_form(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    paging: Cursor,
    template: TemplateQuery = None,
) -> Response:
    """Seed 000 "New device": first the template, then its form."""
    code = _code_to_pair(svc, actor, token, Permission.EDIT_DEVICES)
    if not _pairable(code):
        return redirect(request, code_page_url(code.token))
    if template:
        return _new_device_page(request, code, chosen_template(svc, actor, template))
    found = templates.list_templates(svc, actor, PageRequest(paging.after, CHOICES))
    base = f"{code_page_url(code.token)}/pair/new"
    return render(
        request,
        "mobile/code_templates.html",
        {
            "code": code,
            "page": found,
            "paged": paging.after is not None,
            "base": base,
            "no_template": NO_TEMPLATE,
            "back_url": f"{code_page_url(code.token)}/pair",
        },
    )


@router.post("/m/codes/{token}/pair/new")
def create_and_pair(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    token: str,
    form: RawForm,
    csrf: CsrfField = "",
    template_id: TemplateChoice = NO_TEMPLATE,
) -> Response:
    """A7: create the device (from the template) and pair the code with it, in one
    transaction; then the installation photo."""
    http.check_csrf(request, csrf)
    template = chosen_template(svc, actor, template_id)
    fields = DeviceFields.read(form)
    try:
        given = DeviceInput(
            name=fields.name,
            serial=fields.serial or None,
            template_id=template.id if template else None,
            attributes=attributes_from(template, form),
            location=fields.location_of(),
        )
        paired, device = pairing.pair_with_new_device(svc, actor, token, given)
    except (Invalid, Conflict) as error:
        code = codes.get_code(svc, actor, token)
        return _new_device_page(
            request,
            code,
            template,
            fields=fields,
            attributes=attribute_texts(template, form),
            errors=device_form_errors(error),
            status=status_of(error),
        )
    return redirect(
        request,
        with_query(f"{device_url(device.id)}/photo", code=paired.token),
        notice=f"{device.name} created and paired with the code.",
    )
