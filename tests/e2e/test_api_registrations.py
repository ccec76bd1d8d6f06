"""Registrations over HTTP on SQLite and PostgreSQL (SPEC D3, D4, §5.1): a list of serials
as CSV, JSON lines or §5.1's JSON object, answered with the count registered and every
rejected row; 422 import_refused with the same rows and nothing registered in mode all;
the group's registrations paged by cursor; one disabled and enabled again with PATCH;
refusals for what cannot be a list, for members who may not, and for another
organization's group."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from onboard.domain.provisioning import Registration
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning.activation import activate
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from onboard.services.provisioning.registrations import list_registrations
from tests.conftest import LiveServer
from tests.factories import Org, make_member, make_org, token_for, unique
from tests.provisioning import key_of, signed

PROBLEM = "application/problem+json"


@pytest.fixture
def group(svc: Services, org: Org) -> NewGroup:
    return create_group(svc, org.actor, unique("api").replace(" ", "-"), GroupInput(name="M"))


def post(
    api: httpx.Client, group: str, body: str, media: str = "text/csv", **params: str
) -> httpx.Response:
    return api.post(
        f"/api/v1/provisioning-groups/{group}/registrations",
        content=body.encode(),
        params=params,
        headers={"Content-Type": media},
    )


def registered(svc: Services, org: Org, group: NewGroup) -> dict[str, Registration]:
    page = list_registrations(svc, org.actor, group.group.id, PageRequest(None, 200))
    return {r.serial: r for r in page.items}


def rows(answer: httpx.Response) -> list[tuple[int, str]]:
    return [(r["row"], r["code"]) for r in answer.json()["rejected"]]


def test_d3_a_csv_list_is_registered_with_its_attributes(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    answer = post(api, group.group.group_id, "serial,site\nAPI-1,plant\nAPI-2,\n")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"registered": 2, "accepted": 2, "rejected": []}
    found = registered(svc, org, group)
    assert {s: r.attributes for s, r in found.items()} == {"API-1": {"site": "plant"}, "API-2": {}}


def test_d3_mode_all_refuses_with_every_rejected_row_and_mode_valid_registers_the_rest(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    lines: list[dict[str, Any]] = [
        {"serial": "NJ-1"},
        {"serial": "NJ-1"},
        {"serial": "NJ-2", "attributes": "red"},
        {"serial": "NJ-3", "attributes": {"fw": "2.1"}},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    expected = [(1, "duplicate_in_list"), (2, "duplicate_in_list"), (3, "malformed")]

    refused = post(api, group.group.id, body, "application/x-ndjson")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "import_refused"
    assert rows(refused) == expected
    assert registered(svc, org, group) == {}

    applied = post(api, group.group.id, body, "application/x-ndjson", mode="valid")
    assert applied.status_code == 200
    assert applied.json()["registered"] == 1
    assert rows(applied) == expected
    assert registered(svc, org, group)["NJ-3"].attributes == {"fw": "2.1"}

    again = post(api, group.group.id, body, "application/x-ndjson", mode="valid")
    assert again.json()["registered"] == 0
    assert (4, "already_registered") in rows(again)


def test_d3_the_json_body_of_the_contract_takes_strings_and_objects(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    body = json.dumps(
        {"serials": ["JS-1", {"serial": "JS-2", "attributes": {"floor": 2}}, 42, "JS-1"]}
    )

    answer = post(api, group.group.id, body, "application/json", mode="valid")

    assert answer.status_code == 200, answer.text
    assert answer.json()["registered"] == 1
    assert rows(answer) == [(1, "duplicate_in_list"), (3, "malformed"), (4, "duplicate_in_list")]
    assert registered(svc, org, group)["JS-2"].attributes == {"floor": 2}
    not_a_list = post(api, group.group.id, json.dumps({"serials": "JS-9"}), "application/json")
    assert (not_a_list.status_code, not_a_list.json()["code"]) == (422, "invalid")
    assert set(registered(svc, org, group)) == {"JS-2"}


def test_d3_the_registrations_are_paged_by_cursor(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    post(api, group.group.id, "serial\n" + "".join(f"P-{n}\n" for n in (3, 1, 4, 0, 2)))
    url = f"/api/v1/provisioning-groups/{group.group.group_id}/registrations"

    first = api.get(url, params={"limit": 3}).json()
    rest = api.get(url, params={"limit": 3, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 3
    assert rest["next_cursor"] is None
    items = [*first["items"], *rest["items"]]
    assert [r["serial"] for r in items] == [f"P-{n}" for n in range(5)]
    assert set(items[0]) >= {"id", "serial", "attributes", "enabled", "disabled", "device_id"}
    assert {(r["enabled"], r["disabled"], r["device_id"]) for r in items} == {(True, False, None)}


def test_d4_patch_disables_one_registration_and_its_device_is_refused(
    api: httpx.Client, live_server: LiveServer, svc: Services, org: Org, group: NewGroup
) -> None:
    post(api, group.group.id, "serial\nPD-1\nPD-2\n")
    url = f"/api/v1/provisioning-groups/{group.group.group_id}/registrations"

    off = api.patch(f"{url}/PD-1", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert (off.json()["serial"], off.json()["enabled"], off.json()["disabled"]) == (
        "PD-1", False, True,
    )  # fmt: skip
    with live_server.client() as device:
        for serial, status in (("PD-1", 403), ("PD-2", 200)):
            proof = signed(group.group.group_id, serial, key_of(group.secret, serial))
            answer = device.post("/device/v1/activate", json=proof)
            assert answer.status_code == status, answer.text
            if status == 403:
                assert answer.json()["code"] == "registration_disabled"

    on = api.patch(f"{url}/PD-1", json={"disabled": False})
    assert (on.status_code, on.json()["enabled"]) == (200, True)
    proof = signed(group.group.group_id, "PD-1", key_of(group.secret, "PD-1"))
    assert activate(svc, **proof).first

    for body in ({}, {"enabled": True, "disabled": True}, {"enabled": "maybe"}):
        bad = api.patch(f"{url}/PD-1", json=body)
        assert bad.status_code == 422, body
    missing = api.patch(f"{url}/NOPE", json={"enabled": False})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert registered(svc, org, group)["PD-1"].disabled is False


def test_d4_a_serial_with_a_slash_is_named_percent_encoded(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    post(api, group.group.id, "serial\nLOT/7\nLOT\n")
    url = f"/api/v1/provisioning-groups/{group.group.group_id}/registrations"

    off = api.patch(f"{url}/LOT%2F7", json={"enabled": False})

    assert (off.status_code, off.json()["serial"]) == (200, "LOT/7"), off.text
    found = registered(svc, org, group)
    assert (found["LOT/7"].disabled, found["LOT"].disabled) == (True, False)


def test_d3_what_cannot_be_a_list_is_refused_and_changes_nothing(
    api: httpx.Client, svc: Services, org: Org, group: NewGroup
) -> None:
    bad_header = post(api, group.group.id, "site\nplant\n")
    assert (bad_header.status_code, bad_header.json()["code"]) == (422, "malformed")
    wrong_type = post(api, group.group.id, "serial\nA-1\n", "text/plain")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "unsupported_media_type")
    not_utf8 = api.post(
        f"/api/v1/provisioning-groups/{group.group.id}/registrations",
        content=b"serial\n\xff\xfe\n",
        headers={"Content-Type": "text/csv"},
    )
    assert (not_utf8.status_code, not_utf8.json()["code"]) == (422, "malformed")
    assert registered(svc, org, group) == {}


def test_d3_members_who_do_not_manage_provisioning_read_but_do_not_write(
    live_server: LiveServer, svc: Services, org: Org, group: NewGroup, api: httpx.Client
) -> None:
    post(api, group.group.id, "serial\nV-1\n")
    viewer = make_member(svc, org, roles=["device_manager", "technician", "viewer"])
    url = f"/api/v1/provisioning-groups/{group.group.id}/registrations"
    with live_server.client(token_for(svc, viewer)) as client:
        assert [r["serial"] for r in client.get(url).json()["items"]] == ["V-1"]
        answer = post(client, group.group.id, "serial\nV-2\n")
        assert (answer.status_code, answer.json()["code"]) == (403, "permission_denied")
        patched = client.patch(f"{url}/V-1", json={"enabled": False})
        assert (patched.status_code, patched.json()["code"]) == (403, "permission_denied")
    assert set(registered(svc, org, group)) == {"V-1"}
    assert registered(svc, org, group)["V-1"].disabled is False


def test_d3_another_organizations_group_is_not_found(
    live_server: LiveServer, svc: Services, org: Org, group: NewGroup
) -> None:
    other = make_org(svc)
    with live_server.client(token_for(svc, other.admin)) as client:
        for ref in (group.group.id, group.group.group_id):
            url = f"/api/v1/provisioning-groups/{ref}/registrations"
            assert post(client, ref, "serial\nO-1\n").status_code == 404
            assert client.get(url).status_code == 404
            assert client.patch(f"{url}/O-1", json={"enabled": False}).status_code == 404
    assert registered(svc, org, group) == {}
