"""Codes' effective departments kept as rows (SPEC A8, A16), on SQLite and PostgreSQL: the
table department-scoped lists read follows every transition — creation, pairing, a
device's and a code's department change, unpairing, deleting a device or a code — and
races between them; and codes are found by the start of their token (A16's free text)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import replace

from sqlalchemy import select

from onboard.adapters.db import tables as t
from onboard.bootstrap import Container
from onboard.domain.errors import DomainError
from onboard.services import codes, pairing
from onboard.services.devices import DeviceInput, create_device, delete_device, update_device
from onboard.services.ports import CodeFilter, PageRequest
from tests.factories import Org, make_department, make_org

ALL = PageRequest(limit=500)


def kept(container: Container, org: Org) -> dict[str, frozenset[str]]:
    """code token → its rows in code_effective_departments."""
    codes_table, rows = t.codes, t.code_effective_departments
    query = (
        select(codes_table.c.token, rows.c.department_id)
        .join(rows, rows.c.code_id == codes_table.c.id)
        .where(codes_table.c.organization_id == org.organization.id)
    )
    found: dict[str, set[str]] = {}
    with container.engine.connect() as conn:
        for token, department in conn.execute(query):
            found.setdefault(token, set()).add(department)
    return {token: frozenset(departments) for token, departments in found.items()}


def from_scratch(container: Container, org: Org) -> dict[str, frozenset[str]]:
    """A8 computed from the pairing and both department link tables."""
    c, own, devices = t.codes, t.code_departments, t.device_departments
    paired = select(c.c.token, devices.c.department_id).join(
        devices, devices.c.device_id == c.c.device_id
    )
    unpaired = select(c.c.token, own.c.department_id).join(own, own.c.code_id == c.c.id)
    found: dict[str, set[str]] = {}
    with container.engine.connect() as conn:
        for query in (paired, unpaired.where(c.c.device_id.is_(None))):
            for token, department in conn.execute(
                query.where(c.c.organization_id == org.organization.id)
            ):
                found.setdefault(token, set()).add(department)
    return {token: frozenset(departments) for token, departments in found.items()}


def listed_in(container: Container, org: Org, department: str) -> set[str]:
    page = codes.list_codes(container.services, org.actor, CodeFilter(department=department), ALL)
    return {c.token for c in page.items}


def test_effective_department_rows_follow_every_transition_of_a_code(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    a, b, c, d = (make_department(svc, org).id for _ in range(4))
    (code,) = codes.create_codes(svc, org.actor, departments=[a])
    token = code.token
    assert kept(container, org) == {token: {a}}, "a new code: its own"

    device = create_device(svc, org.actor, DeviceInput(name="Pump", departments=[b])).id
    pairing.pair_code(svc, org.actor, token, device)
    assert kept(container, org) == {token: {b}}, "paired: the device's"
    assert listed_in(container, org, b) == {token}
    assert listed_in(container, org, a) == set()

    update_device(svc, org.actor, device, {"departments": [b, c]})
    assert kept(container, org) == {token: {b, c}}, "the device's change follows"

    codes.update_code(svc, org.actor, token, {"departments": [d]})
    assert kept(container, org) == {token: {b, c}}, "own departments wait while paired"

    pairing.unpair_code(svc, org.actor, token)
    assert kept(container, org) == {token: {d}}, "unpaired: its own again"
    assert listed_in(container, org, d) == {token}
    assert listed_in(container, org, b) == set()

    codes.update_code(svc, org.actor, token, {"departments": [a, c]})
    assert kept(container, org) == {token: {a, c}}, "own change while unpaired"

    codes.update_code(svc, org.actor, token, {"departments": []})
    assert kept(container, org) == {}, "no department: no rows"

    made = pairing.create_code_for_device(svc, org.actor, device)
    assert kept(container, org) == {made.token: {b, c}}

    pairing.pair_code(svc, org.actor, token, device)
    delete_device(svc, org.actor, device)
    assert kept(container, org) == {made.token: {b, c}}, "deleting unpairs: own again"
    assert kept(container, org) == from_scratch(container, org)

    codes.delete_code(svc, org.actor, made.token)
    assert kept(container, org) == {}


def test_codes_stored_paired_and_devices_deleted_under_paired_codes_keep_a8(
    container: Container,
) -> None:
    """The repositories themselves keep the rows, whatever use case calls them: a code
    inserted already paired takes its device's departments, and a device deleted while
    codes are still paired with it (the foreign key would unpair them silently) gives
    them back their own."""
    svc = container.services
    org = make_org(svc)
    a, b = make_department(svc, org).id, make_department(svc, org).id
    device = create_device(svc, org.actor, DeviceInput(name="Pump", departments=[b])).id
    (template,) = codes.create_codes(svc, org.actor, departments=[a])
    with svc.uow() as uow:
        stored = [
            replace(template, id=svc.ids.new(), token=f"{n:016d}", device_id=device)
            for n in range(3)
        ]
        uow.codes.add_many(stored)
        uow.commit()
    assert kept(container, org) == {
        template.token: {a},
        **{s.token: frozenset({b}) for s in stored},
    }
    with svc.uow() as uow:
        uow.devices.delete(device)
        uow.commit()
    assert kept(container, org) == {template.token: {a}, **{s.token: {a} for s in stored}}
    for s in stored:
        assert codes.get_code(svc, org.actor, s.token).device_id is None


def race(calls: list[Callable[[], object]]) -> None:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> None:
        barrier.wait(timeout=30)
        # A refusal the rules foresee (already paired, not paired, a clash to retry).
        with suppress(DomainError):
            call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        list(pool.map(run, calls))


def test_pairings_unpairings_and_department_changes_racing_on_one_device_keep_a8(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    departments = [make_department(svc, org).id for _ in range(3)]
    device = create_device(svc, org.actor, DeviceInput(name="Pump", departments=departments[:1])).id
    free = [c.token for c in codes.create_codes(svc, org.actor, count=6, departments=[])]
    held = [pairing.create_code_for_device(svc, org.actor, device).token for _ in range(4)]
    for round_ in range(3):
        calls: list[Callable[[], object]] = []
        calls += [lambda tk=tk: pairing.pair_code(svc, org.actor, tk, device) for tk in free]
        calls += [lambda tk=tk: pairing.unpair_code(svc, org.actor, tk) for tk in held]
        calls += [
            lambda n=n: update_device(
                svc, org.actor, device, {"departments": departments[n % 3 : n % 3 + 2]}
            )
            for n in range(round_, round_ + 4)
        ]
        race(calls)
        assert kept(container, org) == from_scratch(container, org), f"round {round_}"
        free, held = held, free


def test_a_code_is_found_by_the_start_of_its_token_as_typed(container: Container) -> None:
    svc = container.services
    org = make_org(svc)
    made = codes.create_codes(svc, org.actor, count=20, label="Hall")
    token = made[7].token
    # As a person types it: lower case, a hyphen, O for 0 and L for 1.
    typed = token.lower().translate(str.maketrans({"0": "o", "1": "l"}))

    def found(q: str) -> set[str]:
        page = codes.list_codes(svc, org.actor, CodeFilter(q=q), ALL)
        return {c.token for c in page.items}

    for length in (4, 9, 15):
        start = typed[:length]
        expected = {c.token for c in made if c.token.startswith(token[:length])}
        assert token in expected
        assert found(start) == expected
        assert found(f"{start[:2]}-{start[2:]}") == expected
    assert found(typed) == {token}
    assert found(token[:3]) == set(), "three characters are too few to search tokens by"
    assert found("hal") == {c.token for c in made}, "labels still match by substring"
