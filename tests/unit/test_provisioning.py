"""The provisioning rules of SPEC Part D, checked against the text of D1, D2, D5 and §6
with the test's own HMAC code: group secrets, device keys, claim codes, the activation
proof, and the allocation of environments (D4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.domain.errors import Invalid, InvalidSignature
from onboard.domain.provisioning import (
    AllocationPolicy,
    Environment,
    activation_signature,
    allocate,
    check_activation,
    check_group_id,
    claim_code,
    device_key,
    new_group_secret,
    onboarding_url,
)

SECRET = base64.b64encode(bytes(range(32))).decode()
serials = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
    min_size=1,
    max_size=40,
)


def hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def test_a_group_secret_is_32_random_bytes_in_base64() -> None:
    secret = new_group_secret(b"\x01" * 32)
    assert base64.b64decode(secret) == b"\x01" * 32
    with pytest.raises(ValueError, match="32 random bytes"):
        new_group_secret(b"short")


@given(serials)
def test_the_device_key_is_d2_exactly(serial: str) -> None:
    expected = base64.b64encode(hmac256(bytes(range(32)), serial)).decode()
    assert device_key(SECRET, serial) == expected


def test_a_known_device_key_and_claim_code() -> None:
    """Fixed vectors, so that a change of the rule cannot pass unnoticed."""
    key = base64.b64encode(hmac256(bytes(range(32)), "SN-0001")).decode()
    code = base64.b32encode(hmac256(bytes(range(32)), "claim\nSN-0001")).decode()[:16]
    assert device_key(SECRET, "SN-0001") == key
    assert claim_code(SECRET, "SN-0001") == code
    assert len(code) == 16
    assert code == code.upper()
    assert "=" not in code


@given(serials)
def test_the_claim_code_is_d5_exactly(serial: str) -> None:
    digest = hmac256(bytes(range(32)), "claim\n" + serial)
    assert claim_code(SECRET, serial) == base64.b32encode(digest).decode().rstrip("=")[:16]


def test_a_secret_that_is_not_32_bytes_of_base64_is_refused() -> None:
    for wrong in ("", "not base64!", base64.b64encode(b"x" * 31).decode()):
        with pytest.raises(Invalid):
            device_key(wrong, "SN-1")


def test_the_onboarding_url_holds_group_serial_and_claim_code() -> None:
    url = onboarding_url("https://onboard.example/", "grp-1", "SN-1", "ABCDEFGHIJKLMNOP")
    assert url == "https://onboard.example/o/grp-1/SN-1/ABCDEFGHIJKLMNOP"


def _signed(key: bytes, serial: str, expires: int) -> str:
    return base64.b64encode(hmac256(key, f"grp-1\n{serial}\n{expires}")).decode()


def test_the_activation_proof_holds_under_either_reading_of_the_device_key() -> None:
    """§6 keys the proof with "the device key": its base64 text or its bytes."""
    key = device_key(SECRET, "SN-7")
    as_text = _signed(key.encode(), "SN-7", 1_900_000_000)
    as_bytes = _signed(base64.b64decode(key), "SN-7", 1_900_000_000)

    assert activation_signature(key, "grp-1", "SN-7", 1_900_000_000) == as_text
    check_activation([SECRET], "grp-1", "SN-7", 1_900_000_000, as_text)
    check_activation([SECRET], "grp-1", "SN-7", 1_900_000_000, as_bytes)


def test_a_proof_for_another_serial_group_time_or_secret_is_refused() -> None:
    key = device_key(SECRET, "SN-7")
    good = activation_signature(key, "grp-1", "SN-7", 1_900_000_000)
    other_secret = base64.b64encode(b"\x09" * 32).decode()
    for group, serial, expires, secrets, signature in (
        ("grp-1", "SN-8", 1_900_000_000, [SECRET], good),
        ("grp-2", "SN-7", 1_900_000_000, [SECRET], good),
        ("grp-1", "SN-7", 1_900_000_001, [SECRET], good),
        ("grp-1", "SN-7", 1_900_000_000, [other_secret], good),
        ("grp-1", "SN-7", 1_900_000_000, [SECRET], "not base64"),
        ("grp-1", "SN-7", 1_900_000_000, [SECRET], ""),
    ):
        with pytest.raises(InvalidSignature):
            check_activation(secrets, group, serial, expires, signature)


def test_during_a_rotation_the_secondary_secret_still_activates() -> None:
    """D1: devices burned with the old secret activate while it is the secondary."""
    new = base64.b64encode(b"\x07" * 32).decode()
    signature = activation_signature(device_key(SECRET, "SN-1"), "grp-1", "SN-1", 5)
    check_activation([new, SECRET], "grp-1", "SN-1", 5, signature)
    with pytest.raises(InvalidSignature):
        check_activation([new], "grp-1", "SN-1", 5, signature)


# --- allocation (D4) ----------------------------------------------------------------------

EU = Environment("e1", "eu", "https://eu", "mqtts://eu", weight=3)
US = Environment("e2", "us", "https://us", "mqtts://us", weight=1)
AP = Environment("e3", "ap", "https://ap", "mqtts://ap", weight=1)


def _down(environment: Environment) -> Environment:
    return Environment(**{**environment.__dict__, "up": False})


def test_static_takes_the_first_environment_that_is_up() -> None:
    assert allocate(AllocationPolicy.STATIC, [EU, US], "SN-1", 0.5) == EU
    assert allocate(AllocationPolicy.STATIC, [_down(EU), US], "SN-1", 0.5) == US
    assert allocate(AllocationPolicy.STATIC, [_down(EU), _down(US)], "SN-1", 0.5) is None


def test_weighted_follows_the_weights_and_skips_what_is_down() -> None:
    drawn = Counter(
        allocate(AllocationPolicy.WEIGHTED, [EU, US], "SN", n / 1000).name  # type: ignore[union-attr]
        for n in range(1000)
    )
    assert drawn == {"eu": 750, "us": 250}
    assert allocate(AllocationPolicy.WEIGHTED, [_down(EU), US], "SN", 0.1) == US


def test_hashed_keeps_a_serial_where_it_is_and_moves_only_the_down_environment_s() -> None:
    everyone = [f"SN-{n}" for n in range(3000)]
    before = {s: allocate(AllocationPolicy.HASHED, [EU, US, AP], s, 0.0) for s in everyone}
    again = {s: allocate(AllocationPolicy.HASHED, [EU, US, AP], s, 0.9) for s in everyone}
    after = {s: allocate(AllocationPolicy.HASHED, [EU, _down(US), AP], s, 0.0) for s in everyone}

    assert before == again, "the serial decides, not chance"
    share = Counter(e.name for e in before.values() if e)
    assert 0.55 < share["eu"] / len(everyone) < 0.65  # weight 3 of 5
    moved = [s for s in everyone if before[s] != after[s]]
    assert moved
    assert all(before[s] == US for s in moved), "only the down environment's devices move"
    assert all(after[s] != US for s in everyone)


def test_a_group_id_is_a_short_lower_case_slug() -> None:
    assert check_group_id(" meters-2026 ") == "meters-2026"
    for wrong in ("", "ab", "Meters", "-lead", "has space", "x" * 65, "grp_1"):
        with pytest.raises(Invalid):
            check_group_id(wrong)
