"""Access codes: the QR stickers that give people access to one device (SPEC A1, A2,
A10-A13)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from onboard.domain.errors import CodeDeactivated, CodeNotPaired, Invalid
from onboard.domain.values import crockford_digits

TOKEN_BYTES = 16  # a byte a digit: 80 bits from a CSPRNG in 16 characters (A2: >= 64)
TOKEN_LENGTH = 16
PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")
MAX_LABEL_LENGTH = 100
MAX_BATCH_LENGTH = 100
MAX_MESSAGE_LENGTH = 2000
MAX_CONTACT_LENGTH = 200
PIN_ATTEMPTS = 5
PIN_LOCK_SECONDS = 15 * 60

# Crockford base32 reads O as 0 and I, L as 1: a token typed from a sticker still resolves.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_TOKEN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{16}$")
MIN_TOKEN_PREFIX = 4  # shorter starts match too many codes to be worth an index probe
_TOKEN_PREFIX = re.compile(rf"^[0-9A-HJKMNP-TV-Z]{{{MIN_TOKEN_PREFIX},{TOKEN_LENGTH}}}$")


def new_token(entropy: bytes) -> str:
    """A code token: 16 uppercase Crockford digits of 5 random bits each, 80 bits (A2)."""
    if len(entropy) != TOKEN_BYTES:
        raise ValueError(f"a token needs exactly {TOKEN_BYTES} bytes of entropy")
    return crockford_digits(entropy)


def normalize_token(raw: str) -> str | None:
    """The canonical token for what a person or scanner sent, case-insensitive (A2), or
    None when it cannot be a token."""
    token = _as_typed(raw)
    return token if _TOKEN.match(token) else None


def normalize_token_prefix(raw: str) -> str | None:
    """The start of a token as a person types it from a sticker, read as normalize_token
    reads a whole one (A2), or None when it is shorter than MIN_TOKEN_PREFIX characters
    or cannot start a token (A16's free-text search)."""
    start = _as_typed(raw)
    return start if _TOKEN_PREFIX.match(start) else None


def _as_typed(raw: str) -> str:
    return raw.strip().upper().replace("-", "").translate(_READ_AS)


def code_url(public_url: str, token: str) -> str:
    """The code's URL (A2). Stickers print it all uppercase for QR alphanumeric mode; the
    server answers /C/ and lowercase tokens as well."""
    return f"{public_url.rstrip('/')}/c/{token}"


def check_pin(pin: str) -> str:
    """A PIN is 4 to 8 digits (A11)."""
    if not PIN_PATTERN.match(pin):
        raise Invalid("A PIN has 4 to 8 digits.", fields={"pin": "4 to 8 digits"})
    return pin


def check_label(label: str | None) -> str | None:
    if label is None:
        return None
    label = " ".join(label.split())
    if len(label) > MAX_LABEL_LENGTH or any(ord(c) < 32 for c in label):
        raise Invalid(
            f"A label has at most {MAX_LABEL_LENGTH} printable characters.",
            fields={"label": f"at most {MAX_LABEL_LENGTH} characters"},
        )
    return label or None


def check_batch(batch: str | None) -> str | None:
    if batch is None:
        return None
    batch = batch.strip()
    if len(batch) > MAX_BATCH_LENGTH or any(ord(c) < 32 for c in batch):
        raise Invalid(
            f"A batch name has at most {MAX_BATCH_LENGTH} printable characters.",
            fields={"batch": f"at most {MAX_BATCH_LENGTH} characters"},
        )
    return batch or None


@dataclass(frozen=True)
class Code:
    """A sticker's code. ``departments`` are its own (A1); while paired, its effective
    departments are the device's (A8)."""

    id: str
    organization_id: str
    token: str
    label: str | None
    batch: str | None
    active: bool
    pin_hash: str | None
    departments: frozenset[str]
    device_id: str | None
    created_at: datetime
    updated_at: datetime
    payload: str | None = None  # A14: the scanned payload a dynamic code is bound to
    printed_at: datetime | None = None  # its label's first batch print run (issue 5)

    @property
    def pin_protected(self) -> bool:
        return self.pin_hash is not None

    def check_pairable(self) -> None:
        """A6: only an active code can be paired (whether it is free is decided atomically
        by the storage, so two pairings cannot both win)."""
        if not self.active:
            raise CodeDeactivated("A deactivated code cannot be paired; activate it first.")

    def check_paired(self) -> str:
        if self.device_id is None:
            raise CodeNotPaired("The code is not paired with a device.")
        return self.device_id


def effective_departments(code: Code, device_departments: frozenset[str] | None) -> frozenset[str]:
    """A8: a paired code has its device's departments; an unpaired one its own."""
    if code.device_id is not None and device_departments is not None:
        return device_departments
    return code.departments


class PublicState(StrEnum):
    """What a code user sees at /c/{TOKEN}, checked in this order (A12)."""

    NOT_FOUND = "not_found"
    DEACTIVATED = "deactivated"
    UNPAIRED = "unpaired"
    PIN_REQUIRED = "pin_required"
    PAIRED = "paired"


def public_state(code: Code | None, *, pin_entered: bool) -> PublicState:
    """A12's order of checks: unknown, deactivated, unpaired, PIN, then the device."""
    if code is None:
        return PublicState.NOT_FOUND
    if not code.active:
        return PublicState.DEACTIVATED
    if code.device_id is None:
        return PublicState.UNPAIRED
    if code.pin_protected and not pin_entered:
        return PublicState.PIN_REQUIRED
    return PublicState.PAIRED


@dataclass(frozen=True)
class Notification:
    """A message a code user sent from a paired code (A13); kept in the code's history
    until unpairing, and as an interaction of the device for good."""

    id: str
    organization_id: str
    code_id: str
    device_id: str
    interaction_id: str
    message: str
    contact: str | None
    created_at: datetime


def check_message(message: str, contact: str | None) -> tuple[str, str | None]:
    message = message.strip()
    if not message:
        raise Invalid("Write a message.", fields={"message": "required"})
    if len(message) > MAX_MESSAGE_LENGTH:
        raise Invalid(
            f"A message has at most {MAX_MESSAGE_LENGTH} characters.",
            fields={"message": f"at most {MAX_MESSAGE_LENGTH} characters"},
        )
    if "\x00" in message:
        raise Invalid("The message contains a NUL character.", fields={"message": "invalid"})
    if contact is not None:
        contact = " ".join(contact.split()) or None
    if contact is not None and (len(contact) > MAX_CONTACT_LENGTH or "\x00" in contact):
        raise Invalid(
            f"Contact details have at most {MAX_CONTACT_LENGTH} characters.",
            fields={"contact": f"at most {MAX_CONTACT_LENGTH} characters"},
        )
    return message, contact
