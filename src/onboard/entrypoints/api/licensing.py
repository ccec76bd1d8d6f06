"""/api/v1/products, /licenses, /pairing-codes and /configurations: licensed client
devices (SPEC Part B, B1-B4, B8; §5.1). Products, licenses, pairing codes and
configurations are organization-wide, like templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, BaseModel, Field

from onboard.adapters.qr import qr_svg
from onboard.domain.errors import Invalid
from onboard.domain.licensing import (
    DEFAULT_TTL_SECONDS,
    MAX_LICENSES_AT_ONCE,
    MAX_TTL_SECONDS,
    MAX_VALID_DAYS,
    MIN_TTL_SECONDS,
    Configuration,
    License,
    LicenseStatus,
    PairingCode,
    Product,
    check_configuration_body,
)
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import licensing
from onboard.services.licensing import MAX_ASSIGNED_AT_ONCE, IssuedCode

products = APIRouter(prefix="/products", tags=["licensing"])
licenses = APIRouter(prefix="/licenses", tags=["licensing"])
pairing_codes = APIRouter(prefix="/pairing-codes", tags=["licensing"])
configurations = APIRouter(prefix="/configurations", tags=["licensing"])
routers = (products, licenses, pairing_codes, configurations)

# The uses column is a 32-bit integer; a million devices on one code is beyond any fleet.
MAX_USES = 1_000_000
LicenseStatusName = Literal["free", "assigned"]
IdFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=s.NO_NUL)]


def _storable(value: Any) -> Any:
    """The configuration rules of B8 as a validation error of the body."""
    try:
        return check_configuration_body(value)
    except Invalid as refused:
        raise ValueError(refused.detail) from None


ConfigurationBody = Annotated[dict[str, Any], AfterValidator(_storable)]


# --- bodies -------------------------------------------------------------------------------


class ProductCreate(s.Body):
    name: s.Name


class ProductPublic(BaseModel):
    """A client application that runs on devices (B1)."""

    id: str
    name: str
    created_at: datetime


class LicenseGrant(s.Body):
    product_id: s.Ident
    count: int = Field(ge=1, le=MAX_LICENSES_AT_ONCE, description="How many licenses (B2).")
    expires_at: s.UtcDatetime | None = Field(None, description="Default: they never expire.")


class LicensePublic(BaseModel):
    """One license serves one device (B1): free, or the device it serves (B2)."""

    id: str
    product_id: str
    status: LicenseStatusName
    device_id: str | None
    expires_at: datetime | None
    created_at: datetime


class LicenseBatchPublic(BaseModel):
    items: list[LicensePublic]


class PairingCodeCreate(s.Body):
    product_id: s.Ident
    valid_days: int | None = Field(
        None, ge=1, le=MAX_VALID_DAYS, description="Default: 30 days (B3)."
    )
    max_uses: int | None = Field(None, ge=1, le=MAX_USES, description="Default: no limit.")
    departments: s.DepartmentIds | None = Field(
        None,
        description="Given to the devices that pair with it (P5). Default: yours, or none "
        "when you work in every department.",
    )


class PairingCodePublic(BaseModel):
    """A pairing code (B3, B4). ``code``, ``url`` and ``qr_svg`` are secrets shown once,
    in the answer that made it; lists show null (only the code's digest is kept)."""

    id: str
    product_id: str
    kind: Literal["reusable", "single_use"]
    code: str | None
    url: str | None
    qr_svg: str | None = Field(description="The URL's QR code as inline SVG.")
    expires_at: datetime
    uses: int
    max_uses: int | None
    revoked: bool
    license_id: str | None = Field(description="A single-use code's license (B4).")
    departments: list[str] = Field(description="What the devices that pair with it get (P5).")
    created_at: datetime


class SingleUseCodeCreate(s.Body):
    ttl_seconds: int = Field(
        DEFAULT_TTL_SECONDS,
        ge=MIN_TTL_SECONDS,
        le=MAX_TTL_SECONDS,
        description="How long the code lives (B4).",
    )


DEFAULT_SINGLE_USE = SingleUseCodeCreate()


class ConfigurationCreate(s.Body):
    product_id: s.Ident
    name: s.Name
    body: ConfigurationBody = Field(description="The JSON object devices receive (B8).")


class ConfigurationPublic(BaseModel):
    """A configuration, immutable once made (B8); ``etag`` changes with its content."""

    id: str
    product_id: str
    name: str
    etag: str
    created_at: datetime


class ConfigurationDetail(ConfigurationPublic):
    body: dict[str, Any]


class ConfigurationAssign(s.Body):
    device_ids: Annotated[list[s.Ident], Field(min_length=1, max_length=MAX_ASSIGNED_AT_ONCE)]


class AssignedPublic(BaseModel):
    assigned: int = Field(description="How many devices changed configuration.")


# --- answers ------------------------------------------------------------------------------


def _product(p: Product) -> ProductPublic:
    return ProductPublic(id=p.id, name=p.name, created_at=p.created_at)


def _license(x: License) -> LicensePublic:
    return LicensePublic(
        id=x.id,
        product_id=x.product_id,
        status=x.status.value,
        device_id=x.device_id,
        expires_at=x.expires_at,
        created_at=x.created_at,
    )


def _pairing_code(code: PairingCode, issued: IssuedCode | None = None) -> PairingCodePublic:
    secret, url = (issued.text, issued.url) if issued is not None else (None, None)
    return PairingCodePublic(
        id=code.id,
        product_id=code.product_id,
        kind=code.kind.value,
        code=secret,
        url=url,
        qr_svg=qr_svg(url, title="Pairing code") if url is not None else None,
        expires_at=code.expires_at,
        uses=code.uses,
        max_uses=code.max_uses,
        revoked=code.revoked_at is not None,
        license_id=code.license_id,
        departments=sorted(code.departments),
        created_at=code.created_at,
    )


def _configuration(c: Configuration) -> ConfigurationPublic:
    return ConfigurationPublic(
        id=c.id, product_id=c.product_id, name=c.name, etag=c.etag, created_at=c.created_at
    )


# --- products (B1) ------------------------------------------------------------------------


@products.post("", status_code=201, response_model=ProductPublic)
def create_product(body: ProductCreate, svc: Svc, actor: CurrentActor) -> ProductPublic:
    """409 ``name_taken`` when the organization has a product of that name."""
    return _product(licensing.create_product(svc, actor, name=body.name))


@products.get("", response_model=s.PageOf[ProductPublic])
def list_products(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[ProductPublic]:
    page = licensing.list_products(svc, actor, paging)
    return s.PageOf(items=[_product(p) for p in page.items], next_cursor=next_cursor(page))


@products.get("/{product_id}", response_model=ProductPublic)
def get_product(product_id: PathId, svc: Svc, actor: CurrentActor) -> ProductPublic:
    return _product(licensing.get_product(svc, actor, product_id))


# --- licenses (B2, B4) --------------------------------------------------------------------


@licenses.post("", status_code=201, response_model=LicenseBatchPublic)
def grant_licenses(body: LicenseGrant, svc: Svc, actor: CurrentActor) -> LicenseBatchPublic:
    """B2: ``count`` free licenses of the product, in one transaction; Administrators only
    (403 ``permission_denied`` for others), standing in for a purchase."""
    granted = licensing.grant_licenses(
        svc, actor, body.product_id, count=body.count, expires_at=body.expires_at
    )
    return LicenseBatchPublic(items=[_license(x) for x in granted])


@licenses.get("", response_model=s.PageOf[LicensePublic])
def list_licenses(
    svc: Svc,
    actor: CurrentActor,
    paging: Paging,
    product_id: IdFilter = None,
    status: LicenseStatusName | None = None,
) -> s.PageOf[LicensePublic]:
    """Oldest first; ``status`` free or assigned (to the device in ``device_id``)."""
    page = licensing.list_licenses(
        svc,
        actor,
        paging,
        product_id=product_id,
        status=LicenseStatus(status) if status is not None else None,
    )
    return s.PageOf(items=[_license(x) for x in page.items], next_cursor=next_cursor(page))


@licenses.post("/{license_id}/pairing-code", status_code=201, response_model=PairingCodePublic)
def single_use_code(
    license_id: PathId,
    svc: Svc,
    actor: CurrentActor,
    body: SingleUseCodeCreate = DEFAULT_SINGLE_USE,
) -> PairingCodePublic:
    """B4 "Assign device": a code for this one license, usable once, valid ``ttl_seconds``
    (60 by default); the license is reserved for it meanwhile. 409 ``license_not_free`` when the
    license serves a device, has expired or is reserved by another live code."""
    issued = licensing.single_use_code(svc, actor, license_id, ttl_seconds=body.ttl_seconds)
    return _pairing_code(issued.code, issued)


# --- reusable pairing codes (B3) ----------------------------------------------------------


@pairing_codes.post("", status_code=201, response_model=PairingCodePublic)
def create_pairing_code(
    body: PairingCodeCreate, svc: Svc, actor: CurrentActor
) -> PairingCodePublic:
    """B3: any number of devices (or ``max_uses``) pair with it while it is valid, each
    taking a free license. Its code, link and QR are secrets, shown in this answer only."""
    issued = licensing.create_pairing_code(
        svc,
        actor,
        body.product_id,
        valid_days=body.valid_days,
        max_uses=body.max_uses,
        departments=body.departments,
    )
    return _pairing_code(issued.code, issued)


@pairing_codes.get("", response_model=s.PageOf[PairingCodePublic])
def list_pairing_codes(
    svc: Svc, actor: CurrentActor, paging: Paging, product_id: IdFilter = None
) -> s.PageOf[PairingCodePublic]:
    """Newest first, single-use codes included; without their secrets (null)."""
    page = licensing.list_pairing_codes(svc, actor, paging, product_id=product_id)
    return s.PageOf(items=[_pairing_code(c) for c in page.items], next_cursor=next_cursor(page))


@pairing_codes.delete("/{code_id}", status_code=204)
def revoke_pairing_code(code_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    """B3: revoke; the code pairs no more devices (410 ``pairing_code_revoked``), those it
    paired stay. Revoking a revoked code changes nothing."""
    licensing.revoke_pairing_code(svc, actor, code_id)
    return Response(status_code=204)


# --- configurations (B8) ------------------------------------------------------------------


@configurations.post("", status_code=201, response_model=ConfigurationPublic)
def create_configuration(
    body: ConfigurationCreate, svc: Svc, actor: CurrentActor
) -> ConfigurationPublic:
    """B8: a new configuration (at most 64 KiB); devices paired from now on get the
    newest. Devices paired before keep theirs until it is changed for them."""
    created = licensing.create_configuration(
        svc, actor, body.product_id, name=body.name, body=body.body
    )
    return _configuration(created)


@configurations.get("", response_model=s.PageOf[ConfigurationPublic])
def list_configurations(
    svc: Svc, actor: CurrentActor, paging: Paging, product_id: IdFilter = None
) -> s.PageOf[ConfigurationPublic]:
    """Newest first, without their bodies."""
    page = licensing.list_configurations(svc, actor, paging, product_id=product_id)
    return s.PageOf(items=[_configuration(c) for c in page.items], next_cursor=next_cursor(page))


@configurations.get("/{configuration_id}", response_model=ConfigurationDetail)
def get_configuration(
    configuration_id: PathId, svc: Svc, actor: CurrentActor
) -> ConfigurationDetail:
    found = licensing.get_configuration(svc, actor, configuration_id)
    return ConfigurationDetail(**_configuration(found).model_dump(), body=found.body)


@configurations.post("/{configuration_id}/assign", response_model=AssignedPublic)
def assign_configuration(
    configuration_id: PathId, body: ConfigurationAssign, svc: Svc, actor: CurrentActor
) -> AssignedPublic:
    """B8: give these licensed devices of the configuration's product this configuration,
    all or none; they receive it at their next check-in. 404 when a device is not a
    licensed device you see (P5); devices already on it do not count as changed."""
    changed = licensing.assign_configuration(svc, actor, configuration_id, body.device_ids)
    return AssignedPublic(assigned=changed)
