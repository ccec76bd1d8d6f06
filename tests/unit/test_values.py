"""Identifiers, emails, names and passwords (SPEC §5: ids are opaque strings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.adapters.system import RandomIds
from onboard.domain.errors import Invalid
from onboard.domain.values import (
    CROCKFORD,
    check_password,
    crockford32,
    digest_secret,
    id_after,
    new_id,
    normalize_email,
    require_name,
)

MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_ids_are_26_crockford_characters() -> None:
    ident = new_id(MOMENT, bytes(range(16)))
    assert len(ident) == 26
    assert set(ident) <= set(CROCKFORD)


@given(
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=16, max_size=16),
    st.integers(min_value=1, max_value=10**9),
)
def test_a_later_id_sorts_after_an_earlier_one_whatever_the_entropy(
    first: bytes, second: bytes, millis: int
) -> None:
    earlier = new_id(MOMENT, first)
    later = new_id(MOMENT + timedelta(milliseconds=millis), second)
    assert earlier < later


def test_crockford_encoding_has_no_ambiguous_letters() -> None:
    encoded = crockford32(b"\xff" * 10 + b"\x00" * 5)
    assert not set(encoded) & set("ILOU")


def _five_bits_at_a_time(data: bytes) -> str:
    """The definition: the bytes as one big-endian number, written 5 bits a digit."""
    number = int.from_bytes(data, "big")
    digits = [CROCKFORD[(number >> shift) & 31] for shift in range(0, len(data) * 8, 5)]
    return "".join(reversed(digits))


@given(st.binary(max_size=40))
def test_crockford_encoding_writes_the_bytes_as_one_number_five_bits_a_digit(data: bytes) -> None:
    assert crockford32(data) == _five_bits_at_a_time(data)


def test_crockford_encoding_of_known_values() -> None:
    assert crockford32(b"") == ""
    assert crockford32(b"\x01") == "01"
    assert crockford32(b"\xff" * 10) == "Z" * 16
    assert crockford32(bytes(16)) == "0" * 26
    assert crockford32(b"\xff" * 16) == "7" + "Z" * 25  # 128 bits: the first digit holds 3


def test_emails_are_trimmed_and_lowercased() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "a b@example.com",
        "ada@example",
        "x" * 250 + "@example.com",
    ],
)
def test_malformed_emails_are_refused_with_a_field_error(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_email(raw)
    assert caught.value.fields == {"email": "not a valid email"}


def test_names_are_trimmed_and_must_not_be_empty_or_huge() -> None:
    assert require_name("  North   side ") == "North side"
    with pytest.raises(Invalid):
        require_name("   ")
    with pytest.raises(Invalid):
        require_name("x" * 201)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(Invalid):
        check_password("short")
    assert check_password("long enough password") == "long enough password"


def test_secret_digests_are_stable_and_do_not_contain_the_secret() -> None:
    digest = digest_secret("onb_secret")
    assert digest == digest_secret("onb_secret")
    assert "secret" not in digest
    assert len(digest) == 64


@pytest.mark.parametrize("raw", ["North\x00", "a\x07b", "\x1b[31mred"])
def test_names_with_control_characters_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        require_name(raw)


def test_emails_with_control_characters_are_refused() -> None:
    with pytest.raises(Invalid):
        normalize_email("ada\x00@example.com")


def test_the_id_after_another_sorts_right_after_it_in_its_millisecond() -> None:
    base = new_id(datetime(2026, 1, 1, tzinfo=UTC), bytes(range(16)))
    assert id_after(base) > base
    assert id_after(base)[:10] == base[:10]
    assert id_after(base[:10] + "0" * 15 + "Z") == base[:10] + "0" * 14 + "10"
    with pytest.raises(OverflowError):
        id_after(base[:10] + "Z" * 16)


def test_ids_made_in_one_process_keep_their_order_within_a_millisecond() -> None:
    ids = RandomIds()
    made = [ids.new() for _ in range(5000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
