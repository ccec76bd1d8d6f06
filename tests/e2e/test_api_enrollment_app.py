"""The members' API a mobile app uses to enroll (SPEC C9, C5, §5.1), over HTTP against a
real server on SQLite and PostgreSQL: reading a device's QR (the default formats and the
organization's enrollment pattern), enrolling a node as done with its capabilities, the
installation photo, and the gateways with what each sees nearby."""

from __future__ import annotations

from typing import Any

import httpx

from tests.answers import json_of, problem_of
from tests.e2e.pictures import png
from tests.e2e.test_device_enrollment import (
    KEY,
    bearer,
    device,  # noqa: F401 (a fixture)
    enroll_directly,
    enrollment,
    serial,
)

PATTERN = r"ACME\|SN=(?P<serial>[A-Z0-9-]+)\|AK=(?P<key>[A-Za-z0-9]{8,})"


def label(api: httpx.Client, payload: str) -> dict[str, Any]:
    return json_of(api.post("/api/v1/enrollments/label", json={"payload": payload}))


def test_a_scanned_label_is_read_by_default_and_by_the_organizations_pattern(
    api: httpx.Client,
) -> None:
    number = serial("LB")
    read = label(api, f"{number}:{KEY}")
    assert read == {"serial": number, "access_key": KEY, "enrollment": None}
    problem_of(api.post("/api/v1/enrollments/label", json={"payload": "nothing"}), 422, "invalid")

    rule = {"name": "ACME", "kind": "enrollment", "pattern": PATTERN}
    json_of(api.post("/api/v1/dynamic-code-rules", json=rule), 201)
    half = {"name": "half", "kind": "enrollment", "pattern": r"(?P<serial>\d+)"}
    problem_of(api.post("/api/v1/dynamic-code-rules", json=half), 422, "invalid")
    assert label(api, "ACME|SN=AC-1|AK=Secret99x")["serial"] == "AC-1"

    made = enrollment(api, number, "direct")
    assert label(api, f"{number}:{KEY}")["enrollment"]["id"] == made["id"]


def test_the_app_enrolls_a_node_as_done_and_gives_it_its_photo(api: httpx.Client) -> None:
    """C5 in one call (`state: done`), then the photo, which the twin shows."""
    number = serial("APP")
    made = enrollment(api, number, "node", state="done", capabilities={"temp": True})
    assert (made["state"], made["capabilities"]) == ("done", {"temp": True})
    photo = png()

    answer = api.put(
        f"/api/v1/enrollments/{made['id']}/photo", files={"file": ("p.png", photo, "image/png")}
    )

    json_of(answer)
    stored = api.get(f"/api/v1/devices/{made['device_id']}/photo")
    assert stored.status_code == 200
    assert stored.content == photo
    refused = {"serial": serial("GW"), "access_key": KEY, "kind": "gateway", "state": "done"}
    problem_of(api.post("/api/v1/enrollments", json=refused), 422, "invalid")
    stray = {"serial": serial("N"), "access_key": KEY, "kind": "node", "capabilities": {}}
    problem_of(api.post("/api/v1/enrollments", json=stray), 422, "invalid")


def test_gateways_and_what_one_sees_nearby(
    api: httpx.Client,
    device: httpx.Client,  # noqa: F811
) -> None:
    number = serial("GW")
    made = enrollment(api, number, "gateway")
    credential = enroll_directly(device, number)["credential"]
    sighting = {"serials": [{"serial": "NEAR-1", "rssi": -61}]}
    json_of(device.post("/device/v1/gateway/nearby", json=sighting, headers=bearer(credential)))

    gateways = json_of(api.get("/api/v1/gateways"))["items"]
    assert [g["id"] for g in gateways] == [made["id"]]
    twin = gateways[0]["device_id"]
    seen = json_of(api.get(f"/api/v1/gateways/{twin}/nearby"))
    assert [(n["serial"], n["rssi"]) for n in seen] == [("NEAR-1", -61)]
    assert json_of(api.get(f"/api/v1/gateways/{made['id']}/nearby")) == seen
    problem_of(api.get("/api/v1/gateways/nobody/nearby"), 404, "not_found")
