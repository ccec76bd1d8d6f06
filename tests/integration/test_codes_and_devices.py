"""Codes, devices, templates and what code users do, through the use cases on SQLite and
PostgreSQL (SPEC A1-A5, A10-A13, P3, P5, P6): tokens, typed attributes, departments of new
records, the public page, PINs and notifications, and what may not be deleted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from onboard.bootstrap import Container
from onboard.domain.codes import PublicState, code_url
from onboard.domain.errors import (
    CodeDeactivated,
    DepartmentForbidden,
    InUse,
    Invalid,
    InvalidAttributes,
    NotFound,
    NotificationLimited,
    PinLocked,
    WrongPin,
)
from onboard.services import codes, customers, departments, pairing, public, records, templates
from onboard.services.common import member_actor
from onboard.services.devices import (
    DeviceInput,
    create_device,
    delete_device,
    get_device,
    list_devices,
    update_device,
)
from onboard.services.ports import CodeFilter, DeviceFilter, PageRequest, Services
from tests.factories import Org, make_department, make_member, make_org

CROCKFORD_TOKEN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{16}$")
ALL = PageRequest(limit=1000)

PUMP_FIELDS: list[dict[str, Any]] = [
    {"name": "model", "type": "string", "required": True, "public": True},
    {"name": "flow", "type": "number", "public": True},
    {"name": "outdoor", "type": "boolean"},
    {"name": "installed", "type": "date", "public": True},
    {"name": "service_contract", "type": "string"},
]


def pump_template(svc: Services, org: Org, departments: list[str] | None = None) -> str:
    return templates.create_template(
        svc, org.actor, name="Pump", fields=PUMP_FIELDS, departments=departments
    ).id


def new_pump(svc: Services, org: Org, template_id: str, **attributes: Any) -> DeviceInput:
    return DeviceInput(name="Pump 1", template_id=template_id, attributes=attributes)


def paired_code(svc: Services, org: Org, *, pin: str | None = None) -> str:
    """A code with an optional PIN, paired with a plain device."""
    device = create_device(svc, org.actor, DeviceInput(name="Boiler"))
    (code,) = codes.create_codes(svc, org.actor, pin=pin)
    pairing.pair_code(svc, org.actor, code.token, device.id)
    return code.token


# --- tokens (A2) ---------------------------------------------------------------------


def test_a_code_token_is_sixteen_uppercase_crockford_characters_read_case_insensitively(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    (code,) = codes.create_codes(svc, org.actor, label="Pump room")

    assert CROCKFORD_TOKEN.match(code.token), code.token
    assert code_url(svc.public_url, code.token).endswith(f"/c/{code.token}")
    assert codes.get_code(svc, org.actor, code.token.lower()).id == code.id
    assert public.view_code(svc, code.token.lower()).state is PublicState.UNPAIRED


def test_five_thousand_codes_created_at_once_all_have_distinct_well_formed_tokens(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)

    created = codes.create_codes(svc, org.actor, count=5000, batch="2024-07")

    tokens = {c.token for c in created}
    assert len(tokens) == 5000
    assert all(CROCKFORD_TOKEN.match(t) for t in tokens)
    stored = codes.list_codes(svc, org.actor, CodeFilter(batch="2024-07"), PageRequest(limit=5001))
    assert {c.token for c in stored.items} == tokens


@pytest.mark.parametrize("count", [0, -1, 100_001])
def test_creating_no_codes_or_more_than_a_hundred_thousand_at_once_is_refused(
    container: Container, count: int
) -> None:
    svc = container.services
    org = make_org(svc)

    with pytest.raises(Invalid) as refused:
        codes.create_codes(svc, org.actor, count=count)

    assert "count" in refused.value.fields
    assert codes.list_codes(svc, org.actor, CodeFilter(), ALL).items == []


# --- templates and typed attributes (A4) ---------------------------------------------


def test_a_device_from_a_template_keeps_its_attributes_typed_and_dates_in_iso_form(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    template = pump_template(svc, org)

    device = create_device(
        svc,
        org.actor,
        new_pump(svc, org, template, model="X-200", flow=12.5, outdoor=True, installed="20240105"),
    )

    stored = get_device(svc, org.actor, device.id)
    assert stored.template_id == template
    assert stored.attributes == {
        "model": "X-200",
        "flow": 12.5,
        "outdoor": True,
        "installed": "2024-01-05",
    }


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"flow": 3}, "attributes.model"),  # required, missing
        ({"model": ""}, "attributes.model"),  # required, empty
        ({"model": "X", "flow": "fast"}, "attributes.flow"),
        ({"model": "X", "flow": True}, "attributes.flow"),
        ({"model": "X", "outdoor": "yes"}, "attributes.outdoor"),
        ({"model": 200}, "attributes.model"),
        ({"model": "X", "installed": "2024-13-01"}, "attributes.installed"),
        ({"model": "X", "installed": 20240105}, "attributes.installed"),
        ({"model": "X", "colour": "red"}, "attributes.colour"),  # not a field of the template
    ],
)
def test_attributes_that_do_not_fit_the_template_are_refused_and_nothing_is_created(
    container: Container, attributes: dict[str, Any], field: str
) -> None:
    svc = container.services
    org = make_org(svc)
    template = pump_template(svc, org)

    with pytest.raises(InvalidAttributes) as refused:
        create_device(svc, org.actor, new_pump(svc, org, template, **attributes))

    assert field in refused.value.fields
    assert list_devices(svc, org.actor, DeviceFilter(), ALL).items == []


def test_changing_a_devices_attributes_checks_them_against_its_template(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    template = pump_template(svc, org)
    device = create_device(svc, org.actor, new_pump(svc, org, template, model="X-200"))

    with pytest.raises(InvalidAttributes):
        update_device(svc, org.actor, device.id, {"attributes": {"model": "X", "flow": "n/a"}})

    assert get_device(svc, org.actor, device.id).attributes == {"model": "X-200"}


def test_a_template_in_use_by_a_device_cannot_be_deleted_until_the_device_is_gone(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    template = pump_template(svc, org)
    device = create_device(svc, org.actor, new_pump(svc, org, template, model="X-200"))

    with pytest.raises(InUse):
        templates.delete_template(svc, org.actor, template)
    assert templates.get_template(svc, org.actor, template).name == "Pump"

    delete_device(svc, org.actor, device.id)
    templates.delete_template(svc, org.actor, template)
    assert templates.list_templates(svc, org.actor, ALL).items == []


# --- departments of new records (P5, A4) ---------------------------------------------


def test_what_a_restricted_member_creates_gets_their_departments_or_a_subset_they_choose(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    north, south, east = (make_department(svc, org).id for _ in range(3))
    member = make_member(svc, org, roles=["device_manager"], departments=[north, south])
    actor = member_actor(member)

    (code,) = codes.create_codes(svc, actor)
    device = create_device(svc, actor, DeviceInput(name="Fan"))
    (narrow,) = codes.create_codes(svc, actor, departments=[south])

    assert code.departments == {north, south}
    assert device.departments == {north, south}
    assert narrow.departments == {south}
    with pytest.raises(DepartmentForbidden):
        codes.create_codes(svc, actor, departments=[east])
    with pytest.raises(DepartmentForbidden):
        create_device(svc, actor, DeviceInput(name="Fan", departments=[north, east]))
    listed = codes.list_codes(svc, org.actor, CodeFilter(), ALL).items
    assert {c.token for c in listed} == {code.token, narrow.token}


def test_a_templates_default_departments_apply_to_devices_made_from_it(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    north, south = make_department(svc, org).id, make_department(svc, org).id
    template = pump_template(svc, org, departments=[north])
    restricted = member_actor(make_member(svc, org, roles=["technician"], departments=[south]))

    by_default = create_device(svc, org.actor, new_pump(svc, org, template, model="X"))
    chosen = create_device(
        svc,
        org.actor,
        DeviceInput(
            name="Pump 2", template_id=template, attributes={"model": "X"}, departments=[south]
        ),
    )
    outside_defaults = create_device(svc, restricted, new_pump(svc, org, template, model="X"))

    assert get_device(svc, org.actor, by_default.id).departments == {north}
    assert get_device(svc, org.actor, chosen.id).departments == {south}
    # A restricted member cannot give departments they lack; theirs apply instead (P5).
    assert get_device(svc, org.actor, outside_defaults.id).departments == {south}


def test_a_department_a_device_belongs_to_cannot_be_deleted(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    north = make_department(svc, org).id
    device = create_device(svc, org.actor, DeviceInput(name="Fan", departments=[north]))

    with pytest.raises(InUse):
        departments.delete_department(svc, org.actor, north)
    assert get_device(svc, org.actor, device.id).departments == {north}

    update_device(svc, org.actor, device.id, {"departments": []})
    departments.delete_department(svc, org.actor, north)
    assert departments.list_departments(svc, org.actor, ALL).items == []


def test_deleting_a_customer_keeps_its_devices_without_a_customer(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    customer = customers.create_customer(svc, org.actor, name="ACME Water")
    device = create_device(svc, org.actor, DeviceInput(name="Fan", customer_id=customer.id))
    assert device.customer_id == customer.id

    customers.delete_customer(svc, org.actor, customer.id)

    assert get_device(svc, org.actor, device.id).customer_id is None


# --- the public page, PINs and notifications (A10-A13) -------------------------------


def test_the_public_page_of_a_paired_code_shows_only_public_attributes(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    template = pump_template(svc, org)
    device = create_device(
        svc,
        org.actor,
        new_pump(
            svc, org, template, model="X-200", flow=4, outdoor=False, installed="2024-01-05",
            service_contract="SC-991 (confidential)",
        ),
    )  # fmt: skip
    (code,) = codes.create_codes(svc, org.actor)
    pairing.pair_code(svc, org.actor, code.token, device.id)

    view = public.view_code(svc, code.token)

    assert view.state is PublicState.PAIRED
    assert view.device is not None
    assert view.device.name == "Pump 1"
    assert view.device.attributes == {"model": "X-200", "flow": 4, "installed": "2024-01-05"}


def test_a_deactivated_code_shows_deactivated_and_takes_no_notification(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org)
    codes.update_code(svc, org.actor, token, {"active": False})

    view = public.view_code(svc, token)

    assert view.state is PublicState.DEACTIVATED
    assert view.device is None
    with pytest.raises(CodeDeactivated):
        public.send_notification(svc, token, message="Leaking", contact=None, client="1.2.3.4")
    assert codes.list_notifications(svc, org.actor, token, ALL).items == []


def test_five_wrong_pins_lock_the_client_out_even_for_the_right_pin(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org, pin="2468")

    for _ in range(5):
        with pytest.raises(WrongPin):
            public.enter_pin(svc, token, "0000", client="203.0.113.7")
    with pytest.raises(PinLocked):
        public.enter_pin(svc, token, "2468", client="203.0.113.7")
    with pytest.raises(PinLocked):
        public.view_code(svc, token, pin="2468", client="203.0.113.7")

    # Another client is not locked out by the first one's guesses.
    pin_pass = public.enter_pin(svc, token, "2468", client="198.51.100.1")
    assert public.view_code(svc, token, pin_pass=pin_pass).state is PublicState.PAIRED


def test_four_wrong_pins_then_the_right_one_let_the_client_in(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org, pin="2468")

    for _ in range(4):
        with pytest.raises(WrongPin):
            public.enter_pin(svc, token, "1357", client="203.0.113.7")
    pin_pass = public.enter_pin(svc, token, "2468", client="203.0.113.7")

    assert public.view_code(svc, token, pin_pass=pin_pass).state is PublicState.PAIRED


def test_a_pin_pass_stops_opening_the_code_once_its_pin_changes(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org, pin="2468")
    assert public.view_code(svc, token).state is PublicState.PIN_REQUIRED
    old_pass = public.enter_pin(svc, token, "2468", client="203.0.113.7")
    assert public.view_code(svc, token, pin_pass=old_pass).state is PublicState.PAIRED

    codes.update_code(svc, org.actor, token, {"pin": "97531"})

    assert public.view_code(svc, token, pin_pass=old_pass).state is PublicState.PIN_REQUIRED
    with pytest.raises(WrongPin):
        public.enter_pin(svc, token, "2468", client="203.0.113.7")
    new_pass = public.enter_pin(svc, token, "97531", client="203.0.113.7")
    assert public.view_code(svc, token, pin_pass=new_pass).state is PublicState.PAIRED


def test_a_pin_protected_code_takes_no_notification_without_the_pin(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org, pin="2468")

    with pytest.raises(WrongPin):
        public.send_notification(svc, token, message="Leaking", contact=None, client="1.2.3.4")
    public.send_notification(
        svc, token, message="Leaking", contact=None, pin="2468", client="1.2.3.4"
    )

    history = codes.list_notifications(svc, org.actor, token, ALL).items
    assert [n.message for n in history] == ["Leaking"]


def test_a_client_may_send_ten_notifications_an_hour_and_the_eleventh_is_refused(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    token = paired_code(svc, org)

    for n in range(10):
        public.send_notification(
            svc, token, message=f"Dripping {n}", contact="Ann, +1 555 0100", client="192.0.2.9"
        )
    with pytest.raises(NotificationLimited):
        public.send_notification(svc, token, message="Again", contact=None, client="192.0.2.9")
    public.send_notification(svc, token, message="Other visitor", contact=None, client="192.0.2.10")

    history = codes.list_notifications(svc, org.actor, token, ALL).items
    assert len(history) == 11
    assert "Again" not in {n.message for n in history}
    device_id = codes.get_code(svc, org.actor, token).device_id
    assert device_id is not None
    kept = records.list_interactions(svc, org.actor, device_id, ALL).items
    assert sorted(i.text for i in kept) == sorted(n.message for n in history)


# --- the lifecycle timeline (A3) ------------------------------------------------------


def test_a_devices_timeline_tells_its_life_newest_first_and_only_its_own(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    device = create_device(svc, org.actor, DeviceInput(name="Boiler"))
    other = create_device(svc, org.actor, DeviceInput(name="Other boiler"))
    (code,) = codes.create_codes(svc, org.actor)
    pairing.pair_code(svc, org.actor, code.token, device.id)
    update_device(svc, org.actor, device.id, {"status": "maintenance"})
    records.add_service_record(svc, org.actor, device.id, text="Valve", performed_at=None)
    public.send_notification(svc, code.token, message="It leaks", contact=None, client="1.2.3.4")
    pairing.unpair_code(svc, org.actor, code.token)
    pairing.create_code_for_device(svc, org.actor, other.id)

    entries = records.device_timeline(svc, org.actor, device.id, ALL).items

    assert [e.action for e in entries] == [
        "code.unpaired",
        "code.notification_received",
        "device.service_recorded",
        "device.updated",
        "code.paired",
        "device.created",
    ]
    assert entries[0].before == {"device_id": device.id}
    assert (entries[3].after or {}).get("status") == "maintenance"
    other_actions = [e.action for e in records.device_timeline(svc, org.actor, other.id, ALL).items]
    assert other_actions == ["code.paired", "code.created", "device.created"]


def test_a_devices_timeline_is_refused_to_a_member_who_cannot_see_the_device(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    a, b = make_department(svc, org), make_department(svc, org)
    device = create_device(svc, org.actor, DeviceInput(name="Boiler", departments=[a.id]))
    in_b = make_member(svc, org, departments=[b.id])

    with pytest.raises(NotFound):
        records.device_timeline(svc, member_actor(in_b), device.id, ALL)
