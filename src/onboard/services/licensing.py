"""Licensed client devices (SPEC Part B): products, licenses granted in numbers, reusable
and single-use pairing codes, configurations, and a device pairing by scanning a code
(B5), exact under concurrency (B6)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from onboard.domain.access import Actor, ActorKind, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.commands import Command
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.errors import (
    Conflict,
    Invalid,
    LicenseNotFree,
    NameTaken,
    NoFreeLicense,
    NotFound,
    Unauthenticated,
)
from onboard.domain.licensing import (
    PAIRING_CODE_BYTES,
    ClientDevice,
    Configuration,
    License,
    LicenseStatus,
    PairingCode,
    PairingCodeKind,
    Product,
    check_configuration_body,
    check_hardware_id,
    check_license_count,
    check_ttl,
    check_validity,
    code_digest,
    configuration_etag,
    new_pairing_code,
    pairing_url,
    read_pairing_code,
)
from onboard.domain.values import digest_secret, require_name
from onboard.services.common import (
    ATTEMPT_WINDOW_SECONDS,
    count_attempt,
    device_target,
    not_found,
    resolve_departments,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

MAX_ASSIGNED_AT_ONCE = 10_000


def _product(uow: UnitOfWork, scope: Scope, product_id: str) -> Product:
    product = uow.products.get(scope, product_id)
    if product is None:
        raise not_found("product", product_id)
    return product


def create_product(svc: Services, actor: Actor, *, name: str) -> Product:
    """B1: a client application devices run."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    product = Product(svc.ids.new(), scope.organization_id, require_name(name), svc.clock.now())
    with svc.uow() as uow:
        if uow.products.get_by_name(scope.organization_id, product.name) is not None:
            raise NameTaken(f"A product named {product.name!r} exists already.")
        uow.products.add(product)
        uow.record(
            actor,
            Change("product.created", Target("product", product.id), after={"name": product.name}),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return product


def list_products(svc: Services, actor: Actor, page: PageRequest) -> Page[Product]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.products.list_page(scope, page)


def grant_licenses(
    svc: Services, actor: Actor, product_id: str, *, count: int, expires_at: datetime | None
) -> list[License]:
    """B2: ``count`` free licenses of the product, as a purchase would bring them."""
    scope = actor.require(Permission.GRANT_LICENSES)
    count = check_license_count(count)
    now = svc.clock.now()
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            "A license cannot expire before it is granted.", fields={"expires_at": "in the future"}
        )
    with svc.uow() as uow:
        product = _product(uow, scope, product_id)
        granted = [
            License(svc.ids.new(), scope.organization_id, product.id, None, expires_at, None, now)
            for _ in range(count)
        ]
        uow.licenses.add_many(granted)
        uow.record(
            actor,
            Change(
                "licenses.granted",
                Target("product", product.id),
                after={
                    "count": count,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return granted


def list_licenses(
    svc: Services,
    actor: Actor,
    page: PageRequest,
    *,
    product_id: str | None = None,
    status: LicenseStatus | None = None,
) -> Page[License]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.licenses.list_page(scope, product_id, status, page)


def create_configuration(
    svc: Services, actor: Actor, product_id: str, *, name: str, body: Any
) -> Configuration:
    """B8: a new configuration; the newest is what newly paired devices get."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    checked = check_configuration_body(body)
    with svc.uow() as uow:
        product = _product(uow, scope, product_id)
        configuration = Configuration(
            svc.ids.new(), scope.organization_id, product.id, require_name(name), checked,
            configuration_etag(checked), svc.clock.now(),
        )  # fmt: skip
        uow.configurations.add(configuration)
        uow.record(
            actor,
            Change(
                "configuration.created",
                Target("configuration", configuration.id),
                after={"name": configuration.name, "etag": configuration.etag},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return configuration


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
        product = _product(uow, scope, product_id)
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


@dataclass(frozen=True)
class Paired:
    """What a device gets from pairing, once: its credential among the rest (B5)."""

    device_id: str
    credential: str
    license_id: str
    configuration: Configuration | None


@dataclass(frozen=True)
class HardwareReport:
    """What the device says of itself when it pairs."""

    hardware_id: str
    model: str | None = None
    os: str | None = None
    app_version: str | None = None


def _device_actor(organization_id: str, hardware_id: str, source_ip: str | None) -> Actor:
    return Actor(
        kind=ActorKind.DEVICE,
        id=None,
        label=f"device {hardware_id[:60]}",
        scope=Scope(organization_id),
        source_ip=source_ip,
    )


def pair(
    svc: Services, scanned: str, report: HardwareReport, *, source_ip: str | None = None
) -> Paired:
    """B5 in one transaction: check the code, take a free license (a single-use code's
    own), create the device, give it the newest configuration and a credential. The same
    hardware pairing again keeps its license and gets a new credential."""
    hardware_id = check_hardware_id(report.hardware_id)
    text = read_pairing_code(scanned)
    if text is None:
        raise NotFound("This is not a pairing code.")
    try:
        return _pair_once(svc, text, replace(report, hardware_id=hardware_id), source_ip)
    except Conflict as clash:
        if type(clash) is not Conflict:
            raise
        # The same hardware pairing twice at the same moment (one insert lost the race), or
        # the code's last use taken meanwhile: once more, the pairing sees what won, and
        # answers as a re-pairing (B5) or with the code's own refusal (B7).
        return _pair_once(svc, text, replace(report, hardware_id=hardware_id), source_ip)


def _pair_once(svc: Services, text: str, report: HardwareReport, source_ip: str | None) -> Paired:
    hardware_id = report.hardware_id
    now = svc.clock.now()
    credential = secrets.token_urlsafe(32)
    with svc.uow() as uow:
        code = uow.pairing_codes.by_digest(code_digest(text))
        if code is None:
            raise NotFound("No such pairing code.")
        actor = _device_actor(code.organization_id, hardware_id, source_ip)
        known = uow.client_devices.by_hardware(code.organization_id, code.product_id, hardware_id)
        held = _license_held(uow, known)
        if known is not None and known.device_id is not None and held is not None:
            # The same hardware again: idempotent, even with a code used up meanwhile; a
            # revoked or expired code still says no.
            if code.revoked_at is not None or code.expires_at <= now:
                code.check_redeemable(now)
            uow.client_devices.replace_credential(known.id, digest_secret(credential))
            uow.record(
                actor,
                Change("device.repaired", Target("device", known.device_id)),
                organization_id=code.organization_id,
            )
            uow.commit()
            return Paired(known.device_id, credential, held, _configuration_of(uow, known))
        code.check_redeemable(now)
        if not uow.pairing_codes.use(code.id, now):
            # A concurrent pairing took the last use between the read and this write.
            fresh = uow.pairing_codes.by_digest(code_digest(text))
            (fresh or code).check_redeemable(now)
            raise Conflict("The pairing code changed meanwhile; try again.")
        device = Device(
            id=svc.ids.new(),
            organization_id=code.organization_id,
            name=report.model or f"Device {hardware_id[:60]}",
            serial=None,
            template_id=None,
            attributes={},
            departments=code.departments,
            customer_id=None,
            location=Location(),
            status=DeviceStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        uow.devices.add(device)
        if code.license_id is not None:
            taken = uow.licenses.take(code.license_id, device.id, now)
            license_id = code.license_id if taken else None
        else:
            license_id = uow.licenses.take_free(code.product_id, device.id, now)
        if license_id is None:
            raise NoFreeLicense(
                "Every license of this product is in use; more licenses are needed."
            )
        configuration = uow.configurations.newest(code.product_id)
        client = ClientDevice(
            svc.ids.new(), code.organization_id, code.product_id, device.id, hardware_id,
            configuration.id if configuration else None, report.model, report.os,
            report.app_version, now,
        )  # fmt: skip
        if known is not None:
            # Paired before and removed since (B9): its old credential goes with the record.
            uow.client_devices.delete(known.id)
        uow.client_devices.add(client, digest_secret(credential))
        uow.record(
            actor,
            Change(
                "device.paired",
                device_target(device),
                after={
                    "product_id": code.product_id,
                    "license_id": license_id,
                    "pairing_code_id": code.id,
                    "hardware_id": hardware_id,
                    "configuration_id": client.configuration_id,
                },
            ),
            organization_id=code.organization_id,
        )
        uow.commit()
    return Paired(device.id, credential, license_id, configuration)


def _license_held(uow: UnitOfWork, known: ClientDevice | None) -> str | None:
    if known is None or known.device_id is None:
        return None
    held = uow.licenses.of_device(known.device_id)
    return None if held is None else held.id


def _configuration_of(uow: UnitOfWork, client: ClientDevice) -> Configuration | None:
    if client.configuration_id is None:
        return None
    return uow.configurations.get(Scope(client.organization_id), client.configuration_id)


# B5, §6: pairing attempts per source address in a window; beyond it, 429 with Retry-After.
PAIR_ATTEMPTS = 30  # the default of the pair_attempts setting
PAIR_WINDOW_SECONDS = ATTEMPT_WINDOW_SECONDS


def check_pair_rate(svc: Services, source_ip: str | None, *, limit: int = PAIR_ATTEMPTS) -> None:
    """Count a pairing attempt from this source, in a transaction of its own (a refused
    pairing still counts); RateLimited beyond ``limit`` a minute."""
    count_attempt(svc, f"pair:{source_ip or 'unknown'}", limit, "pairing attempts")


def get_product(svc: Services, actor: Actor, product_id: str) -> Product:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return _product(uow, scope, product_id)


def list_pairing_codes(
    svc: Services, actor: Actor, page: PageRequest, *, product_id: str | None = None
) -> Page[PairingCode]:
    """Newest first; the codes themselves were shown once and are not kept."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    with svc.uow() as uow:
        return uow.pairing_codes.list_page(scope, product_id, page)


def list_configurations(
    svc: Services, actor: Actor, page: PageRequest, *, product_id: str | None = None
) -> Page[Configuration]:
    """Newest first."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.configurations.list_page(scope, product_id, page)


def get_configuration(svc: Services, actor: Actor, configuration_id: str) -> Configuration:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.configurations.get(scope, configuration_id)
        if found is None:
            raise not_found("configuration", configuration_id)
        return found


def assign_configuration(
    svc: Services, actor: Actor, configuration_id: str, device_ids: list[str]
) -> int:
    """B8: give these licensed devices this configuration (one or many at once, in one
    transaction); they receive it at their next check-in. Every device must be one the
    actor sees and run the configuration's product. How many changed."""
    scope = actor.require(Permission.MANAGE_LICENSING)
    wanted = list(dict.fromkeys(device_ids))
    if not 1 <= len(wanted) <= MAX_ASSIGNED_AT_ONCE:
        raise Invalid(
            f"Name 1 to {MAX_ASSIGNED_AT_ONCE:,} devices.",
            fields={"device_ids": f"1 to {MAX_ASSIGNED_AT_ONCE} device ids"},
        )
    with svc.uow() as uow:
        configuration = uow.configurations.get(scope, configuration_id)
        if configuration is None:
            raise not_found("configuration", configuration_id)
        seen = {d.id for d in uow.devices.get_many(scope, wanted)}
        clients = uow.client_devices.of_devices(wanted)
        for device_id in wanted:
            client = clients.get(device_id)
            if device_id not in seen or client is None:
                raise not_found("licensed device", device_id)
            if client.product_id != configuration.product_id:
                raise Invalid(
                    f"Device {device_id} runs another product.",
                    fields={"device_ids": "devices of the configuration's product"},
                )
        changed = uow.client_devices.set_configuration(
            [clients[d].id for d in wanted], configuration.id
        )
        uow.record(
            actor,
            Change(
                "configuration.assigned",
                Target("configuration", configuration.id),
                after={"device_ids": wanted, "changed": changed},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return changed


@dataclass(frozen=True)
class CheckIn:
    """What a check-in answers: the configuration only when it changed (B8), and the
    commands waiting (B9: ``unpair`` once the device was removed)."""

    configuration: Configuration | None
    commands: tuple[Command, ...]


UNPAIR = "unpair"


def _client(uow: UnitOfWork, credential: str) -> ClientDevice:
    client = uow.client_devices.by_credential(digest_secret(credential))
    if client is None:
        raise Unauthenticated("Unknown device credential; pair the device again.")
    return client


def checkin(svc: Services, credential: str, *, configuration_etag: str | None = None) -> CheckIn:
    """§6 check-in of a licensed client device: its configuration when the ETag it has is
    not the current one's, and ``unpair`` when it was removed (B9)."""
    now = svc.clock.now()
    with svc.uow() as uow:
        client = _client(uow, credential)
        uow.client_devices.touch(client.id, now)
        uow.commit()
        if client.device_id is None:
            return CheckIn(None, (Command(f"{UNPAIR}-{client.id}", UNPAIR, {}),))
        configuration = _configuration_of(uow, client)
    if configuration is not None and configuration.etag == configuration_etag:
        configuration = None
    return CheckIn(configuration, ())


def acknowledge(svc: Services, credential: str, command_id: str, *, ok: bool) -> None:
    """§6: the device did (or could not do) what it was told. An acknowledged ``unpair``
    ends the record and with it the credential."""
    with svc.uow() as uow:
        client = _client(uow, credential)
        if command_id != f"{UNPAIR}-{client.id}" or client.device_id is not None:
            raise NotFound(f"No command {command_id!r} for this device.")
        if ok:
            uow.client_devices.delete(client.id)
            uow.record(
                _device_actor(client.organization_id, client.hardware_id, None),
                Change(
                    "device.unpaired",
                    Target("client_device", client.id),
                    after={"hardware_id": client.hardware_id},
                ),
                organization_id=client.organization_id,
            )
            uow.commit()
