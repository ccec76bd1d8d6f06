"""Pairing under concurrency (SPEC A6, A9, §7 reliability), through the use cases with real
threads on SQLite and PostgreSQL: every call is its own transaction, as it is for concurrent
requests, and a barrier releases the threads together so they really race.

A code has at most one device, whatever runs at once; two pairings of one code give exactly
one success; a device carries as many codes as are paired with it; unpairing leaves no
notification behind that belongs to another pairing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from onboard.bootstrap import Container
from onboard.domain.codes import Code, Notification
from onboard.domain.errors import CodeAlreadyPaired, CodeNotPaired, DomainError
from onboard.services import audit, codes, documents, pairing, public, records
from onboard.services.devices import (
    DeviceInput,
    create_device,
    delete_device,
    get_device,
    update_device,
)
from onboard.services.ports import AuditFilter, PageRequest, Services
from tests.factories import Org, make_org

THREADS = 16
ROUNDS = 5

T = TypeVar("T")


def race(calls: list[Callable[[], T]]) -> list[T | DomainError]:
    """Run every call on its own thread, all released at once; a refusal is an outcome."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | DomainError:
        barrier.wait(timeout=30)
        try:
            return call()
        except DomainError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def new_device(svc: Services, org: Org, name: str) -> str:
    return create_device(svc, org.actor, DeviceInput(name=name)).id


def new_code(svc: Services, org: Org) -> str:
    (code,) = codes.create_codes(svc, org.actor)
    return code.token


def audited(svc: Services, org: Org, action: str, code_token: str) -> int:
    code = codes.get_code(svc, org.actor, code_token)
    entries = audit.list_audit(
        svc, org.actor, AuditFilter(action=action, target=code.id), PageRequest(limit=500)
    )
    return len(entries.items)


def test_concurrent_pairings_of_one_code_with_different_devices_give_exactly_one_success(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    for round_ in range(ROUNDS):
        token = new_code(svc, org)
        devices = [new_device(svc, org, f"Pump {round_}.{n}") for n in range(THREADS)]

        outcomes = race(
            [partial(pairing.pair_code, svc, org.actor, token, device) for device in devices]
        )

        winners = [o for o in outcomes if isinstance(o, Code)]
        refused = [o for o in outcomes if not isinstance(o, Code)]
        assert len(winners) == 1, f"round {round_}: {len(winners)} pairings won"
        assert all(isinstance(o, CodeAlreadyPaired) for o in refused), refused
        winner = winners[0].device_id
        assert codes.get_code(svc, org.actor, token).device_id == winner
        carrying = [d for d in devices if pairing.codes_of_device(svc, org.actor, d)]
        assert carrying == [winner]
        assert audited(svc, org, "code.paired", token) == 1


def test_concurrent_pairings_of_different_codes_with_one_device_all_succeed(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    device = new_device(svc, org, "Boiler")
    tokens = [c.token for c in codes.create_codes(svc, org.actor, count=THREADS)]

    outcomes = race([partial(pairing.pair_code, svc, org.actor, token, device) for token in tokens])

    assert all(isinstance(o, Code) and o.device_id == device for o in outcomes), outcomes
    carried = pairing.codes_of_device(svc, org.actor, device)
    assert sorted(c.token for c in carried) == sorted(tokens)


def test_concurrent_unpairings_of_one_code_give_exactly_one_success(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    for round_ in range(ROUNDS):
        token = new_code(svc, org)
        pairing.pair_code(svc, org.actor, token, new_device(svc, org, f"Fan {round_}"))

        outcomes = race([partial(pairing.unpair_code, svc, org.actor, token)] * 8)

        succeeded = [o for o in outcomes if isinstance(o, Code)]
        assert len(succeeded) == 1, f"round {round_}: {len(succeeded)} unpairings succeeded"
        assert all(isinstance(o, CodeNotPaired) for o in outcomes if o not in succeeded)
        assert codes.get_code(svc, org.actor, token).device_id is None
        assert audited(svc, org, "code.unpaired", token) == 1


def test_concurrent_unpairing_pairing_and_notifying_never_mix_two_pairings(
    container: Container,
) -> None:
    """Unpairings, pairings with other devices and code users' notifications race on one
    code: afterwards it has at most one device, and every notification in its history was
    sent to that device (A9: unpairing clears the history; a new pairing starts empty)."""
    svc = container.services
    org = make_org(svc)
    for round_ in range(ROUNDS):
        token = new_code(svc, org)
        first = new_device(svc, org, f"Chiller {round_}")
        others = [new_device(svc, org, f"Chiller {round_}.{n}") for n in range(4)]
        pairing.pair_code(svc, org.actor, token, first)
        for n in range(3):
            public.send_notification(
                svc, token, message=f"before {n}", contact=None, client=f"10.{round_}.0.{n}"
            )

        calls: list[Callable[[], object]] = [
            partial(pairing.unpair_code, svc, org.actor, token),
            partial(pairing.unpair_code, svc, org.actor, token),
            *[partial(pairing.pair_code, svc, org.actor, token, d) for d in others],
            *[
                partial(
                    public.send_notification,
                    svc,
                    token,
                    message=f"during {n}",
                    contact=None,
                    client=f"10.{round_}.1.{n}",
                )
                for n in range(6)
            ],
        ]
        outcomes = race(calls)

        unexpected = [
            o
            for o in outcomes
            if isinstance(o, DomainError) and not isinstance(o, CodeAlreadyPaired | CodeNotPaired)
        ]
        assert not unexpected, unexpected
        code = codes.get_code(svc, org.actor, token)
        carrying = [d for d in [first, *others] if pairing.codes_of_device(svc, org.actor, d)]
        assert carrying == ([code.device_id] if code.device_id else [])
        history = codes.list_notifications(svc, org.actor, token, PageRequest(limit=100))
        strangers = [n.message for n in history.items if n.device_id != code.device_id]
        assert strangers == [], f"round {round_}: notifications of another pairing remain"
        for sent in (o for o in outcomes if isinstance(o, Notification)):
            kept = records.list_interactions(svc, org.actor, sent.device_id, PageRequest(limit=100))
            assert sent.interaction_id in {i.id for i in kept.items}, "the device keeps it"


def test_concurrent_new_codes_for_one_device_all_succeed_with_distinct_tokens(
    container: Container,
) -> None:
    svc = container.services
    org = make_org(svc)
    device = new_device(svc, org, "Compressor")

    outcomes = race([partial(pairing.create_code_for_device, svc, org.actor, device)] * THREADS)

    assert all(isinstance(o, Code) and o.device_id == device for o in outcomes), outcomes
    tokens = {o.token for o in outcomes if isinstance(o, Code)}
    assert len(tokens) == THREADS
    carried = pairing.codes_of_device(svc, org.actor, device)
    assert {c.token for c in carried} == tokens


def test_a_device_deleted_while_codes_are_paired_with_it_audits_every_unpairing(
    container: Container,
) -> None:
    """A5, P8: deleting a device unpairs every code paired with it, also those paired
    while the deletion runs, and each unpairing has its audit entry."""
    svc = container.services
    org = make_org(svc)
    for _ in range(ROUNDS):
        device = new_device(svc, org, "Doomed")
        tokens = [new_code(svc, org) for _ in range(THREADS - 1)]
        calls: list[Callable[[], object]] = [
            partial(pairing.pair_code, svc, org.actor, token, device) for token in tokens
        ]
        calls.append(partial(delete_device, svc, org.actor, device))

        race(calls)

        for token in tokens:
            assert codes.get_code(svc, org.actor, token).device_id is None
            paired = audited(svc, org, "code.paired", token)
            assert audited(svc, org, "code.unpaired", token) == paired, token


def test_a_photo_and_a_change_of_the_same_device_at_once_both_stay(
    container: Container,
) -> None:
    """A3: changing a device and setting its installation photo at the same time loses
    neither (the second waits for the first instead of writing back what it read)."""
    svc = container.services
    org = make_org(svc)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for round_ in range(ROUNDS):
        device = new_device(svc, org, "Boiler")
        race(
            [
                partial(documents.set_photo, svc, org.actor, device, png + bytes([round_])),
                partial(update_device, svc, org.actor, device, {"name": f"Renamed {round_}"}),
            ]
        )

        after = get_device(svc, org.actor, device)
        assert after.name == f"Renamed {round_}"
        assert after.photo_key is not None
