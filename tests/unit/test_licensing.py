"""The rules of licensed client devices (SPEC B1-B8): what a pairing code is and how it is
read from a scan, the order in which a code is refused (B7), licenses' status, single-use
lifetimes and configuration ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.domain.errors import (
    Invalid,
    PairingCodeExpired,
    PairingCodeRevoked,
    PairingCodeUsed,
)
from onboard.domain.licensing import (
    PAIRING_CODE_BYTES,
    License,
    LicenseStatus,
    PairingCode,
    PairingCodeKind,
    check_configuration_body,
    check_hardware_id,
    check_license_count,
    check_ttl,
    check_validity,
    code_digest,
    configuration_etag,
    new_pairing_code,
    pairing_url,
    read_pairing_code,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def code(**changes: object) -> PairingCode:
    fields: dict[str, object] = {
        "id": "P1", "organization_id": "O1", "product_id": "PR1",
        "kind": PairingCodeKind.REUSABLE, "expires_at": NOW + timedelta(days=30),
        "max_uses": None, "uses": 0, "revoked_at": None, "license_id": None, "created_at": NOW,
    }  # fmt: skip
    fields.update(changes)
    return PairingCode(**fields)  # type: ignore[arg-type]


@given(st.binary(min_size=PAIRING_CODE_BYTES, max_size=PAIRING_CODE_BYTES))
def test_a_pairing_code_reads_back_from_itself_and_from_its_link_in_any_case(
    entropy: bytes,
) -> None:
    made = new_pairing_code(entropy)
    link = pairing_url("https://onboard.example.com/", made)

    assert read_pairing_code(made) == made
    assert read_pairing_code(made.lower()) == made
    assert read_pairing_code(link) == made
    assert read_pairing_code(link.upper()) == made  # a QR in alphanumeric mode
    assert read_pairing_code(f"  {link}/  ") == made
    assert read_pairing_code(link.split("://", 1)[1]) == made  # scanned without the scheme


@pytest.mark.parametrize(
    "scanned",
    ["", "short", "https://onboard.example.com/p/", "U" * PAIRING_CODE_BYTES, "0" * 21],
)
def test_what_cannot_be_a_pairing_code_reads_as_none(scanned: str) -> None:
    assert read_pairing_code(scanned) is None


def test_a_pairing_code_needs_its_entropy_and_is_stored_as_a_digest() -> None:
    with pytest.raises(ValueError, match="entropy"):
        new_pairing_code(b"\x00" * 10)
    made = new_pairing_code(bytes(range(PAIRING_CODE_BYTES)))
    assert code_digest(made) != made
    assert len(code_digest(made)) == 64


def test_a_code_is_refused_revoked_first_then_expired_then_used_up() -> None:
    code().check_redeemable(NOW)  # valid, no limit
    with pytest.raises(PairingCodeRevoked):
        code(revoked_at=NOW, expires_at=NOW, max_uses=1, uses=1).check_redeemable(NOW)
    with pytest.raises(PairingCodeExpired):
        code(expires_at=NOW, max_uses=1, uses=1).check_redeemable(NOW)
    with pytest.raises(PairingCodeUsed):
        code(max_uses=2, uses=2).check_redeemable(NOW)
    code(max_uses=2, uses=1).check_redeemable(NOW)


def test_a_license_is_free_until_it_serves_a_device_and_may_expire() -> None:
    free = License("L1", "O1", "PR1", None, NOW + timedelta(days=1), None, NOW)
    assigned = License("L2", "O1", "PR1", "D1", None, None, NOW)

    assert (free.status, assigned.status) == (LicenseStatus.FREE, LicenseStatus.ASSIGNED)
    assert not free.expired(NOW)
    assert free.expired(NOW + timedelta(days=1))
    assert not assigned.expired(NOW + timedelta(days=3650))


def test_single_use_codes_live_60_seconds_or_30_to_300() -> None:
    assert check_ttl(None) == timedelta(seconds=60)
    assert check_ttl(30) == timedelta(seconds=30)
    assert check_ttl(300) == timedelta(seconds=300)
    for wrong in (29, 301, 0, -5):
        with pytest.raises(Invalid) as refused:
            check_ttl(wrong)
        assert "ttl_seconds" in refused.value.fields


def test_reusable_codes_are_valid_30_days_by_default_with_optional_uses() -> None:
    assert check_validity(None, None) == (timedelta(days=30), None)
    assert check_validity(7, 100) == (timedelta(days=7), 100)
    with pytest.raises(Invalid):
        check_validity(0, None)
    with pytest.raises(Invalid):
        check_validity(None, 0)
    with pytest.raises(Invalid):
        check_validity(None, 1_000_001)


def test_the_same_configuration_body_has_the_same_etag_whatever_its_key_order() -> None:
    first = configuration_etag({"interval": 60, "server": {"host": "a", "port": 1}})
    second = configuration_etag({"server": {"port": 1, "host": "a"}, "interval": 60})

    assert first == second
    assert configuration_etag({"interval": 61}) != configuration_etag({"interval": 60})


def test_bad_configurations_license_counts_and_hardware_ids_are_refused() -> None:
    assert check_configuration_body({"a": 1}) == {"a": 1}
    for wrong in ([1, 2], "text", {"blob": "x" * (64 * 1024)}):
        with pytest.raises(Invalid):
            check_configuration_body(wrong)
    assert check_license_count(5) == 5
    for count in (0, 100_001):
        with pytest.raises(Invalid):
            check_license_count(count)
    assert check_hardware_id("  IMEI 35-209900-176148-1 ") == "IMEI 35-209900-176148-1"
    for wrong in ("", "   ", "a\nb", "x" * 201):
        with pytest.raises(Invalid):
            check_hardware_id(wrong)
