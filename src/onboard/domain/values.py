"""Value rules shared across the domain: identifiers, emails, names, passwords."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from functools import lru_cache

from onboard.domain.errors import Invalid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]{2,}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 200


_PAIRS = [high + low for high in CROCKFORD for low in CROCKFORD]  # 10 bits: two digits


def crockford32(data: bytes) -> str:
    """Encode bytes in Crockford base32, uppercase, no padding (5 bits a character), read
    as one big-endian number; two digits a step, as tokens and ids are made by the
    million."""
    length = (len(data) * 8 + 4) // 5
    number = int.from_bytes(data, "big")
    pairs = []
    for _ in range((length + 1) // 2):
        pairs.append(_PAIRS[number & 1023])
        number >>= 10
    digits = "".join(reversed(pairs))
    return digits[len(digits) - length :]


ENTROPY_BYTES = 16  # random bytes behind 16 Crockford digits: 80 bits
_DIGIT_OF_BYTE = bytes(ord(CROCKFORD[byte & 31]) for byte in range(256))


def crockford_digits(entropy: bytes) -> str:
    """One Crockford digit a byte, from its low 5 bits: random bytes give random digits,
    each of the 32 equally likely (256 is a multiple of 32). One C call for any length."""
    return entropy.translate(_DIGIT_OF_BYTE).decode("ascii")


def new_id(at: datetime, entropy: bytes) -> str:
    """A 26-character, time-ordered opaque id: 10 digits of milliseconds (48 bits), then
    16 random digits (80 bits)."""
    if len(entropy) != ENTROPY_BYTES:
        raise ValueError(f"an id needs exactly {ENTROPY_BYTES} bytes of entropy")
    return _time_digits(int(at.timestamp() * 1000)) + crockford_digits(entropy)


def id_after(previous: str) -> str:
    """The id that sorts right after ``previous`` within its millisecond (its random part
    plus one), so that ids made in one millisecond by one process keep their order."""
    digits = list(previous)
    for position in range(len(digits) - 1, 9, -1):
        value = CROCKFORD.index(digits[position]) + 1
        digits[position] = CROCKFORD[value % 32]
        if value < 32:
            return "".join(digits)
    raise OverflowError("no id after this one in its millisecond")


@lru_cache(maxsize=64)
def _time_digits(millis: int) -> str:
    """Ids made in the same millisecond share these digits: written once, not per id."""
    return crockford32(millis.to_bytes(6, "big"))


def normalize_email(raw: str) -> str:
    """Trim and lowercase an email address, refusing what cannot be one."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise Invalid("Enter a valid email address.", fields={"email": "not a valid email"})
    return email


def require_name(raw: str, *, field: str = "name") -> str:
    """A display name: trimmed, 1 to 200 characters, none of them control characters
    (which PostgreSQL text cannot always hold, and no one can see)."""
    name = " ".join(raw.split())
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise Invalid(
            f"The {field} must not contain control characters.",
            fields={field: "no control characters"},
        )
    if not name:
        raise Invalid(f"The {field} must not be empty.", fields={field: "required"})
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            f"The {field} is longer than {MAX_NAME_LENGTH} characters.",
            fields={field: f"at most {MAX_NAME_LENGTH} characters"},
        )
    return name


def check_password(password: str) -> str:
    """A password long enough to resist guessing, short enough to hash cheaply."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": f"at least {MIN_PASSWORD_LENGTH} characters"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            f"The password must have at most {MAX_PASSWORD_LENGTH} characters.",
            fields={"password": f"at most {MAX_PASSWORD_LENGTH} characters"},
        )
    return password


def digest_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (API token, session, credential): what gets stored.
    Such secrets need no slow hash; passwords use argon2id instead."""
    return hashlib.sha256(secret.encode()).hexdigest()
