"""The device API's POST /device/v1/pair through a real server over HTTP, on SQLite and
PostgreSQL (SPEC B5, B6, B7, §6): success, idempotent re-pairing, each refusal as a
problem, the rate limit per source address, and exactness under real concurrent clients.
The server is shared, so each test works in an organization of its own."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from onboard.adapters.db import tables
from onboard.domain.licensing import LicenseStatus
from onboard.services import audit, licensing
from onboard.services.ports import AuditFilter, PageRequest, Services
from tests.answers import PROBLEM, json_of, problem_of
from tests.conftest import Database, LiveServer, serving
from tests.factories import Org, unique

PAIR = "/device/v1/pair"
ALL = PageRequest(limit=1000)


def product_with_licenses(svc: Services, org: Org, count: int) -> str:
    product = licensing.create_product(svc, org.actor, name=unique("Collector"))
    if count:
        licensing.grant_licenses(svc, org.actor, product.id, count=count, expires_at=None)
    return product.id


def licenses(svc: Services, org: Org, product_id: str, status: LicenseStatus) -> list[str]:
    page = licensing.list_licenses(svc, org.actor, ALL, product_id=product_id, status=status)
    return [x.id for x in page.items]


@pytest.fixture
def device(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A device's HTTP client: no credentials of any member."""
    with live_server.client() as client:
        yield client


def test_a_device_pairs_with_the_scanned_link_and_gets_license_configuration_and_credential(
    svc: Services, org: Org, device: httpx.Client
) -> None:
    """B5, §6: the answer holds the device, its license, the newest configuration with its
    ETag, and a credential; the pairing is audited with the device's address."""
    product_id = product_with_licenses(svc, org, 2)
    licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"scan": 1})
    newest = licensing.create_configuration(svc, org.actor, product_id, name="v2", body={"n": 2})
    issued = licensing.create_pairing_code(svc, org.actor, product_id)

    paired = json_of(
        device.post(
            PAIR,
            json={
                "code": issued.url,
                "hardware_id": "IMEI-350000000000001",
                "model": "TC52",
                "os": "Android 13",
                "app_version": "4.2.0",
            },
        )
    )

    assert paired["configuration"] == {"id": newest.id, "etag": newest.etag, "body": {"n": 2}}
    assert len(paired["credential"]) >= 32
    assert licenses(svc, org, product_id, LicenseStatus.ASSIGNED) == [paired["license_id"]]
    (entry,) = audit.list_audit(svc, org.actor, AuditFilter(action="device.paired"), ALL).items
    assert (entry.target_id, entry.actor_kind) == (paired["device_id"], "device")
    assert entry.source_ip == "127.0.0.1"


def test_a_product_without_configurations_pairs_with_a_null_configuration(
    svc: Services, org: Org, device: httpx.Client
) -> None:
    """§6: ``configuration`` is null until the product has one (B8)."""
    product_id = product_with_licenses(svc, org, 1)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)

    paired = json_of(device.post(PAIR, json={"code": issued.text, "hardware_id": "BARE-1"}))

    assert paired["configuration"] is None


def test_the_same_hardware_pairing_again_keeps_device_and_license_with_a_new_credential(
    svc: Services, org: Org, device: httpx.Client
) -> None:
    """B5: re-pairing is idempotent; only the credential changes."""
    product_id = product_with_licenses(svc, org, 3)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    body = {"code": issued.url, "hardware_id": "SERIAL-42"}

    first = json_of(device.post(PAIR, json=body))
    again = json_of(device.post(PAIR, json={**body, "code": issued.text.lower()}))

    assert (again["device_id"], again["license_id"]) == (first["device_id"], first["license_id"])
    assert again["credential"] != first["credential"]
    assert licenses(svc, org, product_id, LicenseStatus.ASSIGNED) == [first["license_id"]]


def expire(database: Database, code_id: str, svc: Services) -> None:
    """Move a code's end of validity into the past: the server's clock cannot be moved."""
    with database.engine.begin() as conn:
        conn.execute(
            update(tables.pairing_codes)
            .where(tables.pairing_codes.c.id == code_id)
            .values(expires_at=svc.clock.now() - timedelta(seconds=1))
        )


def test_pairing_refusals_are_the_b7_problems_and_take_no_license(
    svc: Services, org: Org, device: httpx.Client, live_server: LiveServer
) -> None:
    """B7: used 410, revoked 410, expired 410, no free license 409 (saying more licenses are
    needed); an unknown code is 404. Only the one successful pairing took a license."""
    product_id = product_with_licenses(svc, org, 1)
    once = licensing.create_pairing_code(svc, org.actor, product_id, max_uses=1)
    json_of(device.post(PAIR, json={"code": once.text, "hardware_id": "FIRST"}))

    used = device.post(PAIR, json={"code": once.text, "hardware_id": "SECOND"})
    spare = licensing.create_pairing_code(svc, org.actor, product_id)
    exhausted = device.post(PAIR, json={"code": spare.url, "hardware_id": "THIRD"})
    licensing.revoke_pairing_code(svc, org.actor, spare.code.id)
    revoked = device.post(PAIR, json={"code": spare.url, "hardware_id": "THIRD"})
    late = licensing.create_pairing_code(svc, org.actor, product_id)
    expire(live_server.database, late.code.id, svc)
    expired = device.post(PAIR, json={"code": late.text, "hardware_id": "FOURTH"})
    unknown = device.post(PAIR, json={"code": "0" * 20, "hardware_id": "FIFTH"})
    not_a_code = device.post(PAIR, json={"code": "hello", "hardware_id": "FIFTH"})

    problem_of(used, 410, "pairing_code_used")
    assert "more licenses" in problem_of(exhausted, 409, "no_free_license")["detail"]
    problem_of(revoked, 410, "pairing_code_revoked")
    problem_of(expired, 410, "pairing_code_expired")
    problem_of(unknown, 404, "not_found")
    problem_of(not_a_code, 404, "not_found")
    assert len(licenses(svc, org, product_id, LicenseStatus.ASSIGNED)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X"}, "hardware_id"),
        ({"hardware_id": "HW"}, "code"),
        ({"code": 12, "hardware_id": "HW"}, "code"),
        ({"code": "X", "hardware_id": "H" * 201}, "hardware_id"),
        ({"code": "X", "hardware_id": "HW", "model": "M" * 101}, "model"),
        ({"code": "X", "hardware_id": "HW", "os": "nul\x00"}, "os"),
        ({"code": "X", "hardware_id": "   "}, "hardware_id"),
    ],
)
def test_a_bad_body_is_an_invalid_problem_and_pairs_nothing(
    svc: Services, org: Org, device: httpx.Client, body: dict[str, Any], field: str
) -> None:
    """P10, §6: bad input is 422 problem+json naming the field, never a 500."""
    product_id = product_with_licenses(svc, org, 1)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    if body.get("code") == "X":
        body = {**body, "code": issued.text}

    problem = problem_of(device.post(PAIR, json=body), 422, "invalid")

    assert field in {error["field"] for error in problem["errors"]}
    assert licenses(svc, org, product_id, LicenseStatus.ASSIGNED) == []


def test_a_body_that_is_not_json_is_an_invalid_problem(device: httpx.Client) -> None:
    answer = device.post(PAIR, content=b"{not json", headers={"Content-Type": "application/json"})

    problem_of(answer, 422, "invalid")


def test_the_device_api_has_its_own_openapi_document_and_answers_problems_everywhere(
    device: httpx.Client,
) -> None:
    """§6: the device API is documented apart from the members' API."""
    document = json_of(device.get("/device/v1/openapi.json"))
    members = json_of(device.get("/api/v1/openapi.json"))

    operation = document["paths"]["/pair"]["post"]
    assert {"404", "409", "410", "422", "429"} <= set(operation["responses"])
    assert document["servers"] == [{"url": "/device/v1"}]
    assert not any(path.endswith("/pair") and "device" in path for path in members["paths"])
    problem_of(device.get("/device/v1/no-such-call"), 404, "not_found")
    assert device.get(PAIR).headers["content-type"] == PROBLEM


def from_address(url: str, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address, so that the limit it
    meets is its own and not that of the other tests' requests."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=30)


def test_pairing_attempts_beyond_the_limit_from_one_address_get_429_with_retry_after(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """B5, §6: attempts per source address are limited (refused ones count: guessing codes
    is what the limit stops); past it, 429 with Retry-After; another address is not held
    back. A server of its own with ONBOARD_PAIR_ATTEMPTS=3 over the same database."""
    address, other = (f"127.{secrets.randbelow(250) + 1}.{n}.{secrets.randbelow(250) + 1}"
                      for n in (1, 2))  # fmt: skip
    attempt = {"code": "0" * 20, "hardware_id": "GUESSER"}
    limits = {"ONBOARD_PAIR_ATTEMPTS": "3"}
    with (
        serving(live_server.database, tmp_path, secret_key="k" * 40, extra_env=limits) as url,
        from_address(url, address) as guesser,
        from_address(url, other) as bystander,
    ):
        allowed = [guesser.post(PAIR, json=attempt) for _ in range(3)]
        limited = guesser.post(PAIR, json=attempt)
        elsewhere = bystander.post(PAIR, json=attempt)

    for answer in allowed:
        problem_of(answer, 404, "not_found")
    problem_of(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"] == str(licensing.PAIR_WINDOW_SECONDS)
    problem_of(elsewhere, 404, "not_found")


def race(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Post every body at once, each from a client (and connection) of its own, released
    together by a barrier once all are connected."""
    start = threading.Barrier(len(bodies))
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def post(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/healthz")  # connect first, so the race is the pairings'
            start.wait(timeout=60)
            answers[n] = client.post(PAIR, json=bodies[n])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(answer is not None for answer in answers), "a client did not finish"
    return [answer for answer in answers if answer is not None]


def outcome(answer: httpx.Response) -> str:
    if answer.status_code == 200:
        return "paired"
    return f"{answer.status_code} {answer.json().get('code')}"


def test_n_free_licenses_and_m_concurrent_clients_give_exactly_n_devices(
    svc: Services, org: Org, live_server: LiveServer
) -> None:
    """B6 over real HTTP: 5 free licenses, 16 devices pairing at once with one reusable
    code -> exactly 5 paired (each with its own license) and 11 told no_free_license."""
    product_id = product_with_licenses(svc, org, 5)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)

    answers = race(
        live_server.url, [{"code": issued.url, "hardware_id": f"RACER-{n}"} for n in range(16)]
    )

    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("paired") == 5, outcomes
    assert outcomes.count("409 no_free_license") == 11, outcomes
    paired = [answer.json() for answer in answers if answer.status_code == 200]
    assert len({p["device_id"] for p in paired}) == 5
    taken = {p["license_id"] for p in paired}
    assert sorted(taken) == sorted(licenses(svc, org, product_id, LicenseStatus.ASSIGNED))
    assert len(taken) == 5
    assert licenses(svc, org, product_id, LicenseStatus.FREE) == []


def test_a_single_use_code_posted_by_many_clients_at_once_pairs_exactly_one(
    svc: Services, org: Org, live_server: LiveServer
) -> None:
    """B4, B6 over real HTTP: 8 devices redeem one single-use code at once -> one device,
    on the code's own license; the others are told the code is used."""
    product_id = product_with_licenses(svc, org, 3)
    own = licenses(svc, org, product_id, LicenseStatus.FREE)[0]
    single = licensing.single_use_code(svc, org.actor, own)

    answers = race(
        live_server.url, [{"code": single.url, "hardware_id": f"GRAB-{n}"} for n in range(8)]
    )

    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("paired") == 1, outcomes
    assert outcomes.count("410 pairing_code_used") == 7, outcomes
    assert licenses(svc, org, product_id, LicenseStatus.ASSIGNED) == [own]
