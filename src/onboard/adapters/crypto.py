"""Password hashing with argon2id, and sealing of values that browsers hold."""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Argon2Passwords:
    """argon2id hashes; verification is constant-time inside the library."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=4)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class Sealer:
    """Authenticated encryption of small values that browsers hold for us (Fernet: AES-CBC
    with HMAC-SHA256 and a timestamp), under a key derived from the secret key for one
    purpose, so a value sealed for one use cannot be opened for another."""

    def __init__(self, secret_key: str, *, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"onboard:{purpose}".encode()
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def open(self, token: str, *, max_age_seconds: int) -> bytes | None:
        """The sealed bytes, or None when the token is forged, foreign or too old."""
        try:
            return self._fernet.decrypt(token.encode("ascii"), ttl=max_age_seconds)
        except (InvalidToken, UnicodeEncodeError):
            return None


class HmacSigner:
    """HMAC-SHA256 signatures under a key derived from the secret key for one purpose."""

    def __init__(self, secret_key: str, *, purpose: str) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"onboard:{purpose}".encode()
        ).derive(secret_key.encode())

    def sign(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)
