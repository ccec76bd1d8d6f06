"""Enrollment of connected devices (SPEC Part C): the record that puts a device under
management, its states and the only transitions between them (C2), who may enroll (C8),
and the signed proof a device sends to enroll itself (§6)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onboard.domain.access import Actor, ActorKind, Role
from onboard.domain.dynamic_codes import DynamicRule, Patterns, RuleKind
from onboard.domain.errors import (
    EnrollmentForbidden,
    Invalid,
    InvalidSignature,
    InvalidTransition,
    SignatureExpired,
)

MAX_SERIAL = 100
MIN_ACCESS_KEY = 8
MAX_ACCESS_KEY = 200
MAX_REASON = 500
MAX_NAME = 200
MAX_LOCATION = 500
MAX_CAPABILITIES_BYTES = 16 * 1024
# §6: a proof names when it stops being valid, at most an hour ahead.
SIGNATURE_HORIZON = timedelta(hours=1)


class EnrollmentState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    UNENROLL_PENDING = "unenroll_pending"
    UNENROLLED = "unenrolled"


class DeviceKind(StrEnum):
    GATEWAY = "gateway"  # enrolls nodes near it (C4)
    NODE = "node"  # enrolled through a gateway or the mobile app (C4, C5)
    DIRECT = "direct"  # reaches the platform and enrolls itself (C3)


S = EnrollmentState
# C2, and nothing else: a failed enrollment is retried from pending; deleting any record
# that is not already on its way out queues its unenrollment.
TRANSITIONS: dict[EnrollmentState, frozenset[EnrollmentState]] = {
    S.PENDING: frozenset({S.IN_PROGRESS, S.UNENROLL_PENDING}),
    S.IN_PROGRESS: frozenset({S.DONE, S.FAILED, S.UNENROLL_PENDING}),
    S.DONE: frozenset({S.UNENROLL_PENDING}),
    S.FAILED: frozenset({S.PENDING, S.UNENROLL_PENDING}),
    S.UNENROLL_PENDING: frozenset({S.UNENROLLED}),
    S.UNENROLLED: frozenset(),
}
# The states in which a serial is taken: an unenrolled serial can enroll again (C6).
ACTIVE_STATES = frozenset(set(S) - {S.UNENROLLED})


def check_transition(current: EnrollmentState, wanted: EnrollmentState) -> None:
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"An enrollment that is {current.value.replace('_', ' ')} cannot become "
            f"{wanted.value.replace('_', ' ')}."
        )


@dataclass(frozen=True)
class StateChange:
    """One step of an enrollment's history (C1)."""

    state: EnrollmentState
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Enrollment:
    """A connected device put under management (C1). The access key is not here: it is
    stored encrypted and read only by the use cases that hand it to a gateway or check a
    device's proof."""

    id: str
    organization_id: str
    serial: str
    kind: DeviceKind
    gateway_id: str | None
    name: str | None
    location: str | None
    state: EnrollmentState
    reason: str | None
    device_id: str | None
    created_at: datetime
    updated_at: datetime
    departments: frozenset[str] = frozenset()
    capabilities: dict[str, Any] | None = None
    """What the device reported it can do once enrolled (C3, C4, C5)."""
    photo_key: str | None = None

    def moved_to(
        self, state: EnrollmentState, at: datetime, *, reason: str | None = None
    ) -> Enrollment:
        """This enrollment in ``state``, if C2 allows the step; a failure needs its reason."""
        check_transition(self.state, state)
        if state is S.FAILED and not (reason and reason.strip()):
            raise Invalid("A failed enrollment says why.", fields={"error": "a reason"})
        kept = reason.strip()[:MAX_REASON] if state is S.FAILED and reason else None
        return replace(self, state=state, reason=kept, updated_at=at)


@dataclass(frozen=True)
class Sighting:
    """A serial a gateway sees, with its signal strength in dBm when known (C4)."""

    serial: str
    rssi: int | None


@dataclass(frozen=True)
class Nearby:
    """A serial a gateway reported, not enrolled yet: offered for enrollment (C4, C9)."""

    gateway_id: str
    serial: str
    rssi: int | None
    seen_at: datetime


@dataclass(frozen=True)
class EnrollmentFilter:
    states: frozenset[EnrollmentState] = frozenset()
    kind: DeviceKind | None = None
    gateway_id: str | None = None
    serial: str | None = None
    device_id: str | None = None


def may_enroll(actor: Actor) -> bool:
    """C8: an Administrator, or a member who is both Device Manager and IoT Manager (the
    operator, acting for the organization, may too)."""
    if actor.kind is ActorKind.OPERATOR:
        return True
    if actor.kind not in (ActorKind.MEMBER, ActorKind.TOKEN):  # a token acts for its member
        return False
    roles = actor.roles
    return Role.ADMINISTRATOR in roles or {Role.DEVICE_MANAGER, Role.IOT_MANAGER} <= roles


def require_enroll(actor: Actor) -> None:
    if not may_enroll(actor):
        raise EnrollmentForbidden(
            "Only Administrators, or members who are both Device Manager and IoT Manager, "
            "create, import or delete enrollments."
        )


def check_serial(raw: str) -> str:
    """A serial number as printed: trimmed, 1 to 100 printable characters without spaces
    inside."""
    serial = raw.strip()
    # Every white space but the ASCII space is a separator or a control character, which
    # isprintable() refuses: one C-speed call for a million rows of a list (C7).
    if not 1 <= len(serial) <= MAX_SERIAL or not serial.isprintable() or " " in serial:
        raise Invalid(
            f"A serial number has 1 to {MAX_SERIAL} printable characters and no spaces.",
            fields={"serial": f"1 to {MAX_SERIAL} printable characters, no spaces"},
        )
    return serial


def check_access_key(raw: str) -> str:
    """A device's access key as its QR or the manufacturer's list gives it."""
    key = raw.strip()
    if not MIN_ACCESS_KEY <= len(key) <= MAX_ACCESS_KEY or not key.isprintable():
        raise Invalid(
            f"An access key has {MIN_ACCESS_KEY} to {MAX_ACCESS_KEY} printable characters.",
            fields={"access_key": f"{MIN_ACCESS_KEY} to {MAX_ACCESS_KEY} printable characters"},
        )
    return key


def enroll_message(serial: str, expires: int) -> bytes:
    """§6: what a device signs with its access key to enroll."""
    return f"{serial}\n{expires}".encode()


def enroll_signature(access_key: str, serial: str, expires: int) -> str:
    """The proof a device holding ``access_key`` sends (§6): what the reference client
    computes, and what the platform recomputes."""
    digest = hmac.new(access_key.encode(), enroll_message(serial, expires), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def check_expiry(expires: int, now: datetime) -> None:
    """§6: a proof is valid until ``expires`` (Unix seconds), at most an hour ahead."""
    moment = int(now.timestamp())
    if expires < moment or expires > moment + int(SIGNATURE_HORIZON.total_seconds()):
        raise SignatureExpired(
            "The signature's expiry is in the past or more than an hour ahead; sign again "
            "with the current time."
        )


def check_signature(expected: str, given: str) -> None:
    """Compare a proof with the one recomputed, in constant time; anything that is not
    standard base64 of 32 bytes is simply wrong."""
    try:
        sent = base64.b64decode(given.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        sent = b""
    if not hmac.compare_digest(sent, base64.b64decode(expected)):
        raise InvalidSignature("The signature does not match the device's key.")


def check_capabilities(raw: object) -> dict[str, Any]:
    """What a device reports it can do: a JSON object of at most 16 KiB."""
    if not isinstance(raw, dict):
        raise Invalid("Capabilities are a JSON object.", fields={"capabilities": "a JSON object"})
    if len(json.dumps(raw, ensure_ascii=False).encode()) > MAX_CAPABILITIES_BYTES:
        raise Invalid(
            f"Capabilities take at most {MAX_CAPABILITIES_BYTES // 1024} KiB.",
            fields={"capabilities": f"at most {MAX_CAPABILITIES_BYTES} bytes"},
        )
    return raw


def check_text(raw: str | None, field: str, limit: int) -> str | None:
    """An optional name or location: trimmed, empty means none."""
    if raw is None or not raw.strip():
        return None
    text = " ".join(raw.split())
    if len(text) > limit:
        raise Invalid(
            f"The {field} has at most {limit} characters.",
            fields={field: f"at most {limit} characters"},
        )
    return text


@dataclass(frozen=True)
class DeviceLabel:
    """What the QR on a device's back says (C9): its serial and access key."""

    serial: str
    access_key: str


def read_device_label(text: str, matched: Mapping[str, str | None] | None = None) -> DeviceLabel:
    """The serial and access key in a scanned device QR (C9): the groups ``serial`` and
    ``key`` of the organization's own pattern when it matched (``matched``), else a JSON
    object ``{"serial": ..., "key": ...}``, else the default ``SERIAL:ACCESSKEY``."""
    if matched is not None:
        serial, key = matched.get("serial"), matched.get("key")
    else:
        serial, key = _json_label(text) or _colon_label(text)
    if not serial or not key:
        raise Invalid(
            "This QR code holds no serial number and access key (SERIAL:ACCESSKEY, or JSON "
            'with "serial" and "key").',
            fields={"payload": "not a device label"},
        )
    return DeviceLabel(check_serial(serial), check_access_key(key))


def label_groups(
    rules: Sequence[DynamicRule], text: str, patterns: Patterns
) -> Mapping[str, str | None] | None:
    """The named groups of the first of an organization's enrollment patterns that matches
    the whole text (C9), or None when none does (or it has none)."""
    for rule in rules:
        if rule.kind is RuleKind.ENROLLMENT and rule.pattern:
            groups = patterns.fullmatch(rule.pattern, text)
            if groups is not None:
                return groups
    return None


def _json_label(text: str) -> tuple[str | None, str | None] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    serial, key = found.get("serial"), found.get("key")
    return (
        serial if isinstance(serial, str) else None,
        key if isinstance(key, str) else None,
    )


def _colon_label(text: str) -> tuple[str | None, str | None]:
    serial, colon, key = text.strip().partition(":")
    return (serial, key) if colon else (None, None)
