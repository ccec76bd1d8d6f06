"""Back-office pages of products and their licenses (SPEC B1-B4, B9): the products with
their licenses counted, granting licenses, each license free or the device it serves,
"Assign device" with a single-use QR that counts down and is replaced when it expires,
and reusable pairing codes shown once with a warning that they are secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from onboard.adapters.qr import qr_svg
from onboard.domain.access import Actor, Permission
from onboard.domain.errors import DepartmentForbidden, Invalid, LicenseNotFree, NameTaken
from onboard.domain.licensing import (
    DEFAULT_TTL_SECONDS,
    DEFAULT_VALID_DAYS,
    MAX_LICENSES_AT_ONCE,
    MAX_USES,
    MAX_VALID_DAYS,
    LicenseStatus,
)
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import (
    Choices,
    CsrfField,
    Cursor,
    Text,
    parse_time,
    with_query,
)
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import licensing, licensing_overview
from onboard.services.licensing import IssuedCode
from onboard.services.licensing_overview import ProductOverview
from onboard.services.ports import PageRequest, Services

router = web_router()

# How many times the "Assign device" page replaces an expired code by itself before it
# asks whether anyone is still there: each code is a reservation and an audit entry.
AUTOMATIC_REPLACEMENTS = 10


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    suffix: str
    permission: Permission = Permission.READ


TABS = (
    Tab("licenses", "Licenses", ""),
    Tab("devices", "Devices", "/devices"),
    Tab("configurations", "Configurations", "/configurations"),
    Tab("codes", "Pairing codes", "/codes", Permission.MANAGE_LICENSING),
)


def product_path(product_id: str) -> str:
    return f"/products/{product_id}"


def product_context(
    svc: Services, actor: Actor, overview: ProductOverview, tab: str
) -> dict[str, Any]:
    """What every tab of a product's page shows: its name, its licenses counted and the
    tabs the member may open."""
    return {
        "area": "licenses",
        "product": overview.product,
        "tally": overview.licenses,
        "tabs": [t for t in TABS if actor.can(t.permission)],
        "tab": tab,
        "base": product_path(overview.product.id),
        "can_manage": actor.can(Permission.MANAGE_LICENSING),
        "can_grant": actor.can(Permission.GRANT_LICENSES),
    }


# --- products -----------------------------------------------------------------------------


def _products(
    request: Request,
    svc: Services,
    actor: Actor,
    paging: PageRequest,
    *,
    name: str = "",
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "products/list.html",
        {
            "area": "licenses",
            "page": licensing_overview.list_product_overviews(svc, actor, paging),
            "paged": paging.after is not None,
            "can_manage": actor.can(Permission.MANAGE_LICENSING),
            "name": name,
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/products")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    """The client applications the organization licenses (B1), each with its licenses
    counted: free, serving a device, expired."""
    return _products(request, svc, actor, paging)


@router.post("/products")
def create(
    request: Request, svc: Svc, actor: MemberActor, csrf: CsrfField = "", name: Text = ""
) -> Response:
    http.check_csrf(request, csrf)
    try:
        product = licensing.create_product(svc, actor, name=name)
    except (Invalid, NameTaken) as refused:
        return _products(
            request,
            svc,
            actor,
            PageRequest(),
            name=name,
            errors=form_errors(refused),
            status=status_of(refused),
        )
    return redirect(request, product_path(product.id), notice=f"Product {product.name} created.")


# --- licenses (B2) ------------------------------------------------------------------------

STATUS_FILTERS = (("", "All"), ("free", "Free"), ("assigned", "Serving a device"))


def _licenses(
    request: Request,
    svc: Services,
    actor: Actor,
    product_id: str,
    paging: PageRequest,
    *,
    status: str = "",
    grant: tuple[str, str] = ("", ""),
    errors: FormErrors | None = None,
    code: int | None = None,
) -> Response:
    overview = licensing_overview.product_overview(svc, actor, product_id)
    wanted = LicenseStatus(status) if status in ("free", "assigned") else None
    rows = licensing_overview.license_rows(svc, actor, paging, product_id=product_id, status=wanted)
    context = product_context(svc, actor, overview, "licenses")
    context.update(
        {
            "rows": rows,
            "status": wanted.value if wanted else "",
            "filters": STATUS_FILTERS,
            "list_url": with_query(product_path(product_id), status=wanted and wanted.value),
            "paged": paging.after is not None,
            "grant": grant,
            "max_licenses": MAX_LICENSES_AT_ONCE,
        }
    )
    return render(
        request, "products/licenses.html", context, errors=errors or FormErrors(), status=code
    )


@router.get("/products/{product_id}")
def licenses(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    product_id: str,
    paging: Cursor,
    status: str = "",
) -> Response:
    """A product's licenses, oldest first: each free, reserved for a live single-use code,
    or serving its device (B2); "Assign device" on the free ones."""
    return _licenses(request, svc, actor, product_id, paging, status=status)


@router.post("/products/{product_id}/licenses")
def grant(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    product_id: str,
    csrf: CsrfField = "",
    count: Text = "",
    expires: Text = "",
) -> Response:
    """B2: an Administrator grants licenses, standing in for a purchase."""
    http.check_csrf(request, csrf)
    try:
        granted = licensing.grant_licenses(
            svc,
            actor,
            product_id,
            count=_whole(count, "count", f"a whole number from 1 to {MAX_LICENSES_AT_ONCE:,}"),
            expires_at=parse_time(expires, field="expires_at"),
        )
    except Invalid as refused:
        return _licenses(
            request,
            svc,
            actor,
            product_id,
            PageRequest(),
            grant=(count, expires),
            errors=form_errors(refused, fields={"expires_at": "expires"}),
            code=422,
        )
    made = len(granted)
    return redirect(
        request,
        product_path(product_id),
        notice=f"{made:,} license{'' if made == 1 else 's'} granted.",
    )


def _whole(raw: str, field: str, problem: str) -> int:
    """A whole number typed in a form; the use case checks its range."""
    try:
        return int(raw.strip())
    except ValueError:
        raise Invalid(
            f"The {field.replace('_', ' ')} must be a whole number.", fields={field: problem}
        ) from None


# --- "Assign device": single-use codes (B4) -----------------------------------------------


def _single_use(svc: Services, actor: Actor, license_id: str) -> dict[str, Any]:
    issued = licensing.single_use_code(svc, actor, license_id)
    return _shown(svc, issued)


def _shown(svc: Services, issued: IssuedCode) -> dict[str, Any]:
    """A pairing code as a page shows it, once: its QR, its link and when it ends."""
    seconds = max(0, round((issued.code.expires_at - svc.clock.now()).total_seconds()))
    return {
        "issued": issued,
        "qr": qr_svg(issued.url, title="Pairing code"),
        "seconds": seconds,
    }


@router.post("/licenses/{license_id}/assign")
def assign(
    request: Request, svc: Svc, actor: MemberActor, license_id: str, csrf: CsrfField = ""
) -> Response:
    """B4 "Assign device": a code for this one license, valid 60 seconds and usable once,
    shown as a QR with a live countdown; the page replaces it with a new one when it
    expires, and says so when a device has paired."""
    http.check_csrf(request, csrf)
    row = licensing_overview.license_row(svc, actor, license_id)
    overview = licensing_overview.product_overview(svc, actor, row.license.product_id)
    context = product_context(svc, actor, overview, "licenses")
    context.update(
        {
            "row": row,
            "replacements": AUTOMATIC_REPLACEMENTS,
            "ttl": DEFAULT_TTL_SECONDS,
        }
    )
    try:
        context.update(_single_use(svc, actor, license_id))
    except LicenseNotFree as refused:
        return _licenses(
            request,
            svc,
            actor,
            row.license.product_id,
            PageRequest(),
            errors=FormErrors(refused.detail),
            code=409,
        )
    return render(request, "products/assign.html", context)


@router.post("/licenses/{license_id}/pairing-code")
def replace_code(
    request: Request, svc: Svc, actor: MemberActor, license_id: str, csrf: CsrfField = ""
) -> Response:
    """A new single-use code for the "Assign device" page once the shown one expired: the
    QR, link and countdown as a fragment the page swaps in. 409 while the license is
    still reserved or once it serves a device."""
    http.check_csrf(request, csrf)
    try:
        shown = _single_use(svc, actor, license_id)
    except LicenseNotFree as refused:
        return JSONResponse({"error": refused.detail}, status_code=409)
    return render(request, "products/_single_use.html", shown)


@router.get("/licenses/{license_id}/state")
def license_state(request: Request, svc: Svc, actor: MemberActor, license_id: str) -> Response:
    """What the "Assign device" page polls: whether the license serves a device yet."""
    row = licensing_overview.license_row(svc, actor, license_id)
    device_id = row.license.device_id
    return JSONResponse(
        {
            "status": row.license.status.value,
            "device_name": row.device_name,
            "device_url": f"/devices/{device_id}" if device_id and row.device_name else None,
        },
        headers={"Cache-Control": "no-store"},
    )


# --- reusable pairing codes (B3) ----------------------------------------------------------


def _codes(
    request: Request,
    svc: Services,
    actor: Actor,
    product_id: str,
    paging: PageRequest,
    *,
    draft: tuple[str, str, tuple[str, ...]] = (str(DEFAULT_VALID_DAYS), "", ()),
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    overview = licensing_overview.product_overview(svc, actor, product_id)
    codes = licensing.list_pairing_codes(svc, actor, paging, product_id=product_id)
    context = product_context(svc, actor, overview, "codes")
    context.update(
        {
            "codes": codes,
            "now": svc.clock.now(),
            "list_url": f"{product_path(product_id)}/codes",
            "paged": paging.after is not None,
            "draft": draft,
            "departments": all_departments(svc, actor),
            "max_days": MAX_VALID_DAYS,
            "max_uses": MAX_USES,
        }
    )
    return render(
        request, "products/codes.html", context, errors=errors or FormErrors(), status=status
    )


@router.get("/products/{product_id}/codes")
def codes(
    request: Request, svc: Svc, actor: MemberActor, product_id: str, paging: Cursor
) -> Response:
    """The product's pairing codes, newest first, without their secrets: when they end,
    how often they were used, and revoking them (B3)."""
    return _codes(request, svc, actor, product_id, paging)


@router.post("/products/{product_id}/codes")
def create_code(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    product_id: str,
    csrf: CsrfField = "",
    valid_days: Text = "",
    max_uses: Text = "",
    departments: Choices = None,
) -> Response:
    """B3 "Create code": a reusable code, shown once as a QR and a link with a warning
    that both are secrets."""
    http.check_csrf(request, csrf)
    chosen = [d for d in departments or [] if d]
    try:
        issued = licensing.create_pairing_code(
            svc,
            actor,
            product_id,
            valid_days=_whole(valid_days, "valid_days", f"1 to {MAX_VALID_DAYS} days")
            if valid_days.strip()
            else None,
            max_uses=_whole(max_uses, "max_uses", f"1 to {MAX_USES:,}")
            if max_uses.strip()
            else None,
            departments=chosen or None,
        )
    except (Invalid, DepartmentForbidden) as refused:
        return _codes(
            request,
            svc,
            actor,
            product_id,
            PageRequest(),
            draft=(valid_days, max_uses, tuple(chosen)),
            errors=form_errors(refused),
            status=status_of(refused),
        )
    overview = licensing_overview.product_overview(svc, actor, product_id)
    context = product_context(svc, actor, overview, "codes")
    context.update(_shown(svc, issued))
    return render(request, "products/code.html", context)


@router.post("/pairing-codes/{code_id}/revoke")
def revoke(
    request: Request, svc: Svc, actor: MemberActor, code_id: str, csrf: CsrfField = ""
) -> Response:
    """B3: the code pairs no more devices; those it paired stay."""
    http.check_csrf(request, csrf)
    code = licensing.revoke_pairing_code(svc, actor, code_id)
    return redirect(
        request,
        f"{product_path(code.product_id)}/codes",
        notice="Pairing code revoked: it pairs no more devices. Those it paired stay paired.",
    )
