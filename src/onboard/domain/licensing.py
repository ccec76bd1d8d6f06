"""Licensed client devices (SPEC Part B): products, licenses, pairing codes and
configurations, and the rules a pairing checks. Storage decides atomically which free
license a pairing takes (B6); this module says what may be taken and why not."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from onboard.domain.errors import (
    Invalid,
    PairingCodeExpired,
    PairingCodeRevoked,
    PairingCodeUsed,
)
from onboard.domain.values import crockford_digits

# B3: a reusable code is valid 30 days unless said otherwise.
DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 3650
# B4: a single-use code lives 60 seconds, 30 to 300 when configured.
DEFAULT_TTL_SECONDS = 60
MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 300
MAX_LICENSES_AT_ONCE = 100_000
MAX_USES = 1_000_000
MAX_CONFIGURATION_BYTES = 64 * 1024

# A pairing code is a secret: 20 Crockford digits, 100 random bits, in the QR and the link.
PAIRING_CODE_BYTES = 20
PAIRING_PATH = "/p/"
_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


class PairingCodeKind(StrEnum):
    REUSABLE = "reusable"  # B3: any number of devices while valid, each takes a license
    SINGLE_USE = "single_use"  # B4: one device, bound to one license


class LicenseStatus(StrEnum):
    FREE = "free"
    ASSIGNED = "assigned"


@dataclass(frozen=True)
class Product:
    """A client application that runs on devices (B1)."""

    id: str
    organization_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class License:
    """One license serves one device (B1, B2). A single-use pairing code made for it
    reserves it until the code expires (B4): reusable codes do not take it meanwhile."""

    id: str
    organization_id: str
    product_id: str
    device_id: str | None
    expires_at: datetime | None
    reserved_until: datetime | None
    created_at: datetime

    @property
    def status(self) -> LicenseStatus:
        return LicenseStatus.FREE if self.device_id is None else LicenseStatus.ASSIGNED

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def reserved(self, now: datetime) -> bool:
        """Held for a live single-use code (B4)."""
        return (
            self.device_id is None
            and self.reserved_until is not None
            and (self.reserved_until > now)
        )


@dataclass(frozen=True)
class LicenseTally:
    """A product's licenses counted (B2): free ones a device may take, those serving a
    device, and free ones past their expiry."""

    free: int = 0
    assigned: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.free + self.assigned + self.expired


@dataclass(frozen=True)
class PairingCode:
    """A code devices pair with (B3, B4). Only its digest is stored; the code itself is
    shown once, with its link and QR."""

    id: str
    organization_id: str
    product_id: str
    kind: PairingCodeKind
    expires_at: datetime
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    license_id: str | None
    created_at: datetime
    departments: frozenset[str] = frozenset()
    """Given to the devices that pair with it (P5): its creator's, or those chosen."""

    def check_redeemable(self, now: datetime) -> None:
        """B7, in this order: revoked, expired, used up."""
        if self.revoked_at is not None:
            raise PairingCodeRevoked("This pairing code was revoked; ask for a new one.")
        if self.expires_at <= now:
            raise PairingCodeExpired("This pairing code has expired; ask for a new one.")
        if self.max_uses is not None and self.uses >= self.max_uses:
            raise PairingCodeUsed("This pairing code has been used; ask for a new one.")


@dataclass(frozen=True)
class Configuration:
    """A named JSON document for a product's devices, immutable once made (B8)."""

    id: str
    organization_id: str
    product_id: str
    name: str
    body: dict[str, Any]
    etag: str
    created_at: datetime


@dataclass(frozen=True)
class ClientDevice:
    """A device running a product's client (B5): its twin (None once removed, B9), its
    hardware identity, configuration and what it reported."""

    id: str
    organization_id: str
    product_id: str
    device_id: str | None
    hardware_id: str
    configuration_id: str | None
    model: str | None
    os: str | None
    app_version: str | None
    paired_at: datetime
    last_checkin_at: datetime | None = None


@dataclass(frozen=True)
class LicensedDevice:
    """A paired client device as the back office lists it: its record, its twin's name and
    its configuration's name."""

    client: ClientDevice
    device_name: str
    configuration_name: str | None


def new_pairing_code(entropy: bytes) -> str:
    """A pairing code's text: one Crockford digit per random byte."""
    if len(entropy) != PAIRING_CODE_BYTES:
        raise ValueError(f"a pairing code needs exactly {PAIRING_CODE_BYTES} bytes of entropy")
    return crockford_digits(entropy)


def pairing_url(public_url: str, code: str) -> str:
    """The link a pairing code's QR holds: uppercase-safe like code URLs (A2)."""
    return f"{public_url.rstrip('/')}{PAIRING_PATH}{code}"


def read_pairing_code(scanned: str) -> str | None:
    """The pairing code in what a device scanned: the code itself, or its link (any case,
    with or without the scheme); None when it cannot be one."""
    text = scanned.strip()
    if "/" in text:
        path = urlsplit(text if "://" in text else f"//{text}").path
        text = path.rstrip("/").rsplit("/", 1)[-1]
    code = text.upper().replace("-", "")
    if len(code) != PAIRING_CODE_BYTES or not set(code) <= _CROCKFORD:
        return None
    return code


def code_digest(code: str) -> str:
    """What is stored of a pairing code: it is high-entropy, so SHA-256 suffices."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def configuration_etag(body: dict[str, Any]) -> str:
    """A strong validator of the configuration's content: the same body, the same ETag."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def check_configuration_body(body: object) -> dict[str, Any]:
    """B8: a JSON object of at most 64 KiB that every database stores as it came: finite
    numbers (NaN and infinity are not JSON) and no NUL (PostgreSQL text cannot hold it),
    in keys or values, however deep."""
    if not isinstance(body, dict):
        raise Invalid("A configuration is a JSON object.", fields={"body": "a JSON object"})
    pending: list[object] = [body]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise Invalid(
                "A configuration's numbers are finite: NaN and infinity are not JSON.",
                fields={"body": "finite numbers only"},
            )
        if isinstance(item, str) and "\x00" in item:
            raise Invalid(
                "A configuration's text cannot hold the NUL character.",
                fields={"body": "no NUL characters"},
            )
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if size > MAX_CONFIGURATION_BYTES:
        raise Invalid(
            f"A configuration has at most {MAX_CONFIGURATION_BYTES // 1024} KiB.",
            fields={"body": f"at most {MAX_CONFIGURATION_BYTES} bytes"},
        )
    return body


def check_license_count(count: int) -> int:
    if not 1 <= count <= MAX_LICENSES_AT_ONCE:
        raise Invalid(
            f"Grant 1 to {MAX_LICENSES_AT_ONCE:,} licenses at once.",
            fields={"count": f"1 to {MAX_LICENSES_AT_ONCE}"},
        )
    return count


def check_ttl(seconds: int | None) -> timedelta:
    """B4: how long a single-use code lives."""
    seconds = DEFAULT_TTL_SECONDS if seconds is None else seconds
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        raise Invalid(
            f"A single-use code lives {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds.",
            fields={"ttl_seconds": f"{MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}"},
        )
    return timedelta(seconds=seconds)


def check_validity(days: int | None, max_uses: int | None) -> tuple[timedelta, int | None]:
    """B3: a reusable code's validity and optional number of uses."""
    days = DEFAULT_VALID_DAYS if days is None else days
    if not 1 <= days <= MAX_VALID_DAYS:
        raise Invalid(
            f"A pairing code is valid 1 to {MAX_VALID_DAYS} days.",
            fields={"valid_days": f"1 to {MAX_VALID_DAYS}"},
        )
    if max_uses is not None and not 1 <= max_uses <= MAX_USES:
        raise Invalid(
            f"A pairing code allows 1 to {MAX_USES:,} uses.",
            fields={"max_uses": f"1 to {MAX_USES}"},
        )
    return timedelta(days=days), max_uses


def check_hardware_id(raw: str) -> str:
    """A device's hardware identity as it reports it: trimmed, 1 to 200 printable
    characters."""
    hardware_id = raw.strip()
    if not 1 <= len(hardware_id) <= 200 or any(ord(c) < 32 for c in hardware_id):
        raise Invalid(
            "A hardware id has 1 to 200 printable characters.",
            fields={"hardware_id": "1 to 200 printable characters"},
        )
    return hardware_id
