"""The keyring that seals device secrets at rest (SPEC C1, D1): AES-256-GCM, values bound
to their context, every key opens, the first seals, and a damaged, foreign or moved value
never opens."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.adapters.keyring import DataKey, Keyring, KeyringError, new_key_entry


def ring(*ids: str) -> Keyring:
    return Keyring.parse(",".join(new_key_entry(i) for i in ids))


@given(st.text(max_size=300), st.text(max_size=60))
def test_a_sealed_value_opens_to_itself_in_its_context(plaintext: str, context: str) -> None:
    keys = ring("k1")
    sealed = keys.seal(plaintext, context=context)
    assert keys.open(sealed, context=context) == plaintext


def test_sealing_twice_gives_different_values_under_the_current_key() -> None:
    keys = ring("new", "old")
    first, second = (keys.seal("secret-access-key", context="enrollment:1") for _ in range(2))
    assert first != second  # a fresh nonce each time
    assert first.startswith("v1.new.")
    assert keys.is_current(first)
    assert "secret-access-key" not in first
    assert base64.b64encode(b"secret-access-key").decode() not in first


def test_a_value_does_not_open_in_another_context_or_damaged() -> None:
    keys = ring("k1")
    sealed = keys.seal("secret-access-key", context="enrollment:1")
    with pytest.raises(KeyringError):
        keys.open(sealed, context="enrollment:2")
    body = base64.b64decode(sealed.split(".", 2)[2])
    flipped = bytes([body[-1] ^ 1])
    damaged = "v1.k1." + base64.b64encode(body[:-1] + flipped).decode()
    for bad in (damaged, "v1.k1.not base64!", "v2.k1." + sealed.split(".", 2)[2], "junk"):
        with pytest.raises(KeyringError):
            keys.open(bad, context="enrollment:1")


def test_rotation_every_key_opens_the_first_seals_and_a_dropped_key_no_longer_opens() -> None:
    """The steps of `onboard keys rotate`: put a new key first, re-seal, drop the old."""
    old_entry, new_entry = new_key_entry("k1"), new_key_entry("k2")
    before = Keyring.parse(old_entry)
    sealed = before.seal("secret-access-key", context="enrollment:1")

    during = Keyring.parse(f"{new_entry},{old_entry}")
    assert not during.is_current(sealed)
    assert during.open(sealed, context="enrollment:1") == "secret-access-key"
    resealed = during.seal(during.open(sealed, context="enrollment:1"), context="enrollment:1")
    assert during.is_current(resealed)

    after = Keyring.parse(new_entry)
    assert after.open(resealed, context="enrollment:1") == "secret-access-key"
    with pytest.raises(KeyringError, match="does not hold"):
        after.open(sealed, context="enrollment:1")


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "k1",
        "k1:not-base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        "bad id:" + base64.b64encode(bytes(32)).decode(),
        ",".join(["k1:" + base64.b64encode(bytes(32)).decode()] * 2),
    ],
)
def test_a_keyring_setting_that_cannot_work_is_refused(setting: str) -> None:
    with pytest.raises(KeyringError):
        Keyring.parse(setting)


def test_a_key_entry_is_an_id_and_32_random_bytes() -> None:
    key_id, _, encoded = new_key_entry("2026-11").partition(":")
    assert key_id == "2026-11"
    assert len(base64.b64decode(encoded)) == 32
    assert new_key_entry("a") != new_key_entry("a")
    with pytest.raises(KeyringError):
        new_key_entry("no spaces")
    with pytest.raises(KeyringError):
        Keyring([])
    assert Keyring([DataKey("x", bytes(32))]).current_id == "x"
