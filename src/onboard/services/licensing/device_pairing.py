"""A device pairing by scanning a code (SPEC B5-B7): in one transaction the code is
checked, a free license taken, the device made and its credential returned once; exact
under concurrency (B6) and rate-limited per source."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.errors import (
    Conflict,
    NoFreeLicense,
    NotFound,
)
from onboard.domain.licensing import (
    ClientDevice,
    Configuration,
    check_hardware_id,
    code_digest,
    read_pairing_code,
)
from onboard.domain.values import digest_secret
from onboard.services.common import (
    ATTEMPT_WINDOW_SECONDS,
    count_attempt,
    device_target,
)
from onboard.services.licensing.configurations import configuration_of
from onboard.services.ports import Services, UnitOfWork


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


def device_actor(organization_id: str, hardware_id: str, source_ip: str | None) -> Actor:
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
        actor = device_actor(code.organization_id, hardware_id, source_ip)
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
            return Paired(known.device_id, credential, held, configuration_of(uow, known))
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


# B5, §6: pairing attempts per source address in a window; beyond it, 429 with Retry-After.
PAIR_ATTEMPTS = 30  # the default of the pair_attempts setting


PAIR_WINDOW_SECONDS = ATTEMPT_WINDOW_SECONDS


def check_pair_rate(svc: Services, source_ip: str | None, *, limit: int = PAIR_ATTEMPTS) -> None:
    """Count a pairing attempt from this source, in a transaction of its own (a refused
    pairing still counts); RateLimited beyond ``limit`` a minute."""
    count_attempt(svc, f"pair:{source_ip or 'unknown'}", limit, "pairing attempts")
