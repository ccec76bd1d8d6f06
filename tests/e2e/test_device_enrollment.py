"""Enrollment over HTTP against a real server on SQLite and PostgreSQL (SPEC C1-C6, C8,
§6): an Administrator creates enrollments through the members' API; devices and gateways
take part through the device API with their proofs and credentials."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from onboard.domain.enrollment import enroll_signature
from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_member, token_for, unique

KEY = "k3y-0f-the-device"


def serial(prefix: str = "SN") -> str:
    return unique(prefix).replace(" ", "-")


def proof(number: str, key: str = KEY, *, ahead: int = 300) -> dict[str, Any]:
    expires = int(time.time()) + ahead
    return {
        "serial": number,
        "expires": expires,
        "signature": enroll_signature(key, number, expires),
    }


def enrollment(api: httpx.Client, number: str, kind: str, **more: Any) -> dict[str, Any]:
    body = {"serial": number, "access_key": KEY, "kind": kind, **more}
    made: dict[str, Any] = json_of(api.post("/api/v1/enrollments", json=body), 201)
    return made


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def device(live_server: LiveServer) -> Any:
    with live_server.client() as client:
        yield client


def enroll_directly(device: httpx.Client, number: str) -> dict[str, Any]:
    got: dict[str, Any] = json_of(device.post("/device/v1/enroll", json=proof(number)))
    done = device.post(
        f"/device/v1/enroll/{got['enrollment_id']}/complete",
        json={"capabilities": {"relays": 2, "fw": "1.4.2"}},
        headers=bearer(got["credential"]),
    )
    json_of(done)
    return got


def test_a_direct_device_enrolls_over_http_and_appears_with_its_capabilities(
    api: httpx.Client, device: httpx.Client
) -> None:
    """C1, C3, §6: the record never shows the access key; the proof brings the twin, a
    credential and the settings; completing makes it done, with its history."""
    number = serial()
    made = enrollment(api, number, "direct", name="Boiler meter", location="Cellar")
    assert "access_key" not in made
    assert (made["state"], made["device_id"]) == ("pending", None)

    got = enroll_directly(device, number)

    assert got["enrollment_id"] == made["id"]
    assert got["settings"]["name"] == "Boiler meter"
    shown = json_of(api.get(f"/api/v1/enrollments/{made['id']}"))
    assert (shown["state"], shown["device_id"]) == ("done", got["device_id"])
    assert shown["capabilities"] == {"relays": 2, "fw": "1.4.2"}
    assert [h["state"] for h in shown["history"]] == ["pending", "in_progress", "done"]
    twin = json_of(api.get(f"/api/v1/devices/{got['device_id']}"))
    assert (twin["serial"], twin["name"]) == (number, "Boiler meter")
    assert KEY not in str(json_of(api.get("/api/v1/enrollments")))


def test_proofs_that_do_not_hold_are_refused_as_section_6_says(
    api: httpx.Client, device: httpx.Client
) -> None:
    number = serial()
    enrollment(api, number, "direct")
    problem_of(
        device.post("/device/v1/enroll", json=proof(number, "another-key-000")),
        401,
        "invalid_signature",
    )
    problem_of(
        device.post("/device/v1/enroll", json=proof(number, ahead=-5)), 401, "signature_expired"
    )
    problem_of(
        device.post("/device/v1/enroll", json=proof(number, ahead=4000)), 401, "signature_expired"
    )
    problem_of(device.post("/device/v1/enroll", json=proof(serial("NOBODY"))), 404, "not_enrolled")
    problem_of(device.post("/device/v1/enroll", json={"serial": number}), 422, "invalid")
    problem_of(
        device.post("/device/v1/enroll/x/complete", json={"capabilities": {}}),
        401,
        "unauthenticated",
    )
    assert (
        json_of(api.get("/api/v1/enrollments", params={"serial": number}))["items"][0]["state"]
        == "pending"
    )


def test_a_gateway_enrolls_its_nodes_and_reports_what_it_sees(
    api: httpx.Client, device: httpx.Client
) -> None:
    """C4: jobs with access keys, results with capabilities or errors, retries, and the
    nearby serials offered in the members' API."""
    gateway_serial = serial("GW")
    gateway = enrollment(api, gateway_serial, "gateway")
    credential = enroll_directly(device, gateway_serial)["credential"]
    good, bad = serial("NODE"), serial("NODE")
    nodes = [enrollment(api, n, "node", gateway_id=gateway["id"]) for n in (good, bad)]

    jobs = json_of(device.get("/device/v1/gateway/jobs", headers=bearer(credential)))
    assert [(j["type"], j["serial"], j["access_key"]) for j in jobs] == [
        ("enroll", good, KEY),
        ("enroll", bad, KEY),
    ]
    result = f"/device/v1/gateway/jobs/{nodes[0]['id']}/result"
    json_of(
        device.post(
            result, json={"ok": True, "capabilities": {"temp": True}}, headers=bearer(credential)
        )
    )
    failed = f"/device/v1/gateway/jobs/{nodes[1]['id']}/result"
    json_of(
        device.post(failed, json={"ok": False, "error": "BLE timeout"}, headers=bearer(credential))
    )
    problem_of(
        device.post(result, json={"ok": True}, headers=bearer(credential)),
        409,
        "invalid_transition",
    )

    states = {
        e["serial"]: (e["state"], e["reason"])
        for e in json_of(api.get("/api/v1/enrollments", params={"gateway_id": gateway["id"]}))[
            "items"
        ]
    }
    assert states == {good: ("done", None), bad: ("failed", "BLE timeout")}
    json_of(api.post(f"/api/v1/enrollments/{nodes[1]['id']}/retry"))
    again = json_of(device.get("/device/v1/gateway/jobs", headers=bearer(credential)))
    assert [j["serial"] for j in again] == [bad]

    seen = {"serials": [{"serial": "NEAR-1", "rssi": -71}, {"serial": good, "rssi": -40}]}
    assert json_of(
        device.post("/device/v1/gateway/nearby", json=seen, headers=bearer(credential))
    ) == {"reported": 2}
    nearby = json_of(api.get("/api/v1/nearby", params={"gateway_id": gateway["id"]}))
    assert [(n["serial"], n["rssi"]) for n in nearby] == [("NEAR-1", -71)]  # good is enrolled


def test_deleting_reaches_the_device_at_its_next_check_in_and_frees_the_serial(
    api: httpx.Client, device: httpx.Client
) -> None:
    """C6: the twin goes at once; the check-in says `unenroll`; the acknowledgement ends
    the credential and the record; the serial can enroll again."""
    number = serial()
    made = enrollment(api, number, "direct")
    got = enroll_directly(device, number)
    checkin = device.post("/device/v1/checkin", json={}, headers=bearer(got["credential"]))
    assert json_of(checkin)["commands"] == []

    gone = json_of(api.delete(f"/api/v1/enrollments/{made['id']}"))
    assert gone["state"] == "unenroll_pending"
    problem_of(api.get(f"/api/v1/devices/{got['device_id']}"), 404, "not_found")
    (command,) = json_of(
        device.post("/device/v1/checkin", json={}, headers=bearer(got["credential"]))
    )["commands"]
    assert command["type"] == "unenroll"
    ack = f"/device/v1/commands/{command['id']}/ack"
    json_of(device.post(ack, json={"ok": True}, headers=bearer(got["credential"])))

    problem_of(
        device.post("/device/v1/checkin", json={}, headers=bearer(got["credential"])),
        401,
        "unauthenticated",
    )
    assert json_of(api.get(f"/api/v1/enrollments/{made['id']}"))["state"] == "unenrolled"
    assert enrollment(api, number, "direct")["state"] == "pending"


@pytest.mark.parametrize("roles", [["viewer"], ["device_manager"], ["iot_manager"], ["technician"]])
def test_c8_members_who_may_not_enroll_get_enrollment_forbidden(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, roles: list[str]
) -> None:
    number = serial()
    made = enrollment(api, number, "direct")
    with live_server.client(token_for(svc, make_member(svc, org, roles=roles))) as member:
        body = {"serial": serial(), "access_key": KEY, "kind": "direct"}
        problem_of(member.post("/api/v1/enrollments", json=body), 403, "enrollment_forbidden")
        problem_of(member.delete(f"/api/v1/enrollments/{made['id']}"), 403, "enrollment_forbidden")
    with live_server.client(
        token_for(svc, make_member(svc, org, roles=["device_manager", "iot_manager"]))
    ) as both:
        json_of(both.delete(f"/api/v1/enrollments/{made['id']}"))
