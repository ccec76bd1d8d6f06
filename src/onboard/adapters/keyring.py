"""Encryption at rest of the secrets devices prove themselves with (SPEC C1: access keys;
D1: group secrets): AES-256-GCM under a keyring from the settings. The first key encrypts;
every key decrypts, so a new key can be put first on every server, the stored values
re-encrypted under it (`onboard keys rotate`) while they keep working, and the old key
dropped afterwards: a rotation without downtime."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")


class KeyringError(ValueError):
    """A keyring setting that cannot be used, or a sealed value that cannot be opened."""


@dataclass(frozen=True)
class DataKey:
    id: str
    secret: bytes


def new_key_entry(key_id: str) -> str:
    """A new key as the setting lists it: ``id:base64``, from the system's randomness."""
    if not _KEY_ID.fullmatch(key_id):
        raise KeyringError("A key id has 1 to 20 letters, digits, '-' or '_'.")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"


class Keyring:
    """Seals and opens short secrets. A sealed value reads ``v1.<key id>.<base64>``: the
    key it was sealed under, then nonce and ciphertext with its tag. ``context`` is bound
    to the value (authenticated, not stored), so a value copied to another record, or to
    another kind of secret, does not open."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        if not keys:
            raise KeyringError("The keyring needs at least one key.")
        ids = [k.id for k in keys]
        if len(set(ids)) != len(ids):
            raise KeyringError("Each key of the keyring needs its own id.")
        self._current = keys[0]
        self._ciphers = {k.id: AESGCM(k.secret) for k in keys}

    @classmethod
    def parse(cls, setting: str) -> Keyring:
        """The keyring from its setting: ``id:base64`` entries separated by commas, the
        current key first."""
        keys: list[DataKey] = []
        for entry in (e.strip() for e in setting.split(",")):
            key_id, _, encoded = entry.partition(":")
            if not _KEY_ID.fullmatch(key_id):
                raise KeyringError("Each key reads id:base64, the id of letters and digits.")
            try:
                secret = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise KeyringError(f"Key {key_id!r} is not base64.") from None
            if len(secret) != KEY_BYTES:
                raise KeyringError(f"Key {key_id!r} must be {KEY_BYTES} bytes (AES-256).")
            keys.append(DataKey(key_id, secret))
        return cls(keys)

    @property
    def current_id(self) -> str:
        return self._current.id

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current.id].encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        body = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{VERSION}.{self._current.id}.{body}"

    def open(self, sealed: str, *, context: str) -> str:
        version, key_id, body = _parts(sealed)
        cipher = self._ciphers.get(key_id)
        if version != VERSION or cipher is None:
            raise KeyringError(
                f"A value is sealed under key {key_id!r}, which the keyring does not hold."
            )
        try:
            raw = base64.b64decode(body, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (binascii.Error, InvalidTag, UnicodeDecodeError):
            raise KeyringError("A sealed value is damaged or belongs elsewhere.") from None

    def is_current(self, sealed: str) -> bool:
        """Whether the value is sealed under the current key (rotation skips it)."""
        return _parts(sealed)[1] == self._current.id


def _parts(sealed: str) -> tuple[str, str, str]:
    version, _, rest = sealed.partition(".")
    key_id, _, body = rest.partition(".")
    return version, key_id, body
