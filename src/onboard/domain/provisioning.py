"""Provisioning (SPEC Part D): the secrets a provisioning group shares with its devices'
manufacturer, the keys and claim codes derived from them, the device's activation proof
(§6), and how an activating device is allocated an environment.

Everything here is a pure function of its inputs: randomness (a new secret, a weighted
choice) comes in as arguments."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from onboard.domain.errors import Invalid, InvalidSignature

SECRET_BYTES = 32
CLAIM_CODE_LENGTH = 16


class RegistrationMode(StrEnum):
    PREREGISTERED = "preregistered"  # only serials registered in advance activate (D3)
    OPEN = "open"  # any serial with a valid device key activates


class AllocationPolicy(StrEnum):
    STATIC = "static"  # the group's environments in order: the first that is up
    WEIGHTED = "weighted"  # at random, in proportion to the environments' weights
    HASHED = "hashed"  # by the serial: a device keeps its environment while it is up


class ReprovisionPolicy(StrEnum):
    MIGRATE = "migrate"  # the twin keeps its data (D6)
    RESET = "reset"  # the twin goes back to the group's initial state
    NEVER = "never"  # reprovisioning is refused


_GROUP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class GroupDefaults:
    """What a device activating into the group starts with (D1, D4)."""

    template_id: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    departments: frozenset[str] = frozenset()
    configuration_id: str | None = None
    """The named configuration (B8) ``configuration`` is the body of, if any (§5.1)."""


@dataclass(frozen=True)
class ProvisioningGroup:
    """An organization's devices that share onboarding information (D1). Its secrets are
    not here: they are sealed at rest and opened only to check a proof or derive keys."""

    id: str
    organization_id: str
    group_id: str
    """Public: burned into the devices, sent with every activation."""
    name: str
    registration_mode: RegistrationMode
    allocation_policy: AllocationPolicy
    reprovision_policy: ReprovisionPolicy
    defaults: GroupDefaults
    environment_ids: tuple[str, ...]
    """The environments its devices are allocated among, in order (D4)."""
    created_at: datetime
    rotating: bool = False
    """Whether a secondary secret is held: made with the group, then the previous primary
    after a rotation, until the rotation is finished (devices keyed with it activate)."""
    open_claims: bool = False
    """Whether any organization may claim its devices by QR (D5)."""
    claimants: frozenset[str] = frozenset()
    """Organizations besides its own that may claim its devices by QR (D5)."""

    def may_be_claimed_by(self, organization_id: str) -> bool:
        return (
            self.open_claims
            or organization_id == self.organization_id
            or organization_id in self.claimants
        )


@dataclass(frozen=True)
class Registration:
    """A serial registered in a group before its device exists (D3), or made when a
    device of an open group activated; then the twin it activated into (D4)."""

    id: str
    organization_id: str
    group_ref: str
    """The group's record (its ProvisioningGroup.id, not the public group id)."""
    serial: str
    attributes: dict[str, Any]
    disabled: bool
    device_id: str | None
    environment_id: str | None
    activated_at: datetime | None
    created_at: datetime
    batch_id: str | None = None
    reprovision_pending: bool = False
    """Moved (D6) and not yet told: its next check-in says ``reprovision``."""


@dataclass(frozen=True)
class ActivationView:
    """What an activation needs to know, read at once (D4): the group named, its sealed
    secrets (the primary, then the secondary during a rotation), its environments in
    order, the serial's registration if any, the organization and departments of the twin
    it activated into (a claimed device's may be another than the group's, D5), and how many failed
    activations came from the same source lately (§6 rate limit)."""

    group: ProvisioningGroup
    sealed_secrets: tuple[str, ...]
    environments: tuple[Environment, ...]
    registration: Registration | None
    device_organization_id: str | None
    device_departments: frozenset[str]
    recent_failures: int


def group_secret_context(group_ref: str) -> str:
    """What a sealed group secret is bound to: its own group's record."""
    return f"provisioning_group:{group_ref}"


def check_group_id(raw: str) -> str:
    """A group's public id: 3 to 64 lower-case letters, digits and hyphens, starting with
    a letter or digit (it is burned into firmware and printed in URLs)."""
    group_id = raw.strip()
    if not _GROUP_ID.match(group_id):
        raise Invalid(
            "A group id has 3 to 64 lower-case letters, digits and hyphens, and starts with a "
            "letter or digit.",
            fields={"group_id": "3-64 of a-z, 0-9 and -"},
        )
    return group_id


def new_group_secret(random: bytes) -> str:
    """D1: a group secret, 32 random bytes in standard base64 (``random`` gives them)."""
    if len(random) != SECRET_BYTES:
        raise ValueError(f"a group secret is {SECRET_BYTES} random bytes")
    return base64.b64encode(random).decode("ascii")


def secret_bytes(group_secret: str) -> bytes:
    """The 32 bytes of a base64 group secret."""
    try:
        raw = base64.b64decode(group_secret.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = b""
    if len(raw) != SECRET_BYTES:
        raise Invalid(
            f"A group secret is {SECRET_BYTES} bytes in standard base64.",
            fields={"secret": "base64 of 32 bytes"},
        )
    return raw


def _mac(key: bytes, message: str) -> bytes:
    """HMAC-SHA256 of the UTF-8 message (the one-shot C function: activations check
    three a second by the thousand, §7)."""
    return hmac.digest(key, message.encode("utf-8"), "sha256")


def device_key(group_secret: str, serial: str) -> str:
    """D2: the key a manufacturer burns into the device with ``serial``:
    b64(HMAC-SHA256(base64-decoded group secret, UTF-8 serial))."""
    return base64.b64encode(_mac(secret_bytes(group_secret), serial)).decode("ascii")


def claim_code(group_secret: str, serial: str) -> str:
    """D5: the code on a device's onboarding label: the first 16 characters of the RFC 4648
    base32 (upper case, no padding) of HMAC-SHA256(group secret, UTF-8 "claim\\n" + serial)."""
    digest = _mac(secret_bytes(group_secret), "claim\n" + serial)
    return base64.b32encode(digest).decode("ascii").rstrip("=")[:CLAIM_CODE_LENGTH]


def onboarding_url(public_url: str, group_id: str, serial: str, code: str) -> str:
    """D5: what an onboarding label's QR holds."""
    return f"{public_url.rstrip('/')}/o/{group_id}/{serial}/{code}"


def activation_message(group_id: str, serial: str, expires: int) -> str:
    return f"{group_id}\n{serial}\n{expires}"


def activation_signature(key: str, group_id: str, serial: str, expires: int) -> str:
    """§6: the proof an activating device sends, keyed with its device key as burned (the
    base64 text, as UTF-8): what the reference client computes."""
    digest = _mac(key.encode("utf-8"), activation_message(group_id, serial, expires))
    return base64.b64encode(digest).decode("ascii")


def check_activation(
    group_secrets: Sequence[str], group_id: str, serial: str, expires: int, signature: str
) -> None:
    """§6, D1, D2: the signature holds under the device key derived from one of the
    group's secrets (the primary, or the secondary during a rotation). §6 says the key is
    "the device key" without saying whether its base64 text or its bytes: both readings
    are accepted, since each needs the key. Compared in constant time."""
    try:
        sent = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        sent = b""
    message = activation_message(group_id, serial, expires)
    matched = False
    for secret in group_secrets:
        key = device_key(secret, serial)
        for keyed in (key.encode("ascii"), base64.b64decode(key)):
            matched |= hmac.compare_digest(sent, _mac(keyed, message))
    if not matched:
        raise InvalidSignature("The signature does not match the device's key.")


# --- allocation (D4) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """Where activated devices are sent (P2): platform-wide, managed by the operator."""

    id: str
    name: str
    api_url: str
    mqtt_url: str
    region: str | None = None
    weight: int = 1
    up: bool = True


MAX_ENVIRONMENT_NAME = 100
MAX_URL = 500
MAX_WEIGHT = 1000
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_URL_SCHEMES = {"api_url": ("http", "https"), "mqtt_url": ("mqtt", "mqtts", "ws", "wss")}


def _check_url(field_name: str, raw: str) -> str:
    url = raw.strip()
    schemes = _URL_SCHEMES[field_name]
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in schemes or not parts.hostname:
        raise Invalid(
            f"The {field_name} is a {' or '.join(schemes)} URL with a host, at most {MAX_URL} "
            "characters.",
            fields={field_name: f"a {'/'.join(schemes)} URL"},
        )
    return url


def checked_environment(environment: Environment) -> Environment:
    """P2: an environment as the operator defines it, checked and cleaned: a name of
    letters, digits, dots, hyphens and underscores (devices and logs show it), an http(s)
    API URL, an MQTT URL, a weight from 0 (never chosen) to 1000."""
    name = environment.name.strip()
    if not _ENVIRONMENT_NAME.match(name):
        raise Invalid(
            f"An environment's name has 1 to {MAX_ENVIRONMENT_NAME} letters, digits, dots, "
            "hyphens and underscores.",
            fields={"name": "letters, digits, . _ -"},
        )
    if not 0 <= environment.weight <= MAX_WEIGHT:
        raise Invalid(
            f"A weight is from 0 to {MAX_WEIGHT}.", fields={"weight": f"0 to {MAX_WEIGHT}"}
        )
    region = (environment.region or "").strip() or None
    if region is not None and len(region) > MAX_ENVIRONMENT_NAME:
        raise Invalid(
            f"A region has at most {MAX_ENVIRONMENT_NAME} characters.",
            fields={"region": "too long"},
        )
    return replace(
        environment,
        name=name,
        region=region,
        api_url=_check_url("api_url", environment.api_url),
        mqtt_url=_check_url("mqtt_url", environment.mqtt_url),
    )


def _unit(name: str, serial: str) -> float:
    """A number in (0, 1) that depends only on the environment and the serial."""
    digest = hashlib.sha256(f"{name}\n{serial}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 2)


def allocate(
    policy: AllocationPolicy,
    environments: Sequence[Environment],
    serial: str,
    chance: float,
) -> Environment | None:
    """D4: the environment an activating device is sent to, among ``environments`` (the
    group's, in its order), skipping those marked down; None when none is up. ``chance``
    is a number in [0, 1) drawn for the weighted policy. Hashed is rendezvous hashing
    with weights: an environment going down moves only its own devices."""
    up = [e for e in environments if e.up and e.weight > 0]
    if not up:
        return None
    if policy is AllocationPolicy.STATIC:
        return up[0]
    if policy is AllocationPolicy.WEIGHTED:
        point = chance * sum(e.weight for e in up)
        for environment in up:
            point -= environment.weight
            if point < 0:
                return environment
        return up[-1]
    return max(up, key=lambda e: -e.weight / math.log(_unit(e.name, serial)))
