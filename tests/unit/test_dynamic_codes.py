"""Dynamic codes' pure rules (SPEC A14): GTIN check digits, rule validation and matching,
our own code URLs in a payload, and the GS1 reader built on biip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.adapters.gs1 import BiipGs1Reader
from onboard.adapters.patterns import Re2Patterns
from onboard.domain.dynamic_codes import (
    DeviceIdentity,
    DynamicRule,
    check_gtin,
    check_payload,
    check_rule,
    device_name,
    first_match,
    gs1_check_digit,
    parse_gtin,
    token_in_payload,
)
from onboard.domain.errors import Invalid

GTIN = "09506000134352"  # GS1's own example GTIN-14
PATTERNS = Re2Patterns()
TOKEN = "0123456789ABCDEF"


# --- GTINs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_gtin", "stored"),
    [
        ("09506000134352", "09506000134352"),  # GTIN-14
        ("9506000134352", "09506000134352"),  # GTIN-13 (EAN-13)
        ("4006381333931", "04006381333931"),
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("96385074", "00000096385074"),  # GTIN-8
        (" 4006381333931 ", "04006381333931"),
    ],
)
def test_a_gtin_of_8_12_13_or_14_digits_with_its_check_digit_is_kept_as_14_digits(
    given_gtin: str, stored: str
) -> None:
    assert check_gtin(given_gtin) == stored


@pytest.mark.parametrize(
    "wrong",
    [
        "09506000134353",  # check digit off by one
        "4006381333932",
        "123456789",  # 9 digits: no such GTIN
        "1234567890",
        "0950600013435A",
        "٠٩٥٠٦٠٠٠١٣٤٣٥٢",  # Arabic-Indic digits are not GS1 digits
        "095060001343521",  # 15 digits
    ],
)
def test_anything_else_is_refused_with_a_field_error(wrong: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_gtin(wrong)
    assert "gtin" in refused.value.fields
    assert parse_gtin(wrong) is None


def test_no_gtin_or_a_blank_one_clears_it() -> None:
    assert check_gtin(None) is None
    assert check_gtin("  ") is None


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
)
def test_every_body_with_its_computed_check_digit_is_a_gtin_and_no_other_digit_is(
    body: str,
) -> None:
    right = gs1_check_digit(body)

    assert parse_gtin(f"{body}{right}") == f"{body}{right}".zfill(14)
    for digit in set(range(10)) - {right}:
        assert parse_gtin(f"{body}{digit}") is None


@given(st.text("0123456789", min_size=7, max_size=7))
def test_a_gtin_8_padded_with_zeros_to_12_13_or_14_digits_is_the_same_gtin(body: str) -> None:
    gtin8 = body + str(gs1_check_digit(body))

    forms = {parse_gtin(gtin8.rjust(length, "0")) for length in (8, 12, 13, 14)}

    assert forms == {gtin8.zfill(14)}


# --- rules ------------------------------------------------------------------------------


def rule(kind: str, pattern: str | None = None, name: str = "Rule") -> DynamicRule:
    name, checked_kind, checked = check_rule(name, kind, pattern, PATTERNS)
    return DynamicRule("R1", "O1", name, checked_kind, checked, None, datetime.now(UTC))


def test_a_gs1_rule_takes_no_pattern_or_a_company_prefix_of_4_to_12_digits() -> None:
    assert check_rule("Any GS1", "gs1", None, PATTERNS)[2] is None
    assert check_rule("Any GS1", "gs1", "", PATTERNS)[2] is None
    assert check_rule("Ours", "gs1", " 950600 ", PATTERNS)[2] == "950600"
    for wrong in ("95a600", "123", "1234567890123", "95 06"):
        with pytest.raises(Invalid) as refused:
            check_rule("Ours", "gs1", wrong, PATTERNS)
        assert "pattern" in refused.value.fields, wrong


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (None, "required"),
        ("", "required"),
        ("SN-([0-9]+)", "serial"),
        ("SN-(?P<number>[0-9]+)", "serial"),
        ("SN-(?P<serial>[0-9]+", "regular expression"),
        ("(?P<serial>x)" + "a" * 500, "500"),
        ("(?P<serial>a{1001})", "regular expression"),
        (r"(?P<serial>(a)\2)", "backreferences"),
        ("(?P<serial>(?=a)a)", "lookarounds"),
    ],
)
def test_a_regex_rule_needs_a_pattern_that_compiles_with_a_serial_group(
    pattern: str | None, why: str
) -> None:
    with pytest.raises(Invalid) as refused:
        check_rule("Serials", "regex", pattern, PATTERNS)
    assert "pattern" in refused.value.fields
    assert why in refused.value.fields["pattern"] + refused.value.detail


def test_a_rule_has_a_name_and_a_known_kind() -> None:
    with pytest.raises(Invalid) as unknown:
        check_rule("Rule", "qr", None, PATTERNS)
    assert "kind" in unknown.value.fields
    with pytest.raises(Invalid) as unnamed:
        check_rule("  ", "gs1", None, PATTERNS)
    assert "name" in unnamed.value.fields


def test_a_regex_rule_matches_the_whole_payload_and_reads_serial_and_gtin() -> None:
    serials = rule("regex", r"ACME:(?P<serial>[A-Z0-9]{4,10})")
    both = rule("regex", r"(?P<gtin>[0-9]{14})\|(?P<serial>[^|]+)")

    assert serials.match("ACME:AB12", None, PATTERNS) == DeviceIdentity(None, "AB12")
    assert serials.match("ACME:AB12 and more", None, PATTERNS) is None  # fullmatch, not search
    assert serials.match("xACME:AB12", None, PATTERNS) is None
    assert both.match(f"{GTIN}|SN 7", None, PATTERNS) == DeviceIdentity(GTIN, "SN 7")
    assert both.match("09506000134353|SN 7", None, PATTERNS) is None  # a bad check digit: no match


def test_a_gs1_rule_matches_what_the_reader_read_and_only_under_its_company_prefix() -> None:
    read = DeviceIdentity(GTIN, "ABC123")
    anything, ours, theirs = rule("gs1"), rule("gs1", "950600"), rule("gs1", "400638")

    assert anything.match("whatever", read, PATTERNS) == read
    assert ours.match("whatever", read, PATTERNS) == read
    assert theirs.match("whatever", read, PATTERNS) is None
    assert anything.match("whatever", None, PATTERNS) is None


def test_the_first_matching_rule_in_order_wins() -> None:
    specific = rule("regex", r"SN-(?P<serial>[0-9]+)", name="Specific")
    general = rule("regex", r"(?P<serial>.+)", name="General")

    assert first_match([specific, general], "SN-42", None, PATTERNS) == (
        specific,
        DeviceIdentity(None, "42"),
    )
    assert first_match([general, specific], "SN-42", None, PATTERNS) == (
        general,
        DeviceIdentity(None, "SN-42"),
    )
    assert first_match([specific], "nothing", None, PATTERNS) is None


# --- payloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        f"https://onboard.example.com/c/{TOKEN}",
        f"HTTPS://ONBOARD.EXAMPLE.COM/C/{TOKEN}",
        f"http://onboard.example.com/c/{TOKEN.lower()}/",
        f"https://onboard.example.com/c/{TOKEN}?utm=x",
        TOKEN,
        TOKEN.lower(),
    ],
)
def test_our_code_urls_in_any_case_and_bare_tokens_are_read_as_tokens(payload: str) -> None:
    assert token_in_payload(payload, "https://onboard.example.com/") == TOKEN


@pytest.mark.parametrize(
    "payload",
    [
        f"https://elsewhere.example.com/c/{TOKEN}",
        f"https://id.example.com/01/{GTIN}/21/ABC",
        "SN-42",
    ],
)
def test_other_payloads_carry_no_token_of_ours(payload: str) -> None:
    assert token_in_payload(payload, "https://onboard.example.com") is None


def test_a_payload_is_trimmed_and_refused_when_empty_too_long_or_with_nul() -> None:
    assert check_payload("  SN-1\n") == "SN-1"
    for wrong in ("", "   ", "x" * 501, "a\x00b"):
        with pytest.raises(Invalid) as refused:
            check_payload(wrong)
        assert "payload" in refused.value.fields


def test_a_new_devices_name_is_its_template_and_serial_within_200_characters() -> None:
    assert device_name("Pump X", "SN1") == "Pump X SN1"
    assert device_name(None, "SN1") == "SN1"
    long = device_name("T" * 200, "S" * 100)
    assert len(long) <= 200
    assert long.endswith(" " + "S" * 100)


# --- reading GS1 with biip --------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        f"https://id.example.com/01/{GTIN}/21/ABC123",
        f"https://id.example.com/01/{GTIN}/21/ABC123?linkType=all",
        f"HTTPS://ID.EXAMPLE.COM/01/{GTIN}/21/ABC123",
        f"http://example.org/products/01/{GTIN}/21/ABC123",
        f"https://id.example.com/01/{GTIN}/10/LOT7/21/ABC123",
        f"(01){GTIN}(21)ABC123",
        f"(01){GTIN}(17)261231(21)ABC123",
        f"01{GTIN}21ABC123",
        f"01{GTIN}\x1d21ABC123",
        f"\x1d01{GTIN}10LOT7\x1d21ABC123",
        f"]d201{GTIN}21ABC123",
    ],
)
def test_the_gs1_reader_reads_digital_links_of_any_domain_and_element_strings(
    payload: str,
) -> None:
    assert BiipGs1Reader().read(payload) == DeviceIdentity(GTIN, "ABC123")


def test_the_gs1_reader_gives_short_gtins_as_14_digits() -> None:
    read = BiipGs1Reader().read("https://id.example.com/01/96385074/21/S1")
    assert read == DeviceIdentity("00000096385074", "S1")


@pytest.mark.parametrize(
    "payload",
    [
        "garbage",
        "",
        "https://example.com/products/42",
        f"https://id.example.com/01/{GTIN}",  # no serial
        f"(01){GTIN}",
        "(21)ABC123",  # no GTIN
        "(01)09506000134353(21)ABC",  # a wrong check digit
        "(01)0950600013435(21)ABC",  # too short
        "(99)x(21)y",
        "http://[::1",
        "0109506000134352" + "21" + "\x01" * 5,
        "((((((((",
    ],
)
def test_the_gs1_reader_says_none_for_anything_else_and_never_raises(payload: str) -> None:
    assert BiipGs1Reader().read(payload) is None


@given(st.text(max_size=200))
def test_the_gs1_reader_never_raises_whatever_it_is_given(payload: str) -> None:
    read = BiipGs1Reader().read(payload)
    assert read is None or (read.gtin is not None and parse_gtin(read.gtin) == read.gtin)


def test_a_pattern_that_backtracks_catastrophically_elsewhere_matches_in_linear_time() -> None:
    """A14: rules are run by RE2, so an administrator's pattern cannot stall scans: with
    a backtracking engine, (a+)+ on 500 a's and a b would not finish."""
    nested = rule("regex", r"(?P<serial>(a+)+)")

    assert nested.match("a" * 499 + "b", None, PATTERNS) is None
    assert nested.match("a" * 10, None, PATTERNS) == DeviceIdentity(None, "a" * 10)
