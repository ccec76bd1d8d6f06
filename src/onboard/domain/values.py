"""Value rules shared across the domain: identifiers, emails, names, passwords."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from onboard.domain.errors import Invalid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]{2,}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 200


def crockford32(data: bytes) -> str:
    """Encode bytes in Crockford base32, uppercase, no padding (5 bits a character)."""
    number = int.from_bytes(data, "big")
    length = (len(data) * 8 + 4) // 5
    chars = []
    for _ in range(length):
        chars.append(CROCKFORD[number & 31])
        number >>= 5
    return "".join(reversed(chars))


def new_id(at: datetime, entropy: bytes) -> str:
    """A 26-character, time-ordered opaque id: 48 bits of milliseconds and 80 of entropy."""
    if len(entropy) != 10:
        raise ValueError("an id needs exactly 10 bytes of entropy")
    millis = int(at.timestamp() * 1000)
    return crockford32(millis.to_bytes(6, "big") + entropy)


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
