"""Pairing codes (SPEC B3, B4): reusable codes with a validity and optional maximum uses,
single-use codes bound to one license, revoking them, and listing them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.errors import (
    LicenseNotFree,
)
from onboard.domain.licensing import (
    PAIRING_CODE_BYTES,
    PairingCode,
    PairingCodeKind,
    check_ttl,
    check_validity,
    code_digest,
    new_pairing_code,
    pairing_url,
)
from onboard.services.common import (
    not_found,
    resolve_departments,
)
from onboard.services.licensing.products import find_product
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


@dataclass(frozen=True)
class IssuedCode:
    """A pairing code as shown once: the record, the code and its link (both secrets)."""

    code: PairingCode
    text: str
    url: str


def _issue(svc: Services, uow: UnitOfWork, actor: Actor, code: PairingCode) -> IssuedCode:
    text = new_pairing_code(svc.entropy(PAIRING_CODE_BYTES))
    uow.pairing_codes.add(code, code_digest(text))
    uow.record(
        actor,
        Change(
            "pairing_code.created",
            Target("pairing_code", code.id),
            after={
                "kind": code.kind.value,
                "product_id": code.product_id,
                "expires_at": code.expires_at.isoformat(),
                "max_uses": code.max_uses,
                "license_id": code.license_id,
                "departments": sorted(code.departments),
            },
        ),
        organization_id=code.organization_id,
    )
    return IssuedCode(code, text, pairing_url(svc.public_url, text))


def create_pairing_code(
    svc: Services,
    actor: Actor,
    product_id: str,
    *,
    valid_days: int | None = None,
    max_uses: int | None = None,
    departments: list[str] | None = None,
) -> IssuedCode:
    """B3: a reusable code, valid 30 days unless said otherwise. The devices that pair with
    it get its departments: those chosen, or its creator's (P5)."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    validity, max_uses = check_validity(valid_days, max_uses)
    now = svc.clock.now()
    with svc.uow() as uow:
        product = find_product(uow, scope, product_id)
        code = PairingCode(
            svc.ids.new(), scope.organization_id, product.id, PairingCodeKind.REUSABLE,
            now + validity, max_uses, 0, None, None, now,
            resolve_departments(uow, scope, departments) or frozenset(),
        )  # fmt: skip
        issued = _issue(svc, uow, actor, code)
        uow.commit()
    return issued


def single_use_code(
    svc: Services, actor: Actor, license_id: str, *, ttl_seconds: int | None = None
) -> IssuedCode:
    """B4: "Assign device": a code for this one license, valid 60 s (30-300), usable once;
    the license is reserved for it meanwhile. The device gets its creator's departments."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    ttl = check_ttl(ttl_seconds)
    now = svc.clock.now()
    with svc.uow() as uow:
        found = uow.licenses.get(scope, license_id)
        if found is None:
            raise not_found("license", license_id)
        if not uow.licenses.reserve(found.id, now + ttl, now):
            raise LicenseNotFree("This license is not free (or has expired); pick a free one.")
        code = PairingCode(
            svc.ids.new(), scope.organization_id, found.product_id, PairingCodeKind.SINGLE_USE,
            now + ttl, 1, 0, None, found.id, now, scope.assign(None) or frozenset(),
        )  # fmt: skip
        issued = _issue(svc, uow, actor, code)
        uow.commit()
    return issued


def revoke_pairing_code(svc: Services, actor: Actor, code_id: str) -> PairingCode:
    """B3: a revoked code pairs no more devices; those it paired stay. A single-use code's
    license is free again at once (B4)."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    now = svc.clock.now()
    with svc.uow() as uow:
        code = uow.pairing_codes.get(scope, code_id)
        if code is None:
            raise not_found("pairing code", code_id)
        if code.revoked_at is None:
            uow.pairing_codes.revoke(code.id, now)
            if code.license_id is not None:
                # B4 reserves a license only while its code is valid: revoked, it is free.
                uow.licenses.release(code.license_id)
            uow.record(
                actor,
                Change("pairing_code.revoked", Target("pairing_code", code.id)),
                organization_id=scope.organization_id,
            )
            uow.commit()
            code = replace(code, revoked_at=now)
    return code


def list_pairing_codes(
    svc: Services, actor: Actor, page: PageRequest, *, product_id: str | None = None
) -> Page[PairingCode]:
    """Newest first; the codes themselves were shown once and are not kept."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    with svc.uow() as uow:
        return uow.pairing_codes.list_page(scope, product_id, page)
