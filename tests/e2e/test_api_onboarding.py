"""POST /api/v1/onboard over HTTP, on SQLite and PostgreSQL (SPEC D5, §5.1): the app sends
the scanned onboarding QR; the device lands in the member's organization once."""

from __future__ import annotations

import httpx

from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_org, token_for
from tests.provisioning import claim_code_of, new_group, register


def test_a_scanned_label_onboards_its_device_once_and_only_where_the_group_allows(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1", "SN-2", site="plant")
    url = svc.public_url.rstrip("/")
    payload = f"{url}/o/{made.group.group_id}/SN-1/{claim_code_of(made.secret, 'SN-1')}"

    device = json_of(
        api.post("/api/v1/onboard", json={"payload": payload, "name": "Pump", "location": "Hall"})
    )
    again = json_of(api.post("/api/v1/onboard", json={"payload": payload}))

    assert (device["name"], device["serial"]) == ("Pump", "SN-1")
    assert again["id"] == device["id"]
    other = make_org(svc)
    unclaimed = f"{url}/o/{made.group.group_id}/SN-2/{claim_code_of(made.secret, 'SN-2')}"
    with live_server.client(token_for(svc, other.admin)) as stranger:
        problem_of(
            stranger.post("/api/v1/onboard", json={"payload": payload}), 409, "already_onboarded"
        )
        problem_of(
            stranger.post("/api/v1/onboard", json={"payload": unclaimed}), 403, "claim_not_allowed"
        )
    wrong = f"{url}/o/{made.group.group_id}/SN-1/AAAAAAAAAAAAAAAA"
    problem_of(api.post("/api/v1/onboard", json={"payload": wrong}), 404, "not_found")
    problem_of(api.post("/api/v1/onboard", json={"payload": "hello"}), 422, "invalid")
