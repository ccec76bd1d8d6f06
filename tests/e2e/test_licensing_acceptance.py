"""Acceptance of licensed client devices (issue 6, SPEC Part B, §5.1, §6): an Administrator
acting only through the members' API and a fleet of devices acting only through the device
API (the reference client where it fits, raw HTTP where a refusal must be seen), against a
real server over HTTP on SQLite and PostgreSQL. Each story runs in an organization of its
own. The server's clock cannot be moved, so where a code or a license must have expired the
test backdates its row with SQL, and says so."""

from __future__ import annotations

import secrets
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, update

from onboard.adapters.db import tables
from onboard.device import client, store
from onboard.device.client import DeviceApiError, NotPaired, Pairing, request_pairing
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer

PAIR = "/device/v1/pair"
CHECKIN = "/device/v1/checkin"
RACERS_AT_MOST = 24

Json = dict[str, Any]


# --- the Administrator, through the members' API (§5.1) ----------------------------------


def new_product(api: httpx.Client) -> str:
    name = f"Collector {secrets.token_hex(4)}"
    product_id: str = json_of(api.post("/api/v1/products", json={"name": name}), 201)["id"]
    return product_id


def grant(api: httpx.Client, product_id: str, count: int, **more: Any) -> list[Json]:
    """B2: ``count`` licenses, as a purchase would bring them."""
    body = {"product_id": product_id, "count": count, **more}
    granted: list[Json] = json_of(api.post("/api/v1/licenses", json=body), 201)["items"]
    assert len(granted) == count
    return granted


def license_list(api: httpx.Client, product_id: str, status: str | None = None) -> list[Json]:
    query: dict[str, str | int] = {"product_id": product_id, "limit": 200}
    if status is not None:
        query["status"] = status
    page = json_of(api.get("/api/v1/licenses", params=query))
    assert page["next_cursor"] is None
    items: list[Json] = page["items"]
    return items


def served(api: httpx.Client, product_id: str) -> dict[str, str | None]:
    """B2 as the license table shows it: each license and the device it serves, None when
    free; the status always agrees with the device."""
    rows = license_list(api, product_id)
    for row in rows:
        assert row["status"] == ("free" if row["device_id"] is None else "assigned"), row
    return {row["id"]: row["device_id"] for row in rows}


def assigned_count(api: httpx.Client, product_id: str) -> int:
    return len(license_list(api, product_id, "assigned"))


def reusable_code(api: httpx.Client, product_id: str, **more: Any) -> Json:
    """B3: a reusable pairing code, shown once with its link and QR."""
    made = json_of(api.post("/api/v1/pairing-codes", json={"product_id": product_id, **more}), 201)
    assert (made["kind"], made["revoked"], made["uses"]) == ("reusable", False, 0)
    return made


def single_use_code(api: httpx.Client, license_id: str, **more: Any) -> Json:
    """B4 "Assign device": a single-use code bound to one license."""
    answer = api.post(f"/api/v1/licenses/{license_id}/pairing-code", json=more or None)
    made = json_of(answer, 201)
    assert (made["kind"], made["license_id"], made["max_uses"]) == ("single_use", license_id, 1)
    return made


def code_record(api: httpx.Client, product_id: str, code_id: str) -> Json:
    """A pairing code as the list shows it later: its uses and state, never its secret."""
    page = json_of(api.get("/api/v1/pairing-codes", params={"product_id": product_id}))
    found: Json = next(c for c in page["items"] if c["id"] == code_id)
    assert (found["code"], found["url"], found["qr_svg"]) == (None, None, None)
    return found


def new_configuration(api: httpx.Client, product_id: str, name: str, body: Json) -> Json:
    """B8: a configuration; the answer's id and ETag are what devices receive."""
    made = json_of(
        api.post(
            "/api/v1/configurations", json={"product_id": product_id, "name": name, "body": body}
        ),
        201,
    )
    return {"id": made["id"], "etag": made["etag"], "body": body}


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the fleet, through the device API (§6) -----------------------------------------------


def hardware() -> str:
    return f"IMEI-{secrets.token_hex(6)}"


def pair(device: httpx.Client, scanned: str, hardware_id: str) -> Pairing:
    """A pairing that must succeed, made by the reference client's call."""
    return request_pairing(
        device, scanned, hardware_id, model="TC52", os_name="Android 13", app_version="4.2.0"
    )


def pair_raw(device: httpx.Client, scanned: str, hardware_id: str) -> httpx.Response:
    """A pairing whose answer is looked at as it came: a refusal is problem+json (B7)."""
    return device.post(PAIR, json={"code": scanned, "hardware_id": hardware_id})


def check_in(device: httpx.Client, credential: str, etag: str | None = None) -> httpx.Response:
    return device.post(
        CHECKIN,
        json={"configuration_etag": etag},
        headers={"Authorization": f"Bearer {credential}"},
    )


def check_in_ok(device: httpx.Client, credential: str, etag: str | None = None) -> Json:
    return json_of(check_in(device, credential, etag))


# --- moving the clock: the server's cannot be moved, so the rows are backdated ------------


def backdate(live_server: LiveServer, table: Table, row_id: str, *columns: str) -> None:
    """Set these columns of one row to a second ago, as if that time had come."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with live_server.database.engine.begin() as conn:
        conn.execute(
            update(table).where(table.c.id == row_id).values(**dict.fromkeys(columns, past))
        )


def expire_code(live_server: LiveServer, code: Json) -> None:
    """Let a pairing code's validity run out. A single-use code's license is reserved until
    the same instant (B4); that instant is written in both rows, so both move."""
    backdate(live_server, tables.pairing_codes, code["id"], "expires_at")
    if code["license_id"] is not None:
        backdate(live_server, tables.licenses, code["license_id"], "reserved_until")


# --- many devices at once (B6) ------------------------------------------------------------


def race(url: str, bodies: list[Json]) -> list[httpx.Response]:
    """POST every pairing at once, each from a thread with an HTTP client (and connection)
    of its own, released together by a barrier once all are connected."""
    assert len(bodies) <= RACERS_AT_MOST
    start = threading.Barrier(len(bodies))
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def post(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as own:
            own.get("/healthz")  # connect first, so that the race is the pairings'
            start.wait(timeout=60)
            answers[n] = own.post(PAIR, json=bodies[n])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    finished = [answer for answer in answers if answer is not None]
    assert len(finished) == len(bodies), "a client did not finish"
    return finished


def outcome(answer: httpx.Response) -> str:
    """'paired', or the problem's status and code; a refusal must be problem+json."""
    if answer.status_code == 200:
        return "paired"
    code = str(answer.json().get("code"))
    problem_of(answer, answer.status_code, code)
    return f"{answer.status_code} {code}"


@pytest.fixture
def device(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A device's HTTP client: no member's credentials."""
    with live_server.client() as http:
        yield http


# --- 1. licenses and a reusable code (B2, B3, B5) -----------------------------------------


def test_granted_licenses_go_one_to_each_paired_device_and_the_list_shows_whom_each_serves(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B2: licenses granted with a count and an expiry start free. B3, B5: devices pairing
    with one reusable code (its link or the bare code) each take a free license; the license
    list shows each license free or the device it serves, and the code counts its uses."""
    product = new_product(api)
    expiry = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)

    granted = grant(api, product, 3, expires_at=expiry.isoformat())

    assert [(x["status"], x["device_id"]) for x in granted] == [("free", None)] * 3
    assert {aware(x["expires_at"]) for x in granted} == {expiry}
    assert served(api, product) == {x["id"]: None for x in granted}
    assert {aware(x["expires_at"]) for x in license_list(api, product)} == {expiry}
    code = reusable_code(api, product)
    assert code["max_uses"] is None
    validity = aware(code["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < validity <= timedelta(days=30)

    first = pair(device, code["url"], hardware())
    second = pair(device, code["code"], hardware())

    assert first.device_id != second.device_id
    assert first.license_id != second.license_id
    (spare,) = {x["id"] for x in granted} - {first.license_id, second.license_id}
    assert served(api, product) == {
        first.license_id: first.device_id,
        second.license_id: second.device_id,
        spare: None,
    }
    assert [x["id"] for x in license_list(api, product, "free")] == [spare]
    assert assigned_count(api, product) == 2
    assert code_record(api, product, code["id"])["uses"] == 2
    shown = json_of(api.get(f"/api/v1/devices/{first.device_id}"))
    assert (shown["id"], shown["name"]) == (first.device_id, "TC52")


# --- 2. single-use codes (B4) -------------------------------------------------------------


def test_a_single_use_code_pairs_one_device_onto_its_own_license_which_reusable_codes_leave(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B4: "Assign device" answers the code, its link, its QR and its expiry (60 s); while
    it is live its license is reserved: reusable codes take the others and then find no
    free license (B7). The single-use code takes exactly its license, once; a second device
    is told it is used, and the license cannot be assigned again."""
    product = new_product(api)
    grant(api, product, 3)
    # The license a reusable code would take first is the one reserved, so that leaving it
    # alone is a rule and not luck.
    reserved = license_list(api, product)[0]["id"]

    single = single_use_code(api, reserved)

    assert single["code"]
    assert single["url"].endswith("/p/" + single["code"])
    assert single["qr_svg"].lstrip().startswith("<svg")
    assert single["qr_svg"].rstrip().endswith("</svg>")
    lifetime = aware(single["expires_at"]) - datetime.now(UTC)
    assert timedelta(seconds=50) < lifetime <= timedelta(seconds=60)
    again = api.post(f"/api/v1/licenses/{reserved}/pairing-code")
    problem_of(again, 409, "license_not_free")

    reusable = reusable_code(api, product)
    others = [pair(device, reusable["url"], hardware()) for _ in range(2)]
    full = pair_raw(device, reusable["url"], hardware())

    assert reserved not in {p.license_id for p in others}
    assert "more licenses" in problem_of(full, 409, "no_free_license")["detail"]
    assert [x["id"] for x in license_list(api, product, "free")] == [reserved]

    chosen = pair(device, single["url"], hardware())
    second = pair_raw(device, single["url"], hardware())

    assert chosen.license_id == reserved
    problem_of(second, 410, "pairing_code_used")
    assert served(api, product) == {
        reserved: chosen.device_id,
        **{p.license_id: p.device_id for p in others},
    }
    assert code_record(api, product, single["id"])["uses"] == 1
    problem_of(api.post(f"/api/v1/licenses/{reserved}/pairing-code"), 409, "license_not_free")


def test_a_single_use_code_that_expires_unused_gives_its_license_back(
    api: httpx.Client, device: httpx.Client, live_server: LiveServer
) -> None:
    """B4, B7: past its 60 s the code is pairing_code_expired, and its license is no longer
    reserved: a reusable code takes it, or a new "Assign device" code can be made."""
    product = new_product(api)
    (license_,) = grant(api, product, 1)
    single = single_use_code(api, license_["id"], ttl_seconds=30)
    reusable = reusable_code(api, product)
    problem_of(pair_raw(device, reusable["url"], hardware()), 409, "no_free_license")

    expire_code(live_server, single)  # backdated: the server's clock cannot be moved

    problem_of(pair_raw(device, single["url"], hardware()), 410, "pairing_code_expired")
    replacement = single_use_code(api, license_["id"])
    expire_code(live_server, replacement)
    taken = pair(device, reusable["url"], hardware())
    assert taken.license_id == license_["id"]
    assert served(api, product) == {license_["id"]: taken.device_id}


def test_a_revoked_single_use_code_gives_its_license_back_at_once(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B3, B4: the reservation lasts while the code is valid; a revoked code is not."""
    product = new_product(api)
    first, second = (x["id"] for x in grant(api, product, 2))
    cancelled = [
        single_use_code(api, license_id, ttl_seconds=300) for license_id in (first, second)
    ]

    for single in cancelled:
        assert api.delete(f"/api/v1/pairing-codes/{single['id']}").status_code == 204

    for single in cancelled:
        problem_of(pair_raw(device, single["url"], hardware()), 410, "pairing_code_revoked")
        assert code_record(api, product, single["id"])["revoked"] is True
    taken = pair_raw(device, reusable_code(api, product)["url"], hardware())
    (left,) = {first, second} - {json_of(taken)["license_id"]}
    replacement = json_of(api.post(f"/api/v1/licenses/{left}/pairing-code"), 201)
    assert replacement["license_id"] == left


# --- 3. refusals (B7) ---------------------------------------------------------------------


def test_every_refusal_is_the_b7_problem_and_takes_no_license_and_no_use(
    api: httpx.Client, device: httpx.Client, live_server: LiveServer
) -> None:
    """B7: exhausted (max_uses) and used single-use codes are 410 pairing_code_used,
    revoked 410 pairing_code_revoked, expired 410 pairing_code_expired; with no free
    license (all taken, or the rest expired) 409 no_free_license saying more licenses are
    needed; an unknown code 404. None of them takes a license or counts as a use."""
    product = new_product(api)
    first_license, second_license = (x["id"] for x in grant(api, product, 2))
    limited = reusable_code(api, product, max_uses=1)
    one = pair(device, limited["url"], hardware())

    exhausted = pair_raw(device, limited["url"], hardware())

    problem_of(exhausted, 410, "pairing_code_used")
    revoked = reusable_code(api, product)
    assert api.delete(f"/api/v1/pairing-codes/{revoked['id']}").status_code == 204
    assert code_record(api, product, revoked["id"])["revoked"] is True
    problem_of(pair_raw(device, revoked["url"], hardware()), 410, "pairing_code_revoked")
    late = reusable_code(api, product)
    expire_code(live_server, late)  # backdated: the server's clock cannot be moved
    problem_of(pair_raw(device, late["code"], hardware()), 410, "pairing_code_expired")
    (left,) = {first_license, second_license} - {one.license_id}
    single = single_use_code(api, left)
    other = pair(device, single["url"], hardware())
    problem_of(pair_raw(device, single["url"], hardware()), 410, "pairing_code_used")

    spare_code = reusable_code(api, product)
    none_free = pair_raw(device, spare_code["url"], hardware())

    assert "more licenses" in problem_of(none_free, 409, "no_free_license")["detail"]
    (expiring,) = grant(
        api, product, 1, expires_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()
    )
    backdate(live_server, tables.licenses, expiring["id"], "expires_at")  # as if a day passed
    only_expired = pair_raw(device, spare_code["url"], hardware())
    assert "more licenses" in problem_of(only_expired, 409, "no_free_license")["detail"]
    problem_of(api.post(f"/api/v1/licenses/{expiring['id']}/pairing-code"), 409, "license_not_free")

    problem_of(pair_raw(device, "0" * 20, hardware()), 404, "not_found")
    problem_of(pair_raw(device, f"{live_server.url}/p/{'0' * 20}", hardware()), 404, "not_found")
    problem_of(pair_raw(device, "not a pairing code", hardware()), 404, "not_found")

    # Only the two successful pairings hold licenses. How the list labels an expired,
    # unassigned license is not pinned here: SPEC B2 names only free and assigned.
    assigned = {x["id"]: x["device_id"] for x in license_list(api, product, "assigned")}
    assert assigned == {one.license_id: one.device_id, other.license_id: other.device_id}
    uses = {c: code_record(api, product, c)["uses"] for c in (limited["id"], spare_code["id"])}
    assert uses == {limited["id"]: 1, spare_code["id"]: 0}
    assert code_record(api, product, revoked["id"])["uses"] == 0
    assert code_record(api, product, late["id"])["uses"] == 0


# --- 4. races (B6) ------------------------------------------------------------------------


def test_m_devices_pairing_at_once_on_n_free_licenses_give_exactly_n_devices(
    api: httpx.Client, live_server: LiveServer
) -> None:
    """B6: 6 free licenses, 20 devices pairing at once with one reusable code: exactly 6
    paired, each on a license of its own, 14 told no_free_license; the license list agrees."""
    product = new_product(api)
    grant(api, product, 6)
    code = reusable_code(api, product)

    answers = race(
        live_server.url, [{"code": code["url"], "hardware_id": hardware()} for _ in range(20)]
    )

    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("paired") == 6, outcomes
    assert outcomes.count("409 no_free_license") == 14, outcomes
    paired = [answer.json() for answer in answers if answer.status_code == 200]
    assert served(api, product) == {p["license_id"]: p["device_id"] for p in paired}
    assert assigned_count(api, product) == 6
    assert license_list(api, product, "free") == []
    assert code_record(api, product, code["id"])["uses"] == 6


def test_a_single_use_code_redeemed_by_many_devices_at_once_pairs_exactly_one(
    api: httpx.Client, live_server: LiveServer
) -> None:
    """B4, B6: 12 devices redeem one single-use code at once: one device, on the code's
    own license; 11 told the code is used; the product's other licenses stay free."""
    product = new_product(api)
    grant(api, product, 3)
    own = license_list(api, product)[1]["id"]
    single = single_use_code(api, own)

    answers = race(
        live_server.url, [{"code": single["url"], "hardware_id": hardware()} for _ in range(12)]
    )

    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("paired") == 1, outcomes
    assert outcomes.count("410 pairing_code_used") == 11, outcomes
    (winner,) = [answer.json() for answer in answers if answer.status_code == 200]
    assert winner["license_id"] == own
    assert [x["device_id"] for x in license_list(api, product, "assigned")] == [winner["device_id"]]
    assert len(license_list(api, product, "free")) == 2


def test_a_code_with_maximum_uses_redeemed_at_once_pairs_exactly_that_many(
    api: httpx.Client, live_server: LiveServer
) -> None:
    """B3, B6, B7: a reusable code allowing 4 uses, plenty of licenses, 16 devices at once:
    exactly 4 paired, 12 told the code is used; 6 licenses stay free."""
    product = new_product(api)
    grant(api, product, 10)
    code = reusable_code(api, product, max_uses=4)

    answers = race(
        live_server.url, [{"code": code["code"], "hardware_id": hardware()} for _ in range(16)]
    )

    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("paired") == 4, outcomes
    assert outcomes.count("410 pairing_code_used") == 12, outcomes
    assert assigned_count(api, product) == 4
    assert len(license_list(api, product, "free")) == 6
    assert code_record(api, product, code["id"])["uses"] == 4


def test_the_same_hardware_pairing_from_many_clients_at_once_is_one_device_on_one_license(
    api: httpx.Client, live_server: LiveServer, device: httpx.Client
) -> None:
    """B5, B6: a device that retries its pairing while the first attempt is in flight
    (8 at once, same hardware) ends up one device on one license: every answer is that
    device, each with its own credential (the pairing that lost the race to create it
    pairs again, idempotently), never a second device, a conflict or a 500."""
    product = new_product(api)
    grant(api, product, 3)
    code = reusable_code(api, product)
    same = hardware()

    answers = race(live_server.url, [{"code": code["url"], "hardware_id": same} for _ in range(8)])

    outcomes = [outcome(answer) for answer in answers]
    assert set(outcomes) == {"paired"}, outcomes
    paired = [answer.json() for answer in answers]
    assert len({(p["device_id"], p["license_id"]) for p in paired}) == 1
    assert len({p["credential"] for p in paired}) == len(paired)
    (license_id,) = [x["id"] for x in license_list(api, product, "assigned")]
    assert license_id == paired[0]["license_id"]
    settled = pair(device, code["url"], same)
    assert (settled.device_id, settled.license_id) == (paired[0]["device_id"], license_id)
    assert code_record(api, product, code["id"])["uses"] == 1


# --- 5. pairing again (B5) ----------------------------------------------------------------


def test_the_same_hardware_pairing_again_keeps_its_license_and_only_its_new_credential_works(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B5: pairing again from the same hardware is idempotent: same device, same license,
    its own configuration, no use of the code; a new credential, and the old one no longer
    checks in. It works with a code used up meanwhile or another valid code of the product;
    a revoked code still says no (services.licensing.pair checks revocation and expiry)."""
    product = new_product(api)
    grant(api, product, 2)
    v1 = new_configuration(api, product, "v1", {"interval": 60})
    once = reusable_code(api, product, max_uses=1)
    same = hardware()
    first = pair(device, once["url"], same)
    assert first.configuration == v1
    v2 = new_configuration(api, product, "v2", {"interval": 30})

    again = pair(device, once["url"], same)

    assert (again.device_id, again.license_id) == (first.device_id, first.license_id)
    assert again.credential != first.credential
    assert again.configuration == v1  # its own, not the newest (which new devices get)
    problem_of(check_in(device, first.credential), 401, "unauthenticated")
    assert check_in_ok(device, again.credential, v1["etag"]) == {
        "configuration": None,
        "commands": [],
    }
    assert code_record(api, product, once["id"])["uses"] == 1
    assert served(api, product)[first.license_id] == first.device_id
    assert assigned_count(api, product) == 1

    other_code = reusable_code(api, product)
    json_of(
        api.put(
            f"/api/v1/devices/{first.device_id}/configuration", json={"configuration_id": v2["id"]}
        )
    )
    third = pair(device, other_code["code"], same)
    assert (third.device_id, third.license_id) == (first.device_id, first.license_id)
    assert third.configuration == v2
    problem_of(check_in(device, again.credential), 401, "unauthenticated")
    assert code_record(api, product, other_code["id"])["uses"] == 0

    assert api.delete(f"/api/v1/pairing-codes/{other_code['id']}").status_code == 204
    problem_of(pair_raw(device, other_code["url"], same), 410, "pairing_code_revoked")
    assert check_in_ok(device, third.credential, v2["etag"])["commands"] == []
    assert assigned_count(api, product) == 1


# --- 6. configurations (B8) ---------------------------------------------------------------


def test_configurations_reach_devices_at_check_in_with_etags_one_device_or_many_at_once(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B8: a newly paired device gets the newest configuration; a check-in answers it in
    full with its ETag, and nothing when the device already has that ETag. A newer
    configuration goes only to devices paired after it. The Administrator changes one
    device's configuration (PUT) and several at once (assign): each changed device gets its
    new one at its next check-in; the others get nothing."""
    product = new_product(api)
    grant(api, product, 4)
    v1 = new_configuration(api, product, "v1", {"server": "https://a.example", "interval": 60})
    v2 = new_configuration(api, product, "v2", {"server": "https://a.example", "interval": 30})
    code = reusable_code(api, product)
    a, b, c = (pair(device, code["url"], hardware()) for _ in range(3))
    assert [p.configuration for p in (a, b, c)] == [v2] * 3
    assert v1["etag"] != v2["etag"]

    assert check_in_ok(device, a.credential) == {"configuration": v2, "commands": []}
    assert check_in_ok(device, a.credential, "stale") == {"configuration": v2, "commands": []}
    for p in (a, b, c):
        assert check_in_ok(device, p.credential, v2["etag"]) == {
            "configuration": None,
            "commands": [],
        }

    v3 = new_configuration(api, product, "v3", {"server": "https://b.example", "interval": 30})
    d = pair(device, code["url"], hardware())

    assert d.configuration == v3
    for p in (a, b, c):
        assert check_in_ok(device, p.credential, v2["etag"])["configuration"] is None
    detail = json_of(api.get(f"/api/v1/configurations/{v3['id']}"))
    assert (detail["etag"], detail["body"]) == (v3["etag"], v3["body"])

    put = api.put(
        f"/api/v1/devices/{a.device_id}/configuration", json={"configuration_id": v1["id"]}
    )

    assert json_of(put)["id"] == a.device_id
    assert check_in_ok(device, a.credential, v2["etag"])["configuration"] == v1
    assert check_in_ok(device, a.credential, v1["etag"])["configuration"] is None
    for p in (b, c):
        assert check_in_ok(device, p.credential, v2["etag"])["configuration"] is None

    assigned = api.post(
        f"/api/v1/configurations/{v3['id']}/assign", json={"device_ids": [b.device_id, c.device_id]}
    )

    assert json_of(assigned) == {"assigned": 2}
    for p in (b, c):
        assert check_in_ok(device, p.credential, v2["etag"]) == {
            "configuration": v3,
            "commands": [],
        }
        assert check_in_ok(device, p.credential, v3["etag"])["configuration"] is None
    assert check_in_ok(device, a.credential, v1["etag"])["configuration"] is None
    assert check_in_ok(device, d.credential, v3["etag"])["configuration"] is None


# --- 7. removal (B9) ----------------------------------------------------------------------


def test_removing_a_device_frees_its_license_at_once_and_tells_the_device_to_unpair(
    api: httpx.Client, device: httpx.Client
) -> None:
    """B9: DELETE the device: its license is free in the list at once, the others'
    unchanged; at its next check-in (and each one until it acknowledges) the device is told
    ``unpair``; acknowledging ends its credential. The freed license goes to a new device;
    the removed hardware, pairing again, is a stranger and finds no free license."""
    product = new_product(api)
    grant(api, product, 2)
    code = reusable_code(api, product)
    removed_hardware = hardware()
    gone, stays = pair(device, code["url"], removed_hardware), pair(device, code["url"], hardware())

    assert api.delete(f"/api/v1/devices/{gone.device_id}").status_code == 204

    assert served(api, product) == {gone.license_id: None, stays.license_id: stays.device_id}
    problem_of(api.get(f"/api/v1/devices/{gone.device_id}"), 404, "not_found")
    assert check_in_ok(device, stays.credential) == {"configuration": None, "commands": []}
    told = check_in_ok(device, gone.credential)
    assert told["configuration"] is None
    (command,) = told["commands"]
    assert (command["type"], command["params"]) == ("unpair", {})
    assert check_in_ok(device, gone.credential)["commands"] == [command]

    ack = device.post(
        f"/device/v1/commands/{command['id']}/ack",
        json={"ok": True},
        headers={"Authorization": f"Bearer {gone.credential}"},
    )

    assert json_of(ack) == {}
    problem_of(check_in(device, gone.credential), 401, "unauthenticated")
    newcomer = pair(device, code["url"], hardware())
    assert newcomer.license_id == gone.license_id
    assert served(api, product) == {
        gone.license_id: newcomer.device_id,
        stays.license_id: stays.device_id,
    }
    problem_of(pair_raw(device, code["url"], removed_hardware), 409, "no_free_license")
    assert check_in_ok(device, stays.credential)["commands"] == []


# --- 8. the reference client (§5, §6) -----------------------------------------------------


def test_the_reference_client_pairs_runs_check_in_rounds_applies_changes_and_unpairs(
    api: httpx.Client, device: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    """§5, B5, B8, B9 through ``onboard.device.client``: pairing keeps the credential in a
    0600 state file; bounded check-in rounds change nothing until the Administrator changes
    the configuration, which the next round applies; pairing again replaces the credential;
    after removal a round acknowledges ``unpair``, forgets the credential and stops. A
    refused pairing raises the problem's status and code and stores nothing."""
    product = new_product(api)
    grant(api, product, 1)
    v1 = new_configuration(api, product, "v1", {"interval": 60})
    code = reusable_code(api, product)
    state_file = tmp_path / "device" / "state.json"
    same = hardware()
    lines: list[str] = []
    sleeps: list[float] = []

    def rounds(count: int) -> None:
        client.run(state_file, interval=5, rounds=count, report=lines.append, sleep=sleeps.append)

    state = client.pair(live_server.url, code["url"], same, state_file=state_file, model="TC52")

    assert (state.server, state.configuration) == (live_server.url, v1)
    assert store.load(state_file) == state
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert served(api, product) == {state.license_id: state.device_id}
    rounds(3)
    assert (lines, sleeps) == ([], [5, 5])

    v2 = new_configuration(api, product, "v2", {"interval": 15})
    json_of(
        api.put(
            f"/api/v1/devices/{state.device_id}/configuration", json={"configuration_id": v2["id"]}
        )
    )
    rounds(2)

    assert lines == [f"configuration {v2['id']} applied"]
    applied = store.load(state_file)
    assert applied is not None
    assert applied.configuration == v2

    again = client.pair(live_server.url, code["code"], same, state_file=state_file)

    assert (again.device_id, again.license_id) == (state.device_id, state.license_id)
    assert again.credential != state.credential
    assert store.load(state_file) == again
    problem_of(check_in(device, state.credential), 401, "unauthenticated")

    assert api.delete(f"/api/v1/devices/{state.device_id}").status_code == 204
    lines.clear()
    sleeps.clear()
    rounds(5)

    assert len(lines) == 1
    assert lines[0].startswith("unpaired")
    assert sleeps == []  # it stopped at the round that unpaired it
    assert not state_file.exists()
    with pytest.raises(NotPaired):
        client.check_in(state_file)
    problem_of(check_in(device, again.credential), 401, "unauthenticated")
    assert served(api, product) == {state.license_id: None}

    assert api.delete(f"/api/v1/pairing-codes/{code['id']}").status_code == 204
    with pytest.raises(DeviceApiError) as refused:
        client.pair(live_server.url, code["url"], same, state_file=state_file)
    assert (refused.value.status, refused.value.code) == (410, "pairing_code_revoked")
    assert not state_file.exists()
