"""Password hashing and sealed browser values."""

from __future__ import annotations

from onboard.adapters.crypto import Argon2Passwords, Sealer


def test_a_sealed_value_opens_only_with_the_same_key_and_purpose() -> None:
    sealed = Sealer("key-one", purpose="notice").seal(b"one-time password: hunter22")

    assert b"hunter22" not in sealed.encode()
    assert Sealer("key-one", purpose="notice").open(sealed, max_age_seconds=60) == (
        b"one-time password: hunter22"
    )
    assert Sealer("key-two", purpose="notice").open(sealed, max_age_seconds=60) is None
    assert Sealer("key-one", purpose="other").open(sealed, max_age_seconds=60) is None


def test_a_tampered_or_garbage_token_does_not_open() -> None:
    sealer = Sealer("key", purpose="notice")
    sealed = sealer.seal(b"data")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert sealer.open(tampered, max_age_seconds=60) is None
    assert sealer.open("not a token é", max_age_seconds=60) is None


def test_passwords_verify_only_against_their_own_hash() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_kib=1024)
    stored = passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "wrong horse battery")
    assert not passwords.verify("not a hash", "correct horse battery")
