"""Dynamic codes through the use cases on SQLite and PostgreSQL (SPEC A14): GTINs on
templates and devices, an organization's rules, scanning a payload in the order A14 gives
(our code, a code bound to the payload, the rules), creating a device and a bound code
from a scan, department and organization isolation, concurrent scans of one new payload,
and GS1 Digital Link paths."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import pytest

from onboard.bootstrap import Container
from onboard.domain.codes import code_url
from onboard.domain.errors import (
    DomainError,
    GtinSerialTaken,
    GtinTaken,
    Invalid,
    NameTaken,
    NotFound,
    PermissionDenied,
)
from onboard.services import audit, codes, dynamic_codes, pairing, templates
from onboard.services.common import member_actor
from onboard.services.devices import (
    DeviceInput,
    create_device,
    get_device,
    list_devices,
    update_device,
)
from onboard.services.dynamic_codes import Scanned, ScanOutcome
from onboard.services.ports import AuditFilter, CodeFilter, DeviceFilter, PageRequest, Services
from tests.factories import Org, make_department, make_member, make_org, unique

ALL = PageRequest(limit=1000)
GTIN = "09506000134352"  # GS1's example GTIN-14; its company prefix is 950600
OTHER_GTIN = "04006381333931"
LINK = f"https://id.example.com/01/{GTIN}/21/"

T = TypeVar("T")


def gs1_rule(svc: Services, org: Org, prefix: str | None = None) -> str:
    return dynamic_codes.create_rule(
        svc, org.actor, name=unique("GS1"), kind="gs1", pattern=prefix
    ).id


def devices_of(svc: Services, org: Org) -> list[str]:
    return [d.id for d in list_devices(svc, org.actor, DeviceFilter(), ALL).items]


def codes_of(svc: Services, org: Org) -> list[str]:
    return [c.token for c in codes.list_codes(svc, org.actor, CodeFilter(), ALL).items]


# --- GTINs on templates and devices ------------------------------------------------------


def test_a_templates_gtin_is_kept_as_14_digits_and_maps_to_one_template_per_organization(
    container: Container,
) -> None:
    svc = container.services
    org, other = make_org(svc), make_org(svc)

    pump = templates.create_template(svc, org.actor, name="Pump", fields=[], gtin="9506000134352")
    assert pump.gtin == GTIN
    assert templates.get_template(svc, org.actor, pump.id).gtin == GTIN
    with pytest.raises(GtinTaken) as taken:
        templates.create_template(svc, org.actor, name="Pump 2", fields=[], gtin=GTIN)
    assert taken.value.code == "gtin_taken"
    assert "gtin" in taken.value.fields
    # Another organization maps the same GTIN to a template of its own.
    templates.create_template(svc, other.actor, name="Their pump", fields=[], gtin=GTIN)

    valve = templates.create_template(svc, org.actor, name="Valve", fields=[])
    with pytest.raises(GtinTaken):
        templates.update_template(svc, org.actor, valve.id, gtin=GTIN, change_gtin=True)
    with pytest.raises(Invalid) as invalid:
        templates.update_template(svc, org.actor, valve.id, gtin="12345", change_gtin=True)
    assert "gtin" in invalid.value.fields

    cleared = templates.update_template(svc, org.actor, pump.id, gtin=None, change_gtin=True)
    assert cleared.gtin is None
    moved = templates.update_template(svc, org.actor, valve.id, gtin=GTIN, change_gtin=True)
    assert templates.get_template(svc, org.actor, moved.id).gtin == GTIN


def test_gtin_and_serial_name_one_device_of_an_organization(container: Container) -> None:
    svc = container.services
    org, other = make_org(svc), make_org(svc)

    first = create_device(svc, org.actor, DeviceInput("Pump 1", serial="SN1", gtin="9506000134352"))
    assert get_device(svc, org.actor, first.id).gtin == GTIN
    with pytest.raises(GtinSerialTaken) as taken:
        create_device(svc, org.actor, DeviceInput("Pump 2", serial="SN1", gtin=GTIN))
    assert taken.value.code == "gtin_serial_taken"
    # The same serial with another GTIN, or in another organization, is another device.
    create_device(svc, org.actor, DeviceInput("Valve 1", serial="SN1", gtin=OTHER_GTIN))
    create_device(svc, other.actor, DeviceInput("Their pump", serial="SN1", gtin=GTIN))
    second = create_device(svc, org.actor, DeviceInput("Pump 2", serial="SN2", gtin=GTIN))

    with pytest.raises(GtinSerialTaken):
        update_device(svc, org.actor, second.id, {"serial": "SN1"})
    with pytest.raises(Invalid) as invalid:
        update_device(svc, org.actor, second.id, {"gtin": "09506000134353"})
    assert "gtin" in invalid.value.fields
    assert update_device(svc, org.actor, second.id, {"gtin": None}).gtin is None
    assert update_device(svc, org.actor, second.id, {"serial": "SN1"}).serial == "SN1"


def test_a_device_made_from_a_template_with_a_gtin_gets_that_gtin(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    pump = templates.create_template(svc, org.actor, name="Pump", fields=[], gtin=GTIN)

    made = create_device(svc, org.actor, DeviceInput("Pump 1", serial="SN1", template_id=pump.id))
    given = create_device(
        svc, org.actor, DeviceInput("Pump 2", serial="SN1", template_id=pump.id, gtin=OTHER_GTIN)
    )

    assert (made.gtin, given.gtin) == (GTIN, OTHER_GTIN)


# --- rules -------------------------------------------------------------------------------


def test_rules_are_checked_named_once_listed_in_order_deleted_and_audited(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    pump = templates.create_template(svc, org.actor, name="Pump", fields=[])

    first = dynamic_codes.create_rule(svc, org.actor, name="GS1", kind="gs1", pattern="950600")
    second = dynamic_codes.create_rule(
        svc, org.actor, name="Serials", kind="regex", pattern=r"SN-(?P<serial>\d+)",
        template_id=pump.id,
    )  # fmt: skip
    with pytest.raises(NameTaken):
        dynamic_codes.create_rule(svc, org.actor, name="GS1", kind="gs1")
    with pytest.raises(Invalid) as no_serial:
        dynamic_codes.create_rule(svc, org.actor, name="Bad", kind="regex", pattern=r"\d+")
    assert "pattern" in no_serial.value.fields
    with pytest.raises(Invalid) as unknown_template:
        dynamic_codes.create_rule(svc, org.actor, name="T", kind="gs1", template_id="NOPE")
    assert "template_id" in unknown_template.value.fields

    listed = dynamic_codes.list_rules(svc, org.actor, ALL).items
    assert [r.id for r in listed] == [first.id, second.id]
    assert dynamic_codes.get_rule(svc, org.actor, second.id).template_id == pump.id
    dynamic_codes.delete_rule(svc, org.actor, first.id)
    with pytest.raises(NotFound):
        dynamic_codes.get_rule(svc, org.actor, first.id)

    entries = audit.list_audit(svc, org.actor, AuditFilter(), ALL).items
    actions = [(e.action, e.target_id) for e in entries]
    assert ("dynamic_rule.created", first.id) in actions
    assert ("dynamic_rule.created", second.id) in actions
    assert ("dynamic_rule.deleted", first.id) in actions


def test_only_those_who_manage_templates_manage_rules(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    rule = gs1_rule(svc, org)
    for role in ("technician", "viewer", "iot_manager"):
        member = member_actor(make_member(svc, org, roles=[role]))
        with pytest.raises(PermissionDenied):
            dynamic_codes.create_rule(svc, member, name=unique("R"), kind="gs1")
        with pytest.raises(PermissionDenied):
            dynamic_codes.delete_rule(svc, member, rule)
        assert dynamic_codes.get_rule(svc, member, rule).id == rule
    manager = member_actor(make_member(svc, org, roles=["device_manager"]))
    dynamic_codes.create_rule(svc, manager, name=unique("R"), kind="gs1")


# --- scanning: our own codes and bound payloads ------------------------------------------


def test_our_own_code_url_in_any_case_or_a_bare_token_answers_the_code_and_its_device(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    device = create_device(svc, org.actor, DeviceInput("Boiler"))
    code = pairing.create_code_for_device(svc, org.actor, device.id)
    url = code_url(svc.public_url, code.token)

    for payload in (url, url.upper(), url.replace("/c/", "/C/"), code.token, code.token.lower()):
        found = dynamic_codes.scan(svc, org.actor, payload)

        assert found.result is ScanOutcome.CODE, payload
        assert found.code is not None
        assert found.code.id == code.id
        assert found.device is not None
        assert found.device.id == device.id
        assert [c.token for c in found.codes] == [code.token]


def test_an_unpaired_code_answers_the_code_without_a_device(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    (code,) = codes.create_codes(svc, org.actor)

    found = dynamic_codes.scan(svc, org.actor, code.token, create=True)

    assert (found.result, found.device) == (ScanOutcome.CODE, None)
    assert devices_of(svc, org) == []


def test_a_payload_that_matches_nothing_is_unknown_and_creates_nothing(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    gs1_rule(svc, org)

    for payload in ("hello", f"{svc.public_url}/c/0000000000000000", "(01)09506000134353(21)X"):
        found = dynamic_codes.scan(svc, org.actor, payload, create=True)
        assert found == Scanned(ScanOutcome.UNKNOWN), payload
    assert devices_of(svc, org) == []


# --- scanning: rules -----------------------------------------------------------------------


def test_a_gs1_rule_resolves_digital_links_and_element_strings_to_the_device(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    gs1_rule(svc, org, prefix="950600")
    device = create_device(svc, org.actor, DeviceInput("Pump", serial="ABC123", gtin=GTIN))

    for payload in (
        f"{LINK}ABC123",
        "https://other.example.net/01/9506000134352/21/ABC123",
        f"(01){GTIN}(21)ABC123",
        f"01{GTIN}\x1d21ABC123",
    ):
        found = dynamic_codes.scan(svc, org.actor, payload)

        assert found.result is ScanOutcome.DEVICE, payload
        assert found.device is not None
        assert found.device.id == device.id
        assert (found.gtin, found.serial) == (GTIN, "ABC123")


def test_a_gs1_rule_with_a_company_prefix_ignores_gtins_of_other_companies(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    gs1_rule(svc, org, prefix="400638")
    create_device(svc, org.actor, DeviceInput("Pump", serial="ABC123", gtin=GTIN))

    found = dynamic_codes.scan(svc, org.actor, f"{LINK}ABC123", create=True)

    assert found.result is ScanOutcome.UNKNOWN
    assert len(devices_of(svc, org)) == 1


def test_a_regex_rule_reads_serial_and_gtin_and_the_first_matching_rule_wins(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    dynamic_codes.create_rule(
        svc,
        org.actor,
        name="Ours",
        kind="regex",
        pattern=r"ACME\|(?P<gtin>\d{14})\|(?P<serial>\w+)",
    )
    dynamic_codes.create_rule(
        svc, org.actor, name="Anything", kind="regex", pattern=r"(?P<serial>.+)"
    )
    pump = create_device(svc, org.actor, DeviceInput("Pump", serial="S7", gtin=GTIN))
    wrong = f"ACME|{GTIN[:-1]}3|S7"  # a wrong check digit
    plain = create_device(svc, org.actor, DeviceInput("Plain", serial=wrong))

    by_gtin = dynamic_codes.scan(svc, org.actor, f"ACME|{GTIN}|S7")
    # The first rule does not match a wrong GTIN; the second reads it all as a serial.
    fallen_through = dynamic_codes.scan(svc, org.actor, wrong)

    assert by_gtin.device is not None
    assert by_gtin.device.id == pump.id
    assert (by_gtin.gtin, by_gtin.serial) == (GTIN, "S7")
    assert fallen_through.device is not None
    assert fallen_through.device.id == plain.id
    assert (fallen_through.gtin, fallen_through.serial) == (None, wrong)


def test_scanning_with_create_makes_the_device_from_the_gtins_template_and_a_bound_code(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    area = make_department(svc, org)
    pump = templates.create_template(
        svc, org.actor, name="Pump X", fields=[{"name": "power", "type": "number"}],
        departments=[area.id], gtin=GTIN,
    )  # fmt: skip
    gs1_rule(svc, org)
    payload = f"{LINK}ABC123"

    created = dynamic_codes.scan(svc, org.actor, payload, create=True, attributes={"power": 3})

    assert created.result is ScanOutcome.CREATED
    device, code = created.device, created.code
    assert device is not None
    assert code is not None
    assert (device.name, device.serial, device.gtin) == ("Pump X ABC123", "ABC123", GTIN)
    assert (device.template_id, device.attributes) == (pump.id, {"power": 3})
    assert device.departments == frozenset({area.id})
    assert (code.device_id, code.payload, code.active) == (device.id, payload, True)
    assert codes.get_code(svc, org.actor, code.token).device_id == device.id
    actions = {e.action for e in audit.list_audit(svc, org.actor, AuditFilter(), ALL).items}
    assert {"device.created", "code.created", "code.paired"} <= actions

    again = dynamic_codes.scan(svc, org.actor, payload, create=True)
    assert again.result is ScanOutcome.CODE
    assert again.code is not None
    assert again.code.id == code.id
    assert again.device is not None
    assert again.device.id == device.id
    # The same device through another form of the label: found by GTIN and serial.
    other_form = dynamic_codes.scan(svc, org.actor, f"(01){GTIN}(21)ABC123", create=True)
    assert other_form.result is ScanOutcome.DEVICE
    assert other_form.device is not None
    assert other_form.device.id == device.id
    assert [c.token for c in other_form.codes] == [code.token]
    assert (len(devices_of(svc, org)), len(codes_of(svc, org))) == (1, 1)


def test_without_a_template_for_the_gtin_the_rules_template_or_none_is_used(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    valve = templates.create_template(svc, org.actor, name="Valve", fields=[])
    dynamic_codes.create_rule(
        svc, org.actor, name="Valves", kind="regex", pattern=r"V-(?P<serial>\d+)",
        template_id=valve.id,
    )  # fmt: skip
    gs1_rule(svc, org)

    from_rule = dynamic_codes.scan(svc, org.actor, "V-100", create=True).device
    bare = dynamic_codes.scan(svc, org.actor, f"{LINK}Z9", create=True).device

    assert from_rule is not None
    assert bare is not None
    assert (from_rule.name, from_rule.template_id, from_rule.gtin) == ("Valve 100", valve.id, None)
    assert (bare.name, bare.template_id, bare.gtin) == ("Z9", None, GTIN)
    # The regex rule without a GTIN names the device by serial within its template.
    assert dynamic_codes.scan(svc, org.actor, "V-100").result is ScanOutcome.CODE
    create_device(svc, org.actor, DeviceInput("Loose 200", serial="200"))
    assert dynamic_codes.scan(svc, org.actor, "V-200").result is ScanOutcome.UNKNOWN


def test_without_create_a_new_payload_is_unknown_with_what_the_rule_read(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    gs1_rule(svc, org)

    found = dynamic_codes.scan(svc, org.actor, f"{LINK}NEW1")

    assert found == Scanned(ScanOutcome.UNKNOWN, gtin=GTIN, serial="NEW1")
    assert devices_of(svc, org) == []


def test_a_viewer_scans_but_cannot_create_and_a_technician_can(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    gs1_rule(svc, org)
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    technician = member_actor(make_member(svc, org, roles=["technician"]))

    assert dynamic_codes.scan(svc, viewer, f"{LINK}T1").result is ScanOutcome.UNKNOWN
    with pytest.raises(PermissionDenied):
        dynamic_codes.scan(svc, viewer, f"{LINK}T1", create=True)
    assert devices_of(svc, org) == []
    assert dynamic_codes.scan(svc, technician, f"{LINK}T1", create=True).result is (
        ScanOutcome.CREATED
    )


def test_a_payload_longer_than_a_code_can_be_bound_to_is_refused(container: Container) -> None:
    svc = container.services
    org = make_org(svc)

    with pytest.raises(Invalid) as refused:
        dynamic_codes.scan(svc, org.actor, "x" * 501)

    assert "payload" in refused.value.fields


# --- isolation ----------------------------------------------------------------------------


def test_a_member_of_another_department_gets_unknown_and_creates_nothing(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    a, b = make_department(svc, org), make_department(svc, org)
    in_b = member_actor(make_member(svc, org, roles=["technician"], departments=[b.id]))
    gs1_rule(svc, org)
    device = create_device(
        svc, org.actor, DeviceInput("Pump of A", serial="A1", gtin=GTIN, departments=[a.id])
    )
    sticker = pairing.create_code_for_device(svc, org.actor, device.id)
    bound = dynamic_codes.scan(svc, org.actor, f"{LINK}A2", create=True)
    pairing_device = bound.device
    assert pairing_device is not None
    update_device(svc, org.actor, pairing_device.id, {"departments": [a.id]})
    before = (devices_of(svc, org), codes_of(svc, org))

    for payload in (
        f"{LINK}A1",
        f"{LINK}A2",
        sticker.token,
        code_url(svc.public_url, sticker.token),
    ):
        for create in (False, True):
            found = dynamic_codes.scan(svc, in_b, payload, create=create)

            assert found.result is ScanOutcome.UNKNOWN, (payload, create)
            assert (found.code, found.device, found.codes) == (None, None, [])
    assert (devices_of(svc, org), codes_of(svc, org)) == before


def test_a_restricted_member_creates_in_their_own_department(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    b = make_department(svc, org)
    in_b = member_actor(make_member(svc, org, roles=["technician"], departments=[b.id]))
    gs1_rule(svc, org)

    created = dynamic_codes.scan(svc, in_b, f"{LINK}B1", create=True)

    assert created.device is not None
    assert created.device.departments == frozenset({b.id})
    assert dynamic_codes.scan(svc, in_b, f"{LINK}B1").result is ScanOutcome.CODE


def test_another_organizations_rules_codes_and_devices_never_match(container: Container) -> None:
    svc = container.services
    org, other = make_org(svc), make_org(svc)
    gs1_rule(svc, other)
    dynamic_codes.create_rule(svc, other.actor, name="All", kind="regex", pattern="(?P<serial>.+)")
    theirs = create_device(svc, other.actor, DeviceInput("Theirs", serial="X1", gtin=GTIN))
    their_code = pairing.create_code_for_device(svc, other.actor, theirs.id)
    bound = dynamic_codes.scan(svc, other.actor, f"{LINK}X2", create=True)
    assert bound.result is ScanOutcome.CREATED

    for payload in (f"{LINK}X1", f"{LINK}X2", their_code.token, "anything"):
        found = dynamic_codes.scan(svc, org.actor, payload, create=True)
        assert found == Scanned(ScanOutcome.UNKNOWN), payload
    assert devices_of(svc, org) == []

    # With a rule of its own, the organization creates its own device for the same label.
    gs1_rule(svc, org)
    mine = dynamic_codes.scan(svc, org.actor, f"{LINK}X1", create=True)
    assert mine.result is ScanOutcome.CREATED
    assert mine.device is not None
    assert mine.device.organization_id == org.organization.id
    assert get_device(svc, other.actor, theirs.id).name == "Theirs"


# --- concurrency ----------------------------------------------------------------------------


def race(calls: list[Callable[[], T]]) -> list[T | DomainError]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | DomainError:
        barrier.wait(timeout=30)
        try:
            return call()
        except DomainError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("form", ["gs1", "regex without gtin"])
def test_concurrent_scans_of_one_new_payload_create_exactly_one_device_and_one_code(
    container: Container, form: str
) -> None:
    svc = container.services
    org = make_org(svc)
    if form == "gs1":
        gs1_rule(svc, org)
        payloads = [f"{LINK}RACE{n}" for n in range(3)]
    else:
        dynamic_codes.create_rule(
            svc, org.actor, name="R", kind="regex", pattern=r"R-(?P<serial>\d+)"
        )
        payloads = [f"R-{n}" for n in range(3)]

    for payload in payloads:
        outcomes = race([partial(dynamic_codes.scan, svc, org.actor, payload, create=True)] * 8)

        answers = [o for o in outcomes if isinstance(o, Scanned)]
        assert len(answers) == len(outcomes), outcomes
        assert [a.result for a in answers].count(ScanOutcome.CREATED) == 1, outcomes
        assert {a.result for a in answers} <= {ScanOutcome.CREATED, ScanOutcome.CODE}
        assert len({a.device.id for a in answers if a.device is not None}) == 1
        assert len({a.code.id for a in answers if a.code is not None}) == 1
    assert len(devices_of(svc, org)) == len(payloads)
    assert len(codes_of(svc, org)) == len(payloads)


# --- GS1 Digital Link paths -------------------------------------------------------------------


def test_a_digital_link_leads_to_the_bound_code_else_the_oldest_active_one(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    device = create_device(svc, org.actor, DeviceInput("Pump", serial="D1", gtin=GTIN))
    payload = f"{svc.public_url}/01/{GTIN}/21/D1"

    link = dynamic_codes.resolve_digital_link(svc, GTIN, "D1", payload=payload)
    assert link is not None
    assert (link.device_id, link.token) == (device.id, None)

    oldest = pairing.create_code_for_device(svc, org.actor, device.id)
    newer = pairing.create_code_for_device(svc, org.actor, device.id)
    by_path = dynamic_codes.resolve_digital_link(svc, "9506000134352", "D1", payload="elsewhere")
    assert by_path is not None
    assert by_path.token == oldest.token
    codes.update_code(svc, org.actor, oldest.token, {"active": False})
    by_active = dynamic_codes.resolve_digital_link(svc, GTIN, "D1", payload="elsewhere")
    assert by_active is not None
    assert by_active.token == newer.token

    bound = dynamic_codes.code_for_digital_link(svc, org.actor, GTIN, "D1", payload=payload)
    assert bound.token == newer.token  # the device has a code: no second one
    # With only a deactivated code, the path leads to it (and shows it deactivated, A10).
    pairing.unpair_code(svc, org.actor, newer.token)
    deactivated = dynamic_codes.resolve_digital_link(svc, GTIN, "D1", payload=payload)
    assert deactivated is not None
    assert deactivated.token == oldest.token
    pairing.unpair_code(svc, org.actor, oldest.token)
    bound = dynamic_codes.code_for_digital_link(svc, org.actor, GTIN, "D1", payload=payload)
    assert (bound.payload, bound.device_id) == (payload, device.id)
    pairing.create_code_for_device(svc, org.actor, device.id)
    preferred = dynamic_codes.resolve_digital_link(svc, GTIN, "D1", payload=payload)
    assert preferred is not None
    assert preferred.token == bound.token


def test_a_digital_link_naming_no_device_or_two_of_different_organizations_leads_nowhere(
    container: Container,
) -> None:
    svc = container.services
    org, other = make_org(svc), make_org(svc)
    create_device(svc, org.actor, DeviceInput("Ours", serial="D2", gtin=GTIN))
    create_device(svc, other.actor, DeviceInput("Theirs", serial="D2", gtin=GTIN))

    assert dynamic_codes.resolve_digital_link(svc, GTIN, "D2", payload="x") is None
    assert dynamic_codes.resolve_digital_link(svc, GTIN, "D3", payload="x") is None
    assert dynamic_codes.resolve_digital_link(svc, "09506000134353", "D2", payload="x") is None
    with pytest.raises(NotFound):
        dynamic_codes.code_for_digital_link(svc, org.actor, GTIN, "D2", payload="x")


def test_only_a_member_who_sees_the_device_creates_a_code_from_its_digital_link(
    container: Container,
) -> None:
    svc = container.services
    org, other = make_org(svc), make_org(svc)
    a, b = make_department(svc, org), make_department(svc, org)
    create_device(svc, org.actor, DeviceInput("Pump", serial="D4", gtin=GTIN, departments=[a.id]))
    in_b = member_actor(make_member(svc, org, roles=["technician"], departments=[b.id]))
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))

    for actor, refusal in ((in_b, NotFound), (other.actor, NotFound), (viewer, PermissionDenied)):
        with pytest.raises(refusal):
            dynamic_codes.code_for_digital_link(svc, actor, GTIN, "D4", payload="p")
    assert codes_of(svc, org) == []


def test_an_organization_has_a_bounded_number_of_rules(container: Container) -> None:
    """Each scan tries every rule in turn (A14), so their number is bounded."""
    svc = container.services
    org = make_org(svc)
    for number in range(dynamic_codes.MAX_RULES):
        dynamic_codes.create_rule(svc, org.actor, name=f"Rule {number}", kind="gs1")

    with pytest.raises(Invalid) as refused:
        dynamic_codes.create_rule(svc, org.actor, name="One more", kind="gs1")
    assert "at most" in refused.value.detail
