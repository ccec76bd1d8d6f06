"""Dynamic codes: payloads that are not our code URLs but name a device by GTIN and serial,
through an organization's rules (SPEC A14). GS1 parsing itself is an adapter's job."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from onboard.domain.codes import normalize_token
from onboard.domain.devices import MAX_SERIAL_LENGTH
from onboard.domain.errors import Invalid
from onboard.domain.values import MAX_NAME_LENGTH, require_name

GTIN_LENGTHS = frozenset({8, 12, 13, 14})
MAX_PAYLOAD_LENGTH = 500
MAX_PATTERN_LENGTH = 500
_DIGITS = re.compile(r"^[0-9]+$")
_COMPANY_PREFIX = re.compile(r"^[0-9]{4,12}$")


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (all digits but the check digit): weights 3
    and 1 alternate from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def parse_gtin(raw: str) -> str | None:
    """A GTIN-8, -12, -13 or -14 with a valid check digit, as 14 digits; None otherwise."""
    text = raw.strip()
    if len(text) not in GTIN_LENGTHS or not _DIGITS.match(text):
        return None
    if gs1_check_digit(text[:-1]) != int(text[-1]):
        return None
    return text.zfill(14)


def check_gtin(raw: str | None, *, field: str = "gtin") -> str | None:
    """A GTIN as people give it (8, 12, 13 or 14 digits with a valid check digit), stored
    as 14 digits; None or blank clears it."""
    if raw is None or not raw.strip():
        return None
    gtin = parse_gtin(raw)
    if gtin is None:
        raise Invalid(
            f"{raw.strip()[:20]!r} is not a GTIN: 8, 12, 13 or 14 digits with a valid check digit.",
            fields={field: "8, 12, 13 or 14 digits with a valid check digit"},
        )
    return gtin


def clean_serial(raw: str | None) -> str | None:
    """A serial read from a payload, or None when it cannot be a device's serial."""
    if raw is None:
        return None
    serial = raw.strip()
    if not serial or len(serial) > MAX_SERIAL_LENGTH or any(ord(c) < 32 for c in serial):
        return None
    return serial


def check_payload(raw: str) -> str:
    """A scanned payload: 1 to 500 characters (the length a code can be bound to), no NUL."""
    payload = raw.strip()
    if not payload:
        raise Invalid("The payload is empty.", fields={"payload": "required"})
    if len(payload) > MAX_PAYLOAD_LENGTH or "\x00" in payload:
        raise Invalid(
            f"A payload has at most {MAX_PAYLOAD_LENGTH} characters and no NUL.",
            fields={"payload": f"at most {MAX_PAYLOAD_LENGTH} characters"},
        )
    return payload


def _without_scheme(url: str) -> str:
    lowered = url.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            return url[len(scheme) :]
    return url


def token_in_payload(payload: str, public_url: str) -> str | None:
    """The token of one of our codes in a payload: our code URL (A2: /c/ or /C/, any case,
    http or https) or a bare token; None when the payload is neither."""
    text = _without_scheme(payload.strip())
    base = _without_scheme(public_url.rstrip("/")).lower() + "/c/"
    if text.lower().startswith(base):
        rest = text[len(base) :].split("?", 1)[0].split("#", 1)[0].rstrip("/")
        return normalize_token(rest)
    return normalize_token(text)


def device_name(template_name: str | None, serial: str) -> str:
    """A new device's name from a dynamic code: "<template name> <serial>", or the serial."""
    if template_name is None:
        return serial
    room = MAX_NAME_LENGTH - len(serial) - 1
    return f"{template_name[:room].rstrip()} {serial}" if room > 0 else serial


@dataclass(frozen=True)
class DeviceIdentity:
    """What a payload names: a GTIN (14 digits; None for a rule without one) and a serial."""

    gtin: str | None
    serial: str


class Patterns(Protocol):
    """The engine that runs organizations' regular expressions: one whose matching time
    is linear in the payload (RE2), so that no rule can stall a scan."""

    def check(self, pattern: str) -> frozenset[str]:
        """The pattern's named groups; ValueError when the engine cannot run it."""
        ...

    def fullmatch(self, pattern: str, text: str) -> Mapping[str, str | None] | None:
        """The named groups when the pattern matches the whole text, else None."""
        ...


class RuleKind(StrEnum):
    GS1 = "gs1"
    REGEX = "regex"
    # Not a dynamic code: how the QR on a connected device's back gives its serial and
    # access key (C9), read when the mobile app enrolls it; scans of codes ignore it.
    ENROLLMENT = "enrollment"


@dataclass(frozen=True)
class DynamicRule:
    """How an organization recognizes payloads (A14): ``gs1`` reads GS1 Digital Links and
    element strings with AI 01 and 21, only GTINs under the company prefix ``pattern`` when
    one is set; ``regex`` fully matches ``pattern`` with the named groups ``serial`` and
    optionally ``gtin``; ``enrollment`` reads a device's own QR (C9), never a code.
    ``template_id`` is for devices whose GTIN maps to no template."""

    id: str
    organization_id: str
    name: str
    kind: RuleKind
    pattern: str | None
    template_id: str | None
    created_at: datetime

    def match(
        self, payload: str, gs1: DeviceIdentity | None, patterns: Patterns
    ) -> DeviceIdentity | None:
        """What the payload names under this rule; ``gs1`` is the payload as a GS1 reader
        read it (None when it is not GS1); ``patterns`` runs a regex rule's pattern."""
        if self.kind is RuleKind.ENROLLMENT:
            return None
        if self.kind is RuleKind.GS1:
            if gs1 is None or gs1.gtin is None:
                return None
            # A company prefix is in GTIN-13 form: the GTIN-14 without its indicator digit.
            if self.pattern and not gs1.gtin[1:].startswith(self.pattern):
                return None
            return gs1
        groups = patterns.fullmatch(self.pattern or "", payload)
        if groups is None:
            return None
        serial = clean_serial(groups.get("serial"))
        if serial is None:
            return None
        raw_gtin = groups.get("gtin")
        if raw_gtin is None:
            return DeviceIdentity(None, serial)
        gtin = parse_gtin(raw_gtin)
        return DeviceIdentity(gtin, serial) if gtin is not None else None


def first_match(
    rules: list[DynamicRule], payload: str, gs1: DeviceIdentity | None, patterns: Patterns
) -> tuple[DynamicRule, DeviceIdentity] | None:
    """The first rule, in the order given (creation order), that matches, with what it read."""
    for rule in rules:
        identity = rule.match(payload, gs1, patterns)
        if identity is not None:
            return rule, identity
    return None


def check_rule(
    name: str, kind: str, pattern: str | None, patterns: Patterns
) -> tuple[str, RuleKind, str | None]:
    """A rule's name, kind and pattern, checked: a ``gs1`` pattern is an optional GS1
    company prefix (4 to 12 digits); a ``regex`` pattern is one ``patterns`` can run (RE2
    syntax: no backreferences or lookarounds), has at most 500 characters and a named
    group ``serial`` (and may have ``gtin``); an ``enrollment`` pattern is the same with the
    named groups ``serial`` and ``key`` (C9)."""
    name = require_name(name)
    try:
        rule_kind = RuleKind(kind)
    except ValueError:
        raise Invalid(
            "A rule is of kind gs1, regex or enrollment.",
            fields={"kind": "gs1, regex or enrollment"},
        ) from None
    if rule_kind is RuleKind.GS1:
        prefix = (pattern or "").strip()
        if prefix and not _COMPANY_PREFIX.match(prefix):
            raise Invalid(
                "A GS1 rule's pattern is a GS1 company prefix of 4 to 12 digits, or nothing.",
                fields={"pattern": "a company prefix of 4 to 12 digits"},
            )
        return name, rule_kind, prefix or None
    if not pattern:
        raise Invalid("A regex rule needs a pattern.", fields={"pattern": "required"})
    if len(pattern) > MAX_PATTERN_LENGTH or "\x00" in pattern:
        raise Invalid(
            f"A pattern has at most {MAX_PATTERN_LENGTH} characters.",
            fields={"pattern": f"at most {MAX_PATTERN_LENGTH} characters"},
        )
    try:
        groups = patterns.check(pattern)
    except ValueError as error:
        raise Invalid(
            f"The pattern is not a regular expression that can be run here (RE2 syntax, no "
            f"backreferences or lookarounds): {error}.",
            fields={"pattern": "not an RE2 regular expression"},
        ) from None
    needed = ("serial", "key") if rule_kind is RuleKind.ENROLLMENT else ("serial",)
    missing = [group for group in needed if group not in groups]
    if missing:
        names = " and ".join(missing)
        raise Invalid(
            f"The pattern needs the named group {names}, as in (?P<{missing[0]}>[0-9]+).",
            fields={"pattern": f"needs the named group {names}"},
        )
    return name, rule_kind, pattern
