"""The enrollment rules of SPEC Part C in the domain: the states and the only transitions
between them (C2), who may enroll (C8, every combination of roles), what a serial and an
access key are, and the signed proof of §6."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.domain.access import Actor, ActorKind, Role, Scope
from onboard.domain.enrollment import (
    ACTIVE_STATES,
    MAX_SERIAL,
    TRANSITIONS,
    DeviceKind,
    DeviceLabel,
    Enrollment,
    EnrollmentState,
    check_access_key,
    check_expiry,
    check_serial,
    check_signature,
    enroll_signature,
    may_enroll,
    read_device_label,
    require_enroll,
)
from onboard.domain.errors import (
    EnrollmentForbidden,
    Invalid,
    InvalidSignature,
    InvalidTransition,
    SignatureExpired,
)

S = EnrollmentState
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# C2 as the spec writes it: pending → in_progress → done or failed; retry: failed → pending;
# deletion: → unenroll_pending → unenrolled.
SPEC_STEPS = {
    (S.PENDING, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.DONE),
    (S.IN_PROGRESS, S.FAILED),
    (S.FAILED, S.PENDING),
    (S.UNENROLL_PENDING, S.UNENROLLED),
    *((state, S.UNENROLL_PENDING) for state in (S.PENDING, S.IN_PROGRESS, S.DONE, S.FAILED)),
}


def record(state: EnrollmentState) -> Enrollment:
    return Enrollment(
        "e1", "o1", "SN-1", DeviceKind.NODE, None, None, None, state, None, None, NOW, NOW
    )


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_only_the_transitions_of_c2_exist(current: S, wanted: S) -> None:
    allowed = (current, wanted) in SPEC_STEPS
    assert (wanted in TRANSITIONS[current]) is allowed
    if allowed:
        moved = record(current).moved_to(wanted, NOW + timedelta(1), reason="lost contact")
        assert (moved.state, moved.updated_at) == (wanted, NOW + timedelta(1))
    else:
        with pytest.raises(InvalidTransition):
            record(current).moved_to(wanted, NOW, reason="lost contact")


def test_a_failure_keeps_its_reason_until_the_retry_and_needs_one() -> None:
    running = record(S.IN_PROGRESS)
    with pytest.raises(Invalid):
        running.moved_to(S.FAILED, NOW, reason="  ")
    failed = running.moved_to(S.FAILED, NOW, reason="  node did not answer over BLE ")
    assert failed.reason == "node did not answer over BLE"
    assert failed.moved_to(S.PENDING, NOW).reason is None
    assert running.moved_to(S.DONE, NOW, reason="ignored").reason is None


def test_only_unenrolled_frees_the_serial() -> None:
    """C6: the serial can be enrolled again once the record is unenrolled, not before."""
    assert set(S) - ACTIVE_STATES == {S.UNENROLLED}


@given(st.lists(st.sampled_from(list(S)), max_size=20))
def test_any_walk_through_the_states_follows_c2(steps: list[S]) -> None:
    current = record(S.PENDING)
    for wanted in steps:
        try:
            current = current.moved_to(wanted, NOW, reason="x")
        except InvalidTransition:
            assert (current.state, wanted) not in SPEC_STEPS
        else:
            assert current.state is wanted


MEMBER_ROLES = list(Role)


@pytest.mark.parametrize(
    "roles",
    [
        frozenset(c)
        for n in range(len(MEMBER_ROLES) + 1)
        for c in itertools.combinations(MEMBER_ROLES, n)
    ],
)
def test_c8_administrators_or_device_and_iot_managers_together_enroll(
    roles: frozenset[Role],
) -> None:
    """C8 for every combination of the five roles."""
    actor = Actor(ActorKind.MEMBER, "m1", "member", Scope("o1"), roles)
    expected = Role.ADMINISTRATOR in roles or {Role.DEVICE_MANAGER, Role.IOT_MANAGER} <= roles
    assert may_enroll(actor) is expected
    if expected:
        require_enroll(actor)
    else:
        with pytest.raises(EnrollmentForbidden):
            require_enroll(actor)


def test_c8_the_operator_enrolls_and_devices_or_customers_do_not() -> None:
    assert may_enroll(Actor(ActorKind.OPERATOR, None, "operator", Scope("o1")))
    token = Actor(ActorKind.TOKEN, "t1", "token", Scope("o1"), frozenset({Role.ADMINISTRATOR}))
    assert may_enroll(token)  # an API token acts with its member's roles
    for kind in set(ActorKind) - {ActorKind.OPERATOR, ActorKind.MEMBER, ActorKind.TOKEN}:
        admin = Actor(kind, "x", "x", Scope("o1"), frozenset({Role.ADMINISTRATOR}))
        assert not may_enroll(admin)


def test_serials_and_access_keys_are_checked() -> None:
    assert check_serial("  SN-0001 ") == "SN-0001"
    for bad in ("", " ", "SN 1", "x" * 101, "SN\x001"):
        with pytest.raises(Invalid):
            check_serial(bad)
    assert check_access_key(" k3y-0f-the-device ") == "k3y-0f-the-device"
    for bad in ("short", "x" * 201, "ok-length\x07"):
        with pytest.raises(Invalid):
            check_access_key(bad)


def test_the_enroll_proof_is_hmac_sha256_of_serial_and_expiry_under_the_access_key() -> None:
    """§6, written out independently: b64(HMAC-SHA256(key, serial + "\\n" + expires))."""
    expires = int(NOW.timestamp()) + 300
    own = base64.b64encode(
        hmac.new(b"k3y-0f-the-device", f"SN-1\n{expires}".encode(), hashlib.sha256).digest()
    ).decode()
    assert enroll_signature("k3y-0f-the-device", "SN-1", expires) == own
    check_signature(own, own)
    for forged in (
        enroll_signature("another-key-entirely", "SN-1", expires),
        enroll_signature("k3y-0f-the-device", "SN-2", expires),
        "not base64!",
        "",
        "é",
    ):
        with pytest.raises(InvalidSignature):
            check_signature(own, forged)


def test_a_proof_is_valid_until_its_expiry_at_most_an_hour_ahead() -> None:
    now = int(NOW.timestamp())
    for fine in (now, now + 60, now + 3600):
        check_expiry(fine, NOW)
    for expired in (now - 1, now + 3601, 0):
        with pytest.raises(SignatureExpired):
            check_expiry(expired, NOW)


def test_a_device_label_reads_as_serial_colon_key_json_or_the_organizations_pattern() -> None:
    """C9: the default SERIAL:ACCESSKEY, JSON {"serial", "key"}, or the named groups of the
    organization's regular expression (matched by the caller, RE2 in the adapters)."""
    assert read_device_label("SN-1:k3y-0f-the-device") == DeviceLabel("SN-1", "k3y-0f-the-device")
    assert read_device_label(" SN-1:with:colons-in-key ") == DeviceLabel(
        "SN-1", "with:colons-in-key"
    )
    as_json = '{"serial": "SN-2", "key": "k3y-0f-the-device", "model": "X"}'
    assert read_device_label(as_json) == DeviceLabel("SN-2", "k3y-0f-the-device")
    own = {"serial": "SN-3", "key": "k3y-0f-the-device"}
    assert read_device_label("anything", own) == DeviceLabel("SN-3", "k3y-0f-the-device")
    for unreadable in ("", "no colon here", "SN-1:", ":k3y-0f-the-device", '{"serial": 1}', "[1]"):
        with pytest.raises(Invalid):
            read_device_label(unreadable)
    with pytest.raises(Invalid):
        read_device_label("x", {"serial": "SN-4", "key": None})
    with pytest.raises(Invalid):  # the key is checked like any access key
        read_device_label("SN-5:short")


@given(st.text(max_size=120))
def test_a_serial_is_refused_exactly_when_a_character_is_space_or_not_printable(
    raw: str,
) -> None:
    """check_serial's one-call test agrees with the rule read character by character."""
    serial = raw.strip()
    wrong = not 1 <= len(serial) <= MAX_SERIAL or any(
        c.isspace() or not c.isprintable() for c in serial
    )
    if wrong:
        with pytest.raises(Invalid):
            check_serial(raw)
    else:
        assert check_serial(raw) == serial
