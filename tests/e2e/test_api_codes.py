"""Codes, devices, templates and the public code page through a real server over HTTP, on
SQLite and PostgreSQL (SPEC A1-A13, A16, §5.1): every pairing flow of A7 and its refusals,
effective departments (A8), unpairing (A9), deactivation (A10), PINs (A11), the code page's
states (A12), notifications (A13), deletion (A5), list filters and paging (A16), and one
code paired by twenty clients at once (A6).

The server is shared, so each test works in an organization of its own; each code user
connects from a loopback address of its own (127.x.y.z), so the per-client limits on PINs
and messages of one test never meet another's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_department, make_member, token_for, unique

PIN = "4711"


@contextmanager
def code_user(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A code user's browser, with no account, on a loopback address of its own."""
    address = (
        f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    )
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=live_server.url, transport=transport, timeout=30) as client:
        yield client


@pytest.fixture
def visitor(live_server: LiveServer) -> Iterator[httpx.Client]:
    with code_user(live_server) as client:
        yield client


def _code(api: httpx.Client, **body: Any) -> dict[str, Any]:
    return json_of(api.post("/api/v1/codes", json=body), 201)


def _device(api: httpx.Client, **body: Any) -> dict[str, Any]:
    return json_of(api.post("/api/v1/devices", json={"name": unique("Pump"), **body}), 201)


def _template(api: httpx.Client, **body: Any) -> dict[str, Any]:
    fields = [
        {"name": "power", "type": "number", "required": True, "public": True},
        {"name": "installed", "type": "date"},
        {"name": "service_key", "type": "string"},
    ]
    return json_of(
        api.post("/api/v1/templates", json={"name": unique("Pump"), "fields": fields, **body}), 201
    )


def _get_code(api: httpx.Client, token: str) -> dict[str, Any]:
    return json_of(api.get(f"/api/v1/codes/{token}"))


def _get_device(api: httpx.Client, device_id: str) -> dict[str, Any]:
    return json_of(api.get(f"/api/v1/devices/{device_id}"))


def _state(client: httpx.Client, token: str, **kwargs: Any) -> str:
    state: str = json_of(client.get(f"/api/v1/public/codes/{token}", **kwargs))["state"]
    return state


def _notify(
    client: httpx.Client,
    token: str,
    message: str = "It leaks",
    *,
    contact: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post(
        f"/api/v1/public/codes/{token}/notifications",
        json={"message": message, "contact": contact},
        headers=headers,
    )


def _items(api: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json_of(api.get(url, params={"limit": 200, **params}))["items"]
    return items


def _tokens(api: httpx.Client, **params: Any) -> set[str]:
    return {c["token"] for c in _items(api, "/api/v1/codes", **params)}


# --- the pairing flows (A6, A7) ----------------------------------------------------------


def test_from_a_code_a_member_pairs_an_existing_device(api: httpx.Client) -> None:
    code, device = _code(api), _device(api)

    paired = json_of(
        api.post(f"/api/v1/codes/{code['token']}/pair", json={"device_id": device["id"]})
    )

    assert paired["token"] == code["token"]
    assert paired["device_id"] == device["id"]
    assert _get_device(api, device["id"])["codes"] == [code["token"]]
    assert _get_code(api, code["token"])["device_id"] == device["id"]


def test_from_a_device_a_member_pairs_an_existing_code_typed_in_lowercase(
    api: httpx.Client,
) -> None:
    code, device = _code(api), _device(api)

    answer = api.post(f"/api/v1/devices/{device['id']}/codes", json={"code": code["token"].lower()})

    paired = json_of(answer, 200)
    assert (paired["token"], paired["device_id"]) == (code["token"], device["id"])
    listed = _items(api, f"/api/v1/devices/{device['id']}/codes")
    assert [c["token"] for c in listed] == [code["token"]]


def test_from_a_code_a_member_creates_a_device_from_a_template_and_pairs_it(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    workshop = make_department(svc, org)
    template = _template(api, departments=[workshop.id])
    code = _code(api)
    new_device = {
        "name": "Pump 7",
        "template_id": template["id"],
        "serial": "SN-0007",
        "attributes": {"power": 7.5, "installed": "2025-03-01"},
    }

    paired = json_of(
        api.post(f"/api/v1/codes/{code['token']}/pair", json={"new_device": new_device})
    )

    device = _get_device(api, paired["device_id"])
    assert device["name"] == "Pump 7"
    assert (device["serial"], device["template_id"]) == ("SN-0007", template["id"])
    assert device["attributes"] == {"power": 7.5, "installed": "2025-03-01"}
    assert device["departments"] == [workshop.id], "the template's default departments"
    assert device["codes"] == [code["token"]]
    assert paired["departments"] == [workshop.id], "the code now has its device's departments"


def test_a_new_device_that_breaks_its_template_is_refused_and_the_code_stays_free(
    api: httpx.Client,
) -> None:
    template = _template(api)
    code = _code(api)
    new_device = {"name": "Pump", "template_id": template["id"], "attributes": {}}

    answer = api.post(f"/api/v1/codes/{code['token']}/pair", json={"new_device": new_device})

    problem = problem_of(answer, 422, "invalid_attributes")
    assert {e["field"] for e in problem["errors"]} == {"attributes.power"}
    assert _get_code(api, code["token"])["device_id"] is None
    assert _items(api, "/api/v1/devices") == [], "no device is left half-made"


def test_from_a_device_a_member_creates_a_new_code_paired_at_once(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    workshop = make_department(svc, org)
    device = _device(api, departments=[workshop.id])

    answer = api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True})

    code = json_of(answer, 201)
    assert code["device_id"] == device["id"]
    assert code["active"] is True
    assert code["departments"] == [workshop.id]
    assert code["url"].endswith(f"/c/{code['token']}")
    assert _get_device(api, device["id"])["codes"] == [code["token"]]


def test_a_device_carries_several_codes(api: httpx.Client) -> None:
    device = _device(api)
    first = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    second = _code(api)
    api.post(f"/api/v1/codes/{second['token']}/pair", json={"device_id": device["id"]})

    assert sorted(_get_device(api, device["id"])["codes"]) == sorted(
        [first["token"], second["token"]]
    )


def test_pairing_a_paired_code_is_refused_from_either_side_and_changes_nothing(
    api: httpx.Client,
) -> None:
    first, second = _device(api), _device(api)
    code = json_of(api.post(f"/api/v1/devices/{first['id']}/codes", json={"new": True}), 201)
    token = code["token"]

    from_code = api.post(f"/api/v1/codes/{token}/pair", json={"device_id": second["id"]})
    from_device = api.post(f"/api/v1/devices/{second['id']}/codes", json={"code": token})
    with_new = api.post(f"/api/v1/codes/{token}/pair", json={"new_device": {"name": "Other"}})

    for answer in (from_code, from_device, with_new):
        problem_of(answer, 409, "code_already_paired")
    assert _get_code(api, token)["device_id"] == first["id"]
    assert _get_device(api, second["id"])["codes"] == []
    assert len(_items(api, "/api/v1/devices")) == 2, "no device was created"


def test_pairing_a_deactivated_code_is_refused_from_either_side(api: httpx.Client) -> None:
    code, device = _code(api), _device(api)
    token = code["token"]
    assert json_of(api.patch(f"/api/v1/codes/{token}", json={"active": False}))["active"] is False

    from_code = api.post(f"/api/v1/codes/{token}/pair", json={"device_id": device["id"]})
    from_device = api.post(f"/api/v1/devices/{device['id']}/codes", json={"code": token})

    for answer in (from_code, from_device):
        problem_of(answer, 409, "code_deactivated")
    assert _get_code(api, token)["device_id"] is None


def test_pairing_with_a_device_or_code_that_does_not_exist_is_not_found(
    api: httpx.Client,
) -> None:
    code, device = _code(api), _device(api)

    no_device = api.post(f"/api/v1/codes/{code['token']}/pair", json={"device_id": "0" * 26})
    no_code = api.post(f"/api/v1/devices/{device['id']}/codes", json={"code": "ZZZZZZZZZZZZZZZZ"})

    problem_of(no_device, 404, "not_found")
    problem_of(no_code, 404, "not_found")


def test_a_pairing_body_must_say_exactly_one_way(api: httpx.Client) -> None:
    code, device = _code(api), _device(api)

    both = api.post(
        f"/api/v1/codes/{code['token']}/pair",
        json={"device_id": device["id"], "new_device": {"name": "X"}},
    )
    neither = api.post(f"/api/v1/codes/{code['token']}/pair", json={})
    both_sides = api.post(
        f"/api/v1/devices/{device['id']}/codes", json={"code": code["token"], "new": True}
    )
    not_new = api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": False})

    for answer in (both, neither, both_sides, not_new):
        problem_of(answer, 422, "invalid")
    assert _get_code(api, code["token"])["device_id"] is None


def test_twenty_concurrent_pairings_of_one_code_yield_exactly_one_success(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    code = _code(api)
    devices = [_device(api)["id"] for _ in range(20)]
    token = token_for(svc, org.admin)
    barrier = threading.Barrier(len(devices))

    def pair(device_id: str) -> httpx.Response:
        with live_server.client(token) as client:
            barrier.wait(timeout=30)
            return client.post(f"/api/v1/codes/{code['token']}/pair", json={"device_id": device_id})

    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        answers = list(pool.map(pair, devices))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 19, [
        a.text for a in answers if a.status_code not in (200, 409)
    ]
    for answer in answers:
        if answer.status_code == 409:
            problem_of(answer, 409, "code_already_paired")
    winner = next(a.json()["device_id"] for a in answers if a.status_code == 200)
    assert _get_code(api, code["token"])["device_id"] == winner
    paired_devices = [d for d in devices if _get_device(api, d)["codes"]]
    assert paired_devices == [winner]
    entries = _items(api, "/api/v1/audit", action="code.paired")
    assert len(entries) == 1


# --- effective departments (A8) -------------------------------------------------------


def test_a_paired_codes_departments_follow_its_device_and_its_own_return_when_unpaired(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    store, workshop, field = (make_department(svc, org) for _ in range(3))
    code = _code(api, departments=[store.id])
    device = _device(api, departments=[workshop.id])
    token = code["token"]
    assert (code["departments"], code["own_departments"]) == ([store.id], [store.id])

    api.post(f"/api/v1/codes/{token}/pair", json={"device_id": device["id"]})
    paired = _get_code(api, token)
    assert (paired["departments"], paired["own_departments"]) == ([workshop.id], [store.id])
    assert _tokens(api, department=workshop.id) == {token}
    assert _tokens(api, department=store.id) == set()

    moved = api.patch(f"/api/v1/devices/{device['id']}", json={"departments": [field.id]})
    assert json_of(moved)["departments"] == [field.id]
    assert _get_code(api, token)["departments"] == [field.id]
    assert _tokens(api, department=field.id) == {token}
    assert _tokens(api, department=workshop.id) == set()

    unpaired = json_of(api.post(f"/api/v1/codes/{token}/unpair"))
    assert (unpaired["departments"], unpaired["device_id"]) == ([store.id], None)
    assert _tokens(api, department=store.id) == {token}


def test_a_restricted_member_sees_a_code_through_its_device_only_while_paired(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    a, b = make_department(svc, org), make_department(svc, org)
    member_of_b = make_member(svc, org, roles=["technician"], departments=[b.id])
    code = _code(api, departments=[b.id])
    device = _device(api, departments=[a.id])
    token = code["token"]
    with live_server.client(token_for(svc, member_of_b)) as of_b:
        assert _get_code(of_b, token)["token"] == token

        api.post(f"/api/v1/codes/{token}/pair", json={"device_id": device["id"]})

        problem_of(of_b.get(f"/api/v1/codes/{token}"), 404, "not_found")
        assert token not in _tokens(of_b)
        assert token not in _tokens(of_b, department=b.id)
        problem_of(of_b.post(f"/api/v1/codes/{token}/unpair"), 404, "not_found")

        api.post(f"/api/v1/codes/{token}/unpair")

        assert _get_code(of_b, token)["departments"] == [b.id]


def test_a_code_paired_into_a_members_department_does_not_name_its_other_owner(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    """P5: a member of A sees a code of B paired with A's device, but not B's id."""
    a, b = make_department(svc, org), make_department(svc, org)
    member_of_a = make_member(svc, org, roles=["technician"], departments=[a.id])
    token = _code(api, departments=[b.id])["token"]
    device = _device(api, departments=[a.id])
    api.post(f"/api/v1/codes/{token}/pair", json={"device_id": device["id"]})

    with live_server.client(token_for(svc, member_of_a)) as of_a:
        seen = _get_code(of_a, token)
        listed = of_a.get(f"/api/v1/devices/{device['id']}/codes").json()["items"]

    assert (seen["departments"], seen["own_departments"]) == ([a.id], [])
    assert b.id not in str(listed)
    assert _get_code(api, token)["own_departments"] == [b.id]


# --- unpairing (A9) and deletion (A5) ------------------------------------------------


def test_unpairing_deletes_nothing_and_clears_the_codes_notifications_but_not_the_devices(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    assert _notify(visitor, token, "The display is dark").status_code == 201
    assert len(_items(api, f"/api/v1/codes/{token}/notifications")) == 1

    unpaired = json_of(api.post(f"/api/v1/codes/{token}/unpair"))

    assert unpaired["device_id"] is None
    assert _get_code(api, token)["device_id"] is None
    assert _get_device(api, device["id"])["codes"] == []
    assert _items(api, f"/api/v1/codes/{token}/notifications") == []
    interactions = _items(api, f"/api/v1/devices/{device['id']}/interactions")
    assert [(i["kind"], i["text"]) for i in interactions] == [
        ("notification", "The display is dark")
    ]
    problem_of(api.post(f"/api/v1/codes/{token}/unpair"), 409, "code_not_paired")


def test_deleting_a_device_unpairs_its_codes_and_keeps_them(api: httpx.Client) -> None:
    device = _device(api)
    first = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    second = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)

    assert api.delete(f"/api/v1/devices/{device['id']}").status_code == 204

    problem_of(api.get(f"/api/v1/devices/{device['id']}"), 404, "not_found")
    for code in (first, second):
        kept = _get_code(api, code["token"])
        assert (kept["device_id"], kept["active"]) == (None, True)


def test_deleting_a_code_unpairs_it_and_keeps_its_device(api: httpx.Client) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)

    assert api.delete(f"/api/v1/codes/{code['token']}").status_code == 204

    problem_of(api.get(f"/api/v1/codes/{code['token']}"), 404, "not_found")
    kept = _get_device(api, device["id"])
    assert (kept["name"], kept["codes"]) == (device["name"], [])


# --- code users: the code page (A10, A11, A12) ----------------------------------------


def test_the_code_page_walks_through_every_state_in_the_order_of_its_checks(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    template = _template(api)
    secret_value = unique("secret")
    problem_of(
        visitor.post("/api/v1/public/codes/ZZZZZZZZZZZZZZZZ/pin", json={"pin": PIN}),
        404,
        "not_found",
    )
    assert _state(visitor, "ZZZZZZZZZZZZZZZZ") == "not_found"
    assert _state(visitor, "not a token at all") == "not_found"
    code = _code(api, pin=PIN, label="Boiler room")
    token = code["token"]
    assert _state(visitor, token) == "unpaired"

    new_device = {
        "name": "Pump 9",
        "template_id": template["id"],
        "attributes": {"power": 9, "service_key": secret_value},
    }
    api.post(f"/api/v1/codes/{token}/pair", json={"new_device": new_device})
    page = json_of(visitor.get(f"/api/v1/public/codes/{token}"))
    assert (page["state"], page["device"]) == ("pin_required", None)

    assert visitor.post(f"/api/v1/public/codes/{token}/pin", json={"pin": PIN}).status_code == 204
    page = json_of(visitor.get(f"/api/v1/public/codes/{token}"))
    assert page["state"] == "paired"
    assert page["label"] == "Boiler room"
    assert page["device"] == {
        "name": "Pump 9", "attributes": {"power": 9}, "photo_url": None, "documents": [],
    }, "public fields only"  # fmt: skip
    assert secret_value not in visitor.get(f"/api/v1/public/codes/{token}").text

    api.patch(f"/api/v1/codes/{token}", json={"active": False})
    page = json_of(visitor.get(f"/api/v1/public/codes/{token}"))
    assert (page["state"], page["device"]) == ("deactivated", None)


def test_the_code_page_never_names_the_organization_nor_its_records(
    api: httpx.Client, visitor: httpx.Client, org: Org
) -> None:
    device = _device(api, name="Pump 3")
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)

    answers = [
        visitor.get(f"/api/v1/public/codes/{code['token']}"),
        _notify(visitor, code["token"]),
        visitor.get("/api/v1/public/codes/ZZZZZZZZZZZZZZZZ"),
    ]

    for answer in answers:
        assert answer.status_code in (200, 201), answer.text
        for private in (org.organization.id, org.organization.name, org.admin.email, device["id"]):
            assert private not in answer.text


def test_a_deactivated_code_shows_deactivated_whatever_its_pairing_and_takes_no_messages(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    paired = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    unpaired = _code(api)
    with_pin = _code(api, pin=PIN)
    for code in (paired, unpaired, with_pin):
        api.patch(f"/api/v1/codes/{code['token']}", json={"active": False})

    states = [_state(visitor, code["token"]) for code in (paired, unpaired, with_pin)]

    assert states == ["deactivated"] * 3
    problem_of(_notify(visitor, paired["token"]), 409, "code_deactivated")
    api.patch(f"/api/v1/codes/{paired['token']}", json={"active": True})
    assert _state(visitor, paired["token"]) == "paired"


def test_five_wrong_pins_lock_the_client_out_even_for_the_right_pin(
    live_server: LiveServer, api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    api.patch(f"/api/v1/codes/{token}", json={"pin": PIN})
    url = f"/api/v1/public/codes/{token}/pin"
    assert _state(visitor, token) == "pin_required"

    wrong = [visitor.post(url, json={"pin": "0000"}) for _ in range(5)]
    for answer in wrong:
        problem_of(answer, 403, "wrong_pin")
    locked = visitor.post(url, json={"pin": "0000"})
    right_but_locked = visitor.post(url, json={"pin": PIN})

    for answer in (locked, right_but_locked):
        problem_of(answer, 429, "pin_locked")
        assert int(answer.headers["retry-after"]) == 15 * 60
    assert "set-cookie" not in right_but_locked.headers
    assert _state(visitor, token) == "pin_required"
    with code_user(live_server) as another:
        assert another.post(url, json={"pin": PIN}).status_code == 204, "the lock is per client"
    audited = _items(api, "/api/v1/audit", action="code.pin_attempted")
    outcomes = sorted(e["after"]["outcome"] for e in audited)
    assert outcomes == ["locked"] * 2 + ["right"] + ["wrong"] * 5


def test_the_right_pin_sets_a_session_cookie_and_the_page_then_shows_the_device(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api, name="Pump 5")
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    api.patch(f"/api/v1/codes/{token}", json={"pin": PIN})

    entered = visitor.post(f"/api/v1/public/codes/{token.lower()}/pin", json={"pin": PIN})

    assert entered.status_code == 204, entered.text
    cookie = entered.headers["set-cookie"]
    assert cookie.startswith(f"onboard_pin_{token}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "max-age" not in cookie.lower(), "a session cookie"
    assert "expires" not in cookie.lower(), "a session cookie"
    page = json_of(visitor.get(f"/api/v1/public/codes/{token}"))
    assert (page["state"], page["device"]["name"]) == ("paired", "Pump 5")


def test_a_client_without_cookies_sends_the_pin_in_a_header(
    live_server: LiveServer, api: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    api.patch(f"/api/v1/codes/{token}", json={"pin": PIN})

    with code_user(live_server) as client:
        right = _state(client, token, headers={"X-Code-Pin": PIN})
        wrong = _state(client, token, headers={"X-Code-Pin": "1111"})
        sent = _notify(client, token, headers={"X-Code-Pin": PIN})
        refused = _notify(client, token)

    assert (right, wrong) == ("paired", "pin_required")
    assert sent.status_code == 201, sent.text
    problem_of(refused, 403, "wrong_pin")


def test_a_new_pin_voids_the_passes_given_for_the_old_one(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    api.patch(f"/api/v1/codes/{token}", json={"pin": PIN})
    visitor.post(f"/api/v1/public/codes/{token}/pin", json={"pin": PIN})
    assert _state(visitor, token) == "paired"

    api.patch(f"/api/v1/codes/{token}", json={"pin": "13579"})

    assert _state(visitor, token) == "pin_required"
    cleared = json_of(api.patch(f"/api/v1/codes/{token}", json={"pin": None}))
    assert cleared["pin_protected"] is False
    assert _state(visitor, token) == "paired"


def test_a_token_resolves_in_any_letter_case(api: httpx.Client, visitor: httpx.Client) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]

    assert _state(visitor, token.lower()) == "paired"
    assert json_of(visitor.get(f"/api/v1/public/codes/{token.lower()}"))["token"] == token
    assert _get_code(api, token.lower())["token"] == token
    assert _notify(visitor, token.lower()).status_code == 201
    assert len(_items(api, f"/api/v1/codes/{token.lower()}/notifications")) == 1


# --- notifications (A13) ---------------------------------------------------------------


def test_a_notification_shows_in_the_codes_history_and_the_devices_interactions(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]

    sent = _notify(visitor, token, "Water on the floor", contact="  ann@example.com ")

    assert json_of(sent, 201)["message"] == "Water on the floor"
    (notification,) = _items(api, f"/api/v1/codes/{token}/notifications")
    assert notification["message"] == "Water on the floor"
    assert notification["contact"] == "ann@example.com"
    assert notification["device_id"] == device["id"]
    (interaction,) = _items(api, f"/api/v1/devices/{device['id']}/interactions")
    assert (interaction["kind"], interaction["text"]) == ("notification", "Water on the floor")
    assert interaction["contact"] == "ann@example.com"
    entries = _items(api, "/api/v1/audit", action="code.notification_received")
    assert [e["actor"]["kind"] for e in entries] == ["code_user"]


def test_members_delete_notifications_one_by_one_or_all_at_once(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    token = code["token"]
    for message in ("first", "second", "third"):
        assert _notify(visitor, token, message).status_code == 201
    url = f"/api/v1/codes/{token}/notifications"
    newest, *_ = _items(api, url)
    assert newest["message"] == "third"

    assert api.delete(f"{url}/{newest['id']}").status_code == 204
    assert [n["message"] for n in _items(api, url)] == ["second", "first"]
    problem_of(api.delete(f"{url}/{newest['id']}"), 404, "not_found")

    assert api.delete(url).status_code == 204
    assert _items(api, url) == []
    interactions = _items(api, f"/api/v1/devices/{device['id']}/interactions")
    assert len(interactions) == 3, "the device keeps its record of each"


def test_a_notification_needs_a_paired_active_code(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    unpaired = _code(api)

    problem_of(_notify(visitor, unpaired["token"]), 409, "code_not_paired")
    problem_of(_notify(visitor, "ZZZZZZZZZZZZZZZZ"), 404, "not_found")
    problem_of(_notify(visitor, "not a token"), 404, "not_found")
    problem_of(_notify(visitor, unpaired["token"], "   "), 422, "invalid")
    problem_of(_notify(visitor, unpaired["token"], "x" * 2001), 422, "invalid")
    assert _items(api, f"/api/v1/codes/{unpaired['token']}/notifications") == []


def test_a_client_sending_too_many_notifications_is_told_to_wait(
    api: httpx.Client, visitor: httpx.Client
) -> None:
    device = _device(api)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)

    answers = [_notify(visitor, code["token"], f"message {n}") for n in range(11)]

    assert [a.status_code for a in answers[:10]] == [201] * 10
    problem_of(answers[10], 429, "notification_rate_limited")
    assert int(answers[10].headers["retry-after"]) > 0
    assert len(_items(api, f"/api/v1/codes/{code['token']}/notifications")) == 10


# --- codes in numbers, settings and lists (A1, A2, A16) --------------------------------


def test_codes_are_created_in_numbers_with_their_batch_label_and_pin(
    api: httpx.Client, live_server: LiveServer
) -> None:
    created = _code(api, count=3, batch="2026-W14", label="Line 1", pin=PIN)

    items = created["items"]
    assert len(items) == 3
    assert len({c["token"] for c in items}) == 3
    for code in items:
        assert len(code["token"]) == 16
        assert code["token"] == code["token"].upper()
        assert code["url"] == f"{live_server.url}/c/{code['token']}"
        assert (code["batch"], code["label"]) == ("2026-W14", "Line 1")
        assert (code["active"], code["pin_protected"], code["device_id"]) == (True, True, None)
    single = _code(api)
    assert "token" in single
    assert "items" not in single


@pytest.mark.parametrize(
    "body",
    [{"count": 0}, {"count": 100_001}, {"pin": "12"}, {"pin": "12ab"}, {"label": "x" * 101}],
)
def test_codes_with_impossible_settings_are_refused(
    api: httpx.Client, body: dict[str, Any]
) -> None:
    problem_of(api.post("/api/v1/codes", json=body), 422, "invalid")

    assert _items(api, "/api/v1/codes") == []


def test_a_code_change_applies_only_the_fields_sent(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    store = make_department(svc, org)
    code = _code(api, label="Old", pin=PIN, batch="B1")
    token = code["token"]

    relabelled = json_of(api.patch(f"/api/v1/codes/{token}", json={"label": "New"}))
    moved = json_of(api.patch(f"/api/v1/codes/{token}", json={"departments": [store.id]}))
    null_active = api.patch(f"/api/v1/codes/{token}", json={"active": None})

    assert (relabelled["label"], relabelled["pin_protected"], relabelled["batch"]) == (
        "New",
        True,
        "B1",
    )
    assert (moved["label"], moved["own_departments"]) == ("New", [store.id])
    problem_of(null_active, 422, "invalid")
    assert _get_code(api, token)["active"] is True


def test_codes_filter_by_pairing_activity_pin_batch_department_and_text(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    store = make_department(svc, org)
    device = _device(api, departments=[store.id])
    paired = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)
    # The batch starts without a PIN policy; one code of it gets a PIN of its own.
    inactive = _code(api, batch="2026-W14")
    with_pin = _code(api, pin=PIN, batch="2026-W14", label="Cellar door")
    api.patch(f"/api/v1/codes/{inactive['token']}", json={"active": False})
    plain = _code(api, departments=[store.id])
    every = {c["token"] for c in (paired, with_pin, inactive, plain)}

    assert _tokens(api) == every
    assert _tokens(api, paired="true") == {paired["token"]}
    assert _tokens(api, paired="false") == every - {paired["token"]}
    assert _tokens(api, active="false") == {inactive["token"]}
    assert _tokens(api, active="true") == every - {inactive["token"]}
    assert _tokens(api, pin="true") == {with_pin["token"]}
    assert _tokens(api, batch="2026-W14") == {with_pin["token"], inactive["token"]}
    assert _tokens(api, department=store.id) == {paired["token"], plain["token"]}
    assert _tokens(api, q="cellar") == {with_pin["token"]}
    assert _tokens(api, q=plain["token"].lower()) == {plain["token"]}, "a token as typed"
    assert _tokens(api, batch="2026-W14", active="true") == {with_pin["token"]}
    assert _tokens(api, q="100%_") == set()


def test_cursor_paging_walks_every_code_once(api: httpx.Client) -> None:
    created = {c["token"] for c in _code(api, count=7)["items"]}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0

    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = json_of(api.get("/api/v1/codes", params=params))
        seen += [c["token"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert len(seen) == len(set(seen))
    assert set(seen) == created


# --- devices and templates (A3, A4, A16) -----------------------------------------------


def test_devices_filter_by_pairing_department_template_customer_status_and_text(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    store = make_department(svc, org)
    template = _template(api)
    customer = json_of(api.post("/api/v1/customers", json={"name": unique("ACME")}), 201)
    paired = _device(api, name="Boiler 1", serial="SN-A-1")
    api.post(f"/api/v1/devices/{paired['id']}/codes", json={"new": True})
    typed = _device(api, name="Pump 2", template_id=template["id"], attributes={"power": 1})
    owned = _device(api, name="Pump 3", customer_id=customer["id"], departments=[store.id])
    retired = _device(api, name="Pump 4", location={"text": "Basement, hall B"})
    api.patch(f"/api/v1/devices/{retired['id']}", json={"status": "retired"})

    def ids(**params: Any) -> set[str]:
        return {d["id"] for d in _items(api, "/api/v1/devices", **params)}

    assert ids(paired="true") == {paired["id"]}
    assert ids(paired="false") == {typed["id"], owned["id"], retired["id"]}
    assert ids(department=store.id) == {owned["id"]}
    assert ids(template=template["id"]) == {typed["id"]}
    assert ids(customer=customer["id"]) == {owned["id"]}
    assert ids(status="retired") == {retired["id"]}
    assert ids(q="sn-a") == {paired["id"]}
    assert ids(q="basement") == {retired["id"]}
    assert ids(q="pump", status="active") == {typed["id"], owned["id"]}
    listed = {d["id"]: d for d in _items(api, "/api/v1/devices")}
    assert listed[paired["id"]]["codes"]
    assert listed[typed["id"]]["codes"] == []


def test_a_device_change_applies_only_the_fields_sent(api: httpx.Client) -> None:
    template = _template(api)
    device = _device(
        api, name="Pump 1", serial="SN-1", template_id=template["id"], attributes={"power": 2},
        location={"text": "Hall A", "latitude": 48.1, "longitude": 11.5},
    )  # fmt: skip
    url = f"/api/v1/devices/{device['id']}"

    renamed = json_of(api.patch(url, json={"name": "Pump 1b"}))
    located = json_of(api.patch(url, json={"location": {"text": "Hall B"}}))
    wrong_type = api.patch(url, json={"attributes": {"power": "strong"}})
    null_name = api.patch(url, json={"name": None})

    assert (renamed["name"], renamed["serial"], renamed["attributes"]) == (
        "Pump 1b",
        "SN-1",
        {"power": 2},
    )
    assert renamed["location"] == {"text": "Hall A", "latitude": 48.1, "longitude": 11.5}
    assert located["location"] == {"text": "Hall B", "latitude": None, "longitude": None}
    assert located["name"] == "Pump 1b"
    problem_of(wrong_type, 422, "invalid_attributes")
    problem_of(null_name, 422, "invalid")
    assert _get_device(api, device["id"])["attributes"] == {"power": 2}


def test_a_template_is_created_changed_and_deleted_only_while_unused(api: httpx.Client) -> None:
    template = _template(api)
    url = f"/api/v1/templates/{template['id']}"
    assert [f["name"] for f in template["fields"]] == ["power", "installed", "service_key"]

    renamed = json_of(api.patch(url, json={"name": "Pump, large"}))
    assert (renamed["name"], renamed["fields"]) == ("Pump, large", template["fields"])
    device = _device(api, template_id=template["id"], attributes={"power": 1})
    problem_of(api.delete(url), 409, "in_use")
    problem_of(
        api.post("/api/v1/templates", json={"name": "Pump, large", "fields": []}), 409, "name_taken"
    )

    assert api.delete(f"/api/v1/devices/{device['id']}").status_code == 204
    assert api.delete(url).status_code == 204
    problem_of(api.get(url), 404, "not_found")


def test_service_records_and_interactions_are_kept_newest_first(api: httpx.Client) -> None:
    device = _device(api)
    records_url = f"/api/v1/devices/{device['id']}/service-records"
    interactions_url = f"/api/v1/devices/{device['id']}/interactions"

    older = json_of(
        api.post(records_url, json={"text": "Installed", "performed_at": "2025-01-02T10:00:00"}),
        201,
    )
    newer = json_of(api.post(records_url, json={"text": "Filter changed"}), 201)
    note = json_of(
        api.post(interactions_url, json={"kind": "note", "text": "Called the owner"}), 201
    )
    notification = api.post(interactions_url, json={"kind": "notification", "text": "Fake"})

    assert older["performed_at"].startswith("2025-01-02T10:00:00")
    assert [r["id"] for r in _items(api, records_url)] == [newer["id"], older["id"]]
    assert [i["id"] for i in _items(api, interactions_url)] == [note["id"]]
    problem_of(notification, 422, "invalid")


def test_a_technician_pairs_and_records_service_but_does_not_create_codes_or_templates(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    technician = make_member(svc, org, roles=["technician"])
    code = _code(api)
    with live_server.client(token_for(svc, technician)) as tech:
        device = json_of(tech.post("/api/v1/devices", json={"name": "Pump"}), 201)
        paired = tech.post(f"/api/v1/codes/{code['token']}/pair", json={"device_id": device["id"]})
        record = tech.post(f"/api/v1/devices/{device['id']}/service-records", json={"text": "Ok"})
        refused = [
            tech.post("/api/v1/codes", json={}),
            tech.post("/api/v1/templates", json={"name": "T", "fields": []}),
            tech.patch(f"/api/v1/codes/{code['token']}", json={"active": False}),
            tech.delete(f"/api/v1/devices/{device['id']}"),
            tech.delete(f"/api/v1/codes/{code['token']}/notifications"),
        ]

    assert (paired.status_code, record.status_code) == (200, 201), (paired.text, record.text)
    for answer in refused:
        problem_of(answer, 403, "permission_denied")


def test_a_department_filter_shows_a_restricted_member_nothing_beyond_their_departments(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    a, b = make_department(svc, org), make_department(svc, org)
    device_a = _device(api, departments=[a.id])
    code_a = json_of(api.post(f"/api/v1/devices/{device_a['id']}/codes", json={"new": True}), 201)
    loose_a = _code(api, departments=[a.id])
    member_of_b = make_member(svc, org, roles=["administrator"], departments=[b.id])
    device_b = _device(api, departments=[b.id])

    with live_server.client(token_for(svc, member_of_b)) as of_b:
        codes = _items(of_b, "/api/v1/codes", department=a.id)
        by_text = _items(of_b, "/api/v1/codes", q=code_a["token"])
        devices = _items(of_b, "/api/v1/devices", department=a.id)
        all_devices = _items(of_b, "/api/v1/devices")
        pair_a = of_b.post(
            f"/api/v1/codes/{loose_a['token']}/pair", json={"device_id": device_b["id"]}
        )
        take_a = of_b.post(
            f"/api/v1/devices/{device_b['id']}/codes", json={"code": loose_a["token"]}
        )
        new_on_a = of_b.post(f"/api/v1/devices/{device_a['id']}/codes", json={"new": True})

    assert (codes, by_text, devices) == ([], [], [])
    assert [d["id"] for d in all_devices] == [device_b["id"]]
    for answer in (pair_a, take_a, new_on_a):
        problem_of(answer, 404, "not_found")
    assert _get_code(api, loose_a["token"])["device_id"] is None
    assert _get_device(api, device_a["id"])["codes"] == [code_a["token"]]
