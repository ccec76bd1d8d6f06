"""QR onboarding pages (SPEC D5): the page an onboarding label's QR opens, where a member
onboards the device into their organization with a name and location (then its page in
the mobile app, where the photo is taken), and a group's batches of onboarding labels in
the back office: a new batch, each batch's progress and its labels as a PDF."""

from __future__ import annotations

from typing import Annotated, BinaryIO
from urllib.parse import urlencode

from fastapi import Form, Request, Response
from fastapi.responses import StreamingResponse

from onboard.adapters.labels.sheets import STOCKS, StockName, sheet_pdf
from onboard.domain.access import Actor, ActorKind, Permission
from onboard.domain.errors import (
    AlreadyOnboarded,
    ClaimNotAllowed,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    NotRegistered,
    RegistrationDisabled,
)
from onboard.entrypoints import http
from onboard.entrypoints.labels import LabelOptions, streamed
from onboard.entrypoints.web.forms import CsrfField, Text
from onboard.entrypoints.web.mobile_devices import device_url
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Redirect, Svc
from onboard.services import organizations
from onboard.services.ports import Services
from onboard.services.provisioning import groups, onboarding
from onboard.services.provisioning.onboarding import OnboardingLink, OnboardingPrint

router = web_router()

# Refusals the onboarding page explains in place; the rest (an unknown label, too many
# wrong ones) get the error page.
_REFUSALS = (ClaimNotAllowed, AlreadyOnboarded, NotRegistered, RegistrationDisabled)
Choice = Annotated[str, Form(max_length=40)]


# --- the page a label opens ---------------------------------------------------------------


def _link(group_id: str, rest: str) -> OnboardingLink:
    link = onboarding.link_from_path(group_id, rest)
    if link is None:
        raise NotFound("There is no onboarding label at this address.")
    return link


def _member(request: Request, link: OnboardingLink) -> Actor:
    """The member working in an organization; others sign in (in the mobile app) or pick
    their organization first, and come back to this label."""
    found = http.session_of(request)
    back = urlencode({"next": link.path}, safe="/")
    if found is None:
        raise Redirect(f"/m/login?{back}")
    actor = found[1]
    if actor is None:
        raise Redirect(f"/choose?{back}")
    if actor.kind is not ActorKind.MEMBER:
        raise Forbidden("Devices are onboarded by members of an organization; sign in as one.")
    return actor


def _claim_page(
    request: Request,
    actor: Actor,
    link: OnboardingLink,
    *,
    organization: str = "",
    name: str = "",
    location: str = "",
    refusal: DomainError | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "onboarding/claim.html",
        {
            "link": link,
            "organization": organization,
            "name": name,
            "location": location,
            "refusal": refusal,
            "can_claim": actor.can(Permission.EDIT_DEVICES),
            "back_url": "/m",
        },
        errors=errors or FormErrors(),
        status=status or (http.status_of(refusal) if refusal is not None else None),
    )


@router.get("/o/{group_id}/{rest:path}")
@router.get("/O/{group_id}/{rest:path}")
def claim_form(request: Request, svc: Svc, group_id: str, rest: str) -> Response:
    """D5: what scanning an onboarding label opens: "Onboard this device into ORG", with
    its name and location; the device's page when the organization has it already."""
    link = _link(group_id, rest)
    actor = _member(request, link)
    try:
        offer = onboarding.claim_offer(svc, actor, link.group_id, link.serial, link.code)
    except _REFUSALS as refusal:
        return _claim_page(request, actor, link, refusal=refusal)
    if offer.device is not None:
        return redirect(
            request,
            device_url(offer.device.id),
            notice=f"{offer.device.name} is onboarded into {offer.organization} already.",
        )
    return _claim_page(request, actor, link, organization=offer.organization)


@router.post("/o/{group_id}/{rest:path}")
@router.post("/O/{group_id}/{rest:path}")
def claim(
    request: Request,
    svc: Svc,
    group_id: str,
    rest: str,
    csrf: CsrfField = "",
    name: Text = "",
    location: Text = "",
) -> Response:
    """D5: onboard the device, then go to its page in the mobile app, where its photo can
    be taken now or later."""
    link = _link(group_id, rest)
    actor = _member(request, link)
    http.check_csrf(request, csrf)
    try:
        device = onboarding.claim_device(
            svc, actor, link.group_id, link.serial, link.code, name, location
        )
    except _REFUSALS as refusal:
        return _claim_page(request, actor, link, refusal=refusal)
    except (Invalid, Conflict) as error:
        organization = organizations.get_organization(svc, actor).name
        return _claim_page(
            request, actor, link, organization=organization, name=name,
            location=location, errors=form_errors(error, fields={"location.text": "location"}),
            status=http.status_of(error),
        )  # fmt: skip
    return redirect(
        request,
        device_url(device.id),
        notice=f"{device.name} is onboarded. Add a photo of it as installed, now or later.",
    )


# --- a group's batches in the back office -------------------------------------------------


def _batches_path(group: str) -> str:
    return f"/provisioning/{group}/batches"


def _batches_page(
    request: Request,
    svc: Services,
    actor: Actor,
    group_ref: str,
    *,
    count: str = "",
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    group = groups.find_group_now(svc, actor, group_ref)
    return render(
        request,
        "onboarding/batches.html",
        {
            "area": "provisioning",
            "group": group,
            "batches": onboarding.batch_progress(svc, actor, group.id),
            "can_manage": actor.can(Permission.MANAGE_PROVISIONING),
            "count": count,
            "max_batch": onboarding.MAX_BATCH,
            "stocks": list(STOCKS.values()),
            "default_stock": StockName.A4_24.value,
            "path": _batches_path(group.group_id),
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/provisioning/{group_ref}/batches")
def batches(request: Request, svc: Svc, actor: MemberActor, group_ref: str) -> Response:
    """D5: the group's batches of onboarding labels, newest first, each with its labels
    printed, devices onboarded and activated; a new batch and each batch's labels for
    members who manage provisioning."""
    return _batches_page(request, svc, actor, group_ref)


def _count(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise Invalid(
            "Give how many labels the batch has, as a whole number.",
            fields={"count": "a whole number"},
        ) from None


@router.post("/provisioning/{group_ref}/batches")
def create_batch(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, csrf: CsrfField = "",
    count: Text = "",
) -> Response:  # fmt: skip
    """D5: the group's next serials without a label in a new numbered batch."""
    http.check_csrf(request, csrf)
    try:
        made = onboarding.create_onboarding_batch(svc, actor, group_ref, _count(count))
    except Invalid as error:
        return _batches_page(
            request, svc, actor, group_ref, count=count, errors=form_errors(error),
            status=http.status_of(error),
        )  # fmt: skip
    found = groups.find_group_now(svc, actor, made.group_ref)
    plural = "" if made.size == 1 else "s"
    return redirect(
        request,
        _batches_path(found.group_id),
        notice=f"Batch {made.number} made: {made.size:,} label{plural} to print.",
    )


def write_labels(run: OnboardingPrint, layout: StockName, out: BinaryIO) -> int:
    """The batch's labels as a PDF on the stock ``layout`` into ``out``."""
    options = LabelOptions(layout, instruction=onboarding.INSTRUCTION)
    labels = (options.label(text) for text in run.labels())
    return sheet_pdf(labels, options.stock, out, error=options.error)


@router.post("/provisioning/{group_ref}/batches/{number}/labels")
def labels(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    group_ref: str,
    number: int,
    csrf: CsrfField = "",
    layout: Choice = StockName.A4_24.value,
) -> Response:
    """D5: a batch's labels as a PDF on label stock, drawn while it downloads."""
    http.check_csrf(request, csrf)
    try:
        stock = StockName(layout.strip())
    except ValueError:
        error = Invalid("Choose one of the label stocks.", fields={"layout": "unknown stock"})
        return _batches_page(request, svc, actor, group_ref, errors=form_errors(error), status=422)
    run = onboarding.batch_labels(svc, actor, group_ref, number)
    filename = f"onboarding-{run.group.group_id}-batch-{run.batch.number}-{stock.value}.pdf"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "Cache-Control": "no-store",
    }
    body = streamed(lambda out: write_labels(run, stock, out))
    return StreamingResponse(body, media_type="application/pdf", headers=headers)
