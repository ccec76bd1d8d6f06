"""Back-office pages of devices (digital twins): the filtered list and creating one from a
template, pairing it with a code on the way (SPEC A3, A4, A7, A16). A device's own pages
are in device_overview, device_codes and device_tabs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.codes import Code
from onboard.domain.devices import Template
from onboard.domain.errors import DomainError
from onboard.entrypoints import http
from onboard.entrypoints.web import device_codes, device_overview, device_tabs
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.device_forms import (
    FORM_ERRORS,
    NO_TEMPLATE,
    DeviceFields,
    RawForm,
    attribute_texts,
    attributes_from,
    chosen_in,
    chosen_template,
    departments_from,
    device_form_errors,
)
from onboard.entrypoints.web.device_views import (
    STATUS_LABELS,
    all_customers,
    all_templates,
    options,
)
from onboard.entrypoints.web.forms import CsrfField, Cursor, Text, with_query
from onboard.entrypoints.web.rendering import FormErrors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import codes, devices, pairing
from onboard.services.devices import DeviceInput
from onboard.services.ports import DeviceFilter, Services

router = web_router()

Filter = Annotated[str, Query(max_length=200)]
PAIRED_CHOICES = {"paired": True, "unpaired": False}


# --- the list (A16) ------------------------------------------------------------------------


@router.get("/devices")
def list_(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    paging: Cursor,
    paired: Filter = "",
    department: Filter = "",
    template: Filter = "",
    customer: Filter = "",
    status: Filter = "",
    q: Filter = "",
) -> Response:
    """Devices the member sees, narrowed by the filters (a plain GET form), paged by
    cursor with the filters kept."""
    given = {
        "paired": paired if paired in PAIRED_CHOICES else "",
        "department": department.strip(),
        "template": template.strip(),
        "customer": customer.strip(),
        "status": status if status in STATUS_LABELS else "",
        "q": q.strip(),
    }
    filters = DeviceFilter(
        paired=PAIRED_CHOICES.get(given["paired"]),
        department=given["department"] or None,
        template=given["template"] or None,
        customer=given["customer"] or None,
        status=given["status"] or None,
        q=given["q"] or None,
    )
    page = devices.list_devices(svc, actor, filters, paging)
    known_departments = all_departments(svc, actor)
    known_templates = all_templates(svc, actor)
    known_customers = all_customers(svc, actor)
    used = {k: v for k, v in given.items() if v}
    return render(
        request,
        "devices/list.html",
        {
            "area": "devices",
            "page": page,
            "paged": paging.after is not None,
            "filters": given,
            "filtered": bool(used),
            "base": with_query("/devices", **used),
            "codes_by_device": pairing.codes_of_devices(svc, actor, page.items),
            "department_options": options(known_departments),
            "department_names": dict(options(known_departments)),
            "template_options": options(known_templates),
            "template_names": dict(options(known_templates)),
            "customer_options": options(known_customers),
            "customer_names": dict(options(known_customers)),
            "status_labels": STATUS_LABELS,
            "can_create": actor.can(Permission.EDIT_DEVICES),
        },
    )


# --- creating a device (A4, A7) ------------------------------------------------------------


def _pair_code(svc: Services, actor: Actor, token: str) -> Code | None:
    """The code a new device is to be paired with (from the code's page), if any."""
    return codes.get_code(svc, actor, token) if token else None


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    *,
    template: Template | None,
    choosing: bool,
    pair_code: str = "",
    fields: DeviceFields | None = None,
    attributes: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    error: DomainError | None = None,
) -> Response:
    known = all_departments(svc, actor)
    visible = {d.id for d in known}
    if chosen is None:
        # A4: the template's departments, as far as the member sees them, are the default.
        chosen = sorted(template.departments & visible) if template is not None else []
    code = _pair_code(svc, actor, pair_code)
    return render(
        request,
        "devices/new.html",
        {
            "area": "devices",
            "choosing": choosing,
            "template_options": options(all_templates(svc, actor)),
            "no_template": NO_TEMPLATE,
            "template": template,
            "template_value": template.id if template is not None else NO_TEMPLATE,
            "fields": fields or DeviceFields(),
            "attributes": attributes or {},
            "departments": known,
            "chosen": chosen,
            "customer_options": options(all_customers(svc, actor)),
            "pair_code": code.token if code is not None else "",
            "pair_code_taken": code is not None and code.device_id is not None,
            "restricted": actor.scope is not None and actor.scope.restricted,
        },
        errors=device_form_errors(error) if error is not None else FormErrors(),
        status=http.status_of(error) if error is not None else None,
    )


@router.get("/devices/new")
def new_form(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    template: Annotated[str | None, Query(max_length=64)] = None,
    pair_code: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Two steps that work without JavaScript: choose a template (or none), then the form
    with that template's fields (``?template=ID``)."""
    actor.require(Permission.EDIT_DEVICES)
    choosing = template is None and bool(all_templates(svc, actor))
    chosen = None if choosing else chosen_template(svc, actor, template)
    return _new_form(
        request, svc, actor, template=chosen, choosing=choosing, pair_code=pair_code.strip()
    )


@router.post("/devices/new")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    form: RawForm,
    csrf: CsrfField = "",
    template: Text = "",
    pair_code: Text = "",
) -> Response:
    """Create the device; with ``pair_code``, create it and pair that code with it in one
    transaction (A7, from a code)."""
    http.check_csrf(request, csrf)
    template_chosen = chosen_template(svc, actor, template)
    fields = DeviceFields.read(form)
    pair_code = pair_code.strip()
    try:
        given = DeviceInput(
            name=fields.name,
            serial=fields.serial or None,
            gtin=fields.gtin or None,
            template_id=template_chosen.id if template_chosen is not None else None,
            attributes=attributes_from(template_chosen, form),
            departments=departments_from(form),
            customer_id=fields.customer or None,
            location=fields.location_of(),
        )
        if pair_code:
            paired, device = pairing.pair_with_new_device(svc, actor, pair_code, given)
        else:
            device = devices.create_device(svc, actor, given)
    except FORM_ERRORS as error:
        return _new_form(
            request,
            svc,
            actor,
            template=template_chosen,
            choosing=False,
            pair_code=pair_code,
            fields=fields,
            attributes=attribute_texts(template_chosen, form),
            chosen=chosen_in(form),
            error=error,
        )
    if pair_code:
        return redirect(
            request,
            f"/devices/{device.id}/codes",
            notice=f"Device {device.name} created and paired with code {paired.token}.",
        )
    return redirect(request, f"/devices/{device.id}", notice=f"Device {device.name} created.")


# The device's own pages come after /devices/new, which their /devices/{device_id} would
# otherwise take.
for pages in (device_overview, device_codes, device_tabs):
    router.include_router(pages.router)
