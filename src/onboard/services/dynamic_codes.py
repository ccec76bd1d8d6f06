"""Dynamic codes (SPEC A14): an organization's rules for payloads that are not our code
URLs, scanning a payload in the mobile app, and GS1 Digital Link paths on the public site."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.domain.dynamic_codes import (
    DeviceIdentity,
    DynamicRule,
    RuleKind,
    check_payload,
    check_rule,
    clean_serial,
    device_name,
    first_match,
    parse_gtin,
    token_in_payload,
)
from onboard.domain.errors import Conflict, Invalid, NameTaken
from onboard.services.common import not_found
from onboard.services.devices import DeviceInput, add_device
from onboard.services.pairing import add_paired_code, pair_code
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

# --- rules ------------------------------------------------------------------------------


def _rule_snapshot(rule: DynamicRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind.value,
        "pattern": rule.pattern,
        "template_id": rule.template_id,
    }


# Every scan tries the organization's rules in turn: a bound keeps a scan's work bounded.
MAX_RULES = 50


def create_rule(
    svc: Services,
    actor: Actor,
    *,
    name: str,
    kind: str,
    pattern: str | None = None,
    template_id: str | None = None,
) -> DynamicRule:
    """A rule of the organization, tried after those created before it (A14)."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    name, rule_kind, pattern = check_rule(name, kind, pattern, svc.patterns)
    with svc.uow() as uow:
        if uow.dynamic_rules.get_by_name(scope.organization_id, name) is not None:
            raise NameTaken(
                f"A rule named {name!r} exists already.", fields={"name": "already taken"}
            )
        if template_id is not None and uow.templates.get(scope, template_id) is None:
            raise Invalid(
                f"No template {template_id!r} here.", fields={"template_id": "unknown template"}
            )
        if len(uow.dynamic_rules.in_order(scope.organization_id)) >= MAX_RULES:
            raise Invalid(
                f"An organization has at most {MAX_RULES} rules; delete one first.",
                fields={"name": f"at most {MAX_RULES} rules"},
            )
        rule = DynamicRule(
            svc.ids.new(), scope.organization_id, name, rule_kind, pattern, template_id,
            svc.clock.now(),
        )  # fmt: skip
        uow.dynamic_rules.add(rule)
        uow.record(
            actor,
            Change("dynamic_rule.created", Target("dynamic_rule", rule.id),
                   after=_rule_snapshot(rule)),
            organization_id=scope.organization_id,
        )  # fmt: skip
        uow.commit()
    return rule


def list_rules(svc: Services, actor: Actor, page: PageRequest) -> Page[DynamicRule]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.dynamic_rules.list_page(scope, page)


def get_rule(svc: Services, actor: Actor, rule_id: str) -> DynamicRule:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        rule = uow.dynamic_rules.get(scope, rule_id)
    if rule is None:
        raise not_found("dynamic-code rule", rule_id)
    return rule


def delete_rule(svc: Services, actor: Actor, rule_id: str) -> None:
    """Codes already bound to payloads keep working; new payloads no longer match it."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    with svc.uow() as uow:
        rule = uow.dynamic_rules.get(scope, rule_id)
        if rule is None:
            raise not_found("dynamic-code rule", rule_id)
        uow.dynamic_rules.delete(rule.id)
        uow.record(
            actor,
            Change("dynamic_rule.deleted", Target("dynamic_rule", rule.id),
                   before=_rule_snapshot(rule)),
            organization_id=scope.organization_id,
        )  # fmt: skip
        uow.commit()


# --- scanning ---------------------------------------------------------------------------


class ScanOutcome(StrEnum):
    CODE = "code"
    DEVICE = "device"
    CREATED = "created"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Scanned:
    """What a scanned payload resolved to for the member: a code (and its device), a
    device (and its codes), or nothing they may see; ``gtin`` and ``serial`` are what a
    rule read from the payload."""

    result: ScanOutcome
    code: Code | None = None
    device: Device | None = None
    codes: list[Code] = field(default_factory=list)
    gtin: str | None = None
    serial: str | None = None


@dataclass(frozen=True)
class _Resolution:
    answer: Scanned
    match: tuple[DynamicRule, DeviceIdentity] | None = None


def _code_answer(uow: UnitOfWork, scope: Scope, code: Code) -> Scanned:
    device = uow.devices.get(scope, code.device_id) if code.device_id else None
    codes = uow.codes.of_device(device.id) if device else []
    return Scanned(ScanOutcome.CODE, code, device, codes)


def _resolve(svc: Services, uow: UnitOfWork, scope: Scope, payload: str) -> _Resolution:
    """A14's order: our own code URL or a bare token; a code bound to exactly this
    payload; then the organization's rules in creation order. All through the scope, so
    a member never meets what other departments or organizations hold."""
    token = token_in_payload(payload, svc.public_url)
    code = uow.codes.get(scope, token) if token else None
    if code is None:
        code = uow.codes.get_by_payload(scope, payload)
    if code is not None:
        return _Resolution(_code_answer(uow, scope, code))
    rules = uow.dynamic_rules.in_order(scope.organization_id)
    gs1 = svc.gs1.read(payload) if any(r.kind is RuleKind.GS1 for r in rules) else None
    match = first_match(rules, payload, gs1, svc.patterns)
    if match is None:
        return _Resolution(Scanned(ScanOutcome.UNKNOWN))
    rule, identity = match
    # A rule without a GTIN names the device by serial within its template, if it has one.
    template_id = rule.template_id if identity.gtin is None else None
    device = uow.devices.get_by_identity(
        scope, identity.gtin, identity.serial, template_id=template_id
    )
    if device is None:
        answer = Scanned(ScanOutcome.UNKNOWN, gtin=identity.gtin, serial=identity.serial)
        return _Resolution(answer, match)
    codes = uow.codes.of_device(device.id)
    bound = next((c for c in codes if c.payload == payload), None)
    if bound is not None:
        # A scan that committed after the payload lookup above bound it to this device
        # (each statement sees the latest commits): the bound code answers, as it would
        # have a moment later.
        return _Resolution(Scanned(ScanOutcome.CODE, bound, device, codes), match)
    answer = Scanned(ScanOutcome.DEVICE, None, device, codes, identity.gtin, identity.serial)
    return _Resolution(answer, match)


def _taken_elsewhere(
    uow: UnitOfWork, scope: Scope, payload: str, rule: DynamicRule, identity: DeviceIdentity
) -> bool:
    """Whether the organization holds the device or the bound code where this member
    cannot see it (another department): then nothing is created, and nothing is shown."""
    whole = Scope(scope.organization_id)
    template_id = rule.template_id if identity.gtin is None else None
    return (
        uow.codes.get_by_payload(whole, payload) is not None
        or uow.devices.get_by_identity(
            whole, identity.gtin, identity.serial, template_id=template_id
        )
        is not None
    )


def _create(
    svc: Services,
    uow: UnitOfWork,
    actor: Actor,
    payload: str,
    rule: DynamicRule,
    identity: DeviceIdentity,
    attributes: dict[str, Any] | None,
) -> Scanned:
    """A device from the template mapped to the GTIN (else the rule's, else none), and a
    code bound to the payload, paired at once (A7, A14)."""
    scope = actor.require(Permission.EDIT_DEVICES)
    template = (
        uow.templates.get_by_gtin(scope.organization_id, identity.gtin) if identity.gtin else None
    )
    if template is None and rule.template_id is not None:
        template = uow.templates.get(scope, rule.template_id)
    given = DeviceInput(
        name=device_name(template.name if template else None, identity.serial),
        serial=identity.serial,
        template_id=template.id if template else None,
        attributes=attributes,
        gtin=identity.gtin,
    )
    device = add_device(svc, uow, actor, given)
    code = add_paired_code(svc, uow, actor, device, payload=payload)
    return Scanned(ScanOutcome.CREATED, code, device, [code], identity.gtin, identity.serial)


def scan(
    svc: Services,
    actor: Actor,
    payload: str,
    *,
    create: bool = False,
    attributes: dict[str, Any] | None = None,
) -> Scanned:
    """Resolve a scanned payload (A14); with ``create``, a payload a rule reads that names
    no device yet creates the device and a code bound to the payload, paired at once, in
    one transaction. Of two concurrent creations from one payload exactly one creates;
    the other answers what it created."""
    scope = actor.require(Permission.READ)
    payload = check_payload(payload)
    with svc.uow() as uow:
        found = _resolve(svc, uow, scope, payload)
    if not create or found.answer.result is not ScanOutcome.UNKNOWN or found.match is None:
        return found.answer
    actor.require(Permission.EDIT_DEVICES)
    actor.require(Permission.PAIR)
    try:
        with svc.uow() as uow:
            # Read again in the writing transaction: another scan may have created it.
            found = _resolve(svc, uow, scope, payload)
            if found.answer.result is not ScanOutcome.UNKNOWN or found.match is None:
                return found.answer
            rule, identity = found.match
            if _taken_elsewhere(uow, scope, payload, rule, identity):
                # Read once more: a scan that committed between the two reads made it
                # (each statement sees the latest commits), and this member may see it.
                return _resolve(svc, uow, scope, payload).answer
            created = _create(svc, uow, actor, payload, rule, identity, attributes)
            uow.commit()
        return created
    except Conflict:
        # A concurrent scan created the device or bound the payload first (the unique
        # indexes on GTIN and serial, and on the payload, let only one through).
        with svc.uow() as uow:
            again = _resolve(svc, uow, scope, payload)
            taken = again.match is not None and _taken_elsewhere(uow, scope, payload, *again.match)
        if again.answer.result is not ScanOutcome.UNKNOWN or taken:
            return again.answer
        raise


# --- GS1 Digital Link paths on the public site -------------------------------------------


@dataclass(frozen=True)
class DigitalLink:
    """The registered device a GS1 Digital Link path names, and the token of the code it
    leads to (None: the device has no code yet)."""

    device_id: str
    organization_id: str
    token: str | None


def resolve_digital_link(
    svc: Services, raw_gtin: str, raw_serial: str, *, payload: str
) -> DigitalLink | None:
    """A14: ``/01/{gtin}/21/{serial}`` names the one registered device of any organization
    with that GTIN and serial (None when there is none, or more than one); it leads to the
    code bound to ``payload``, else its oldest active code, else its oldest code (which then
    shows as deactivated, A10)."""
    gtin, serial = parse_gtin(raw_gtin), clean_serial(raw_serial)
    if gtin is None or serial is None:
        return None
    with svc.uow() as uow:
        found = uow.devices.with_identity(gtin, serial, limit=2)
        if len(found) != 1:
            return None
        device = found[0]
        codes = uow.codes.of_device(device.id)
    active = [c for c in codes if c.active]
    chosen = next((c for c in active if c.payload == payload), None)
    chosen = chosen or next(iter(active), None) or next(iter(codes), None)
    return DigitalLink(device.id, device.organization_id, chosen.token if chosen else None)


def code_for_digital_link(
    svc: Services, actor: Actor, raw_gtin: str, raw_serial: str, *, payload: str
) -> Code:
    """From a GS1 Digital Link path that leads to no code yet: a code bound to the path,
    paired at once with the device the member sees there (A7, A14). A code bound to the
    path already (unpaired since) is paired again instead; a device that got a code
    meanwhile keeps it, and that code is the answer."""
    link = resolve_digital_link(svc, raw_gtin, raw_serial, payload=payload)
    missing = not_found("device", f"{raw_gtin}/{raw_serial}"[:60])
    if link is None:
        raise missing
    scope = actor.require(Permission.PAIR)
    with svc.uow() as uow:
        device = uow.devices.get(scope, link.device_id)
        if device is None:
            raise missing
        if link.token is not None:
            existing = uow.codes.get(scope, link.token)
            if existing is not None:
                return existing
        bound = uow.codes.get_by_payload(Scope(scope.organization_id), payload)
        if bound is None:
            code = add_paired_code(svc, uow, actor, device, payload=payload)
            uow.commit()
            return code
    return pair_code(svc, actor, bound.token, device.id)
