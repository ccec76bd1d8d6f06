"""Environments and provisioning groups over HTTP on SQLite and PostgreSQL (SPEC P2, D1,
P10, §5.1 Part D): any member lists environments; a group is created with its `secret`
answered once, read by its id or public group id without it, listed by cursor, replaced
or changed, its secret rotated with the previous one activating until the rotation is
finished; bad input is a problem+json with a stable code that changes nothing, and only
Administrators and IoT Managers manage groups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import httpx
import pytest

from onboard.domain.errors import InvalidSignature
from onboard.domain.provisioning import check_activation, group_secret_context
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import environments, groups
from tests.conftest import LiveServer
from tests.factories import Org, make_member, make_org, token_for

PROBLEM = "application/problem+json"
GROUPS = "/api/v1/provisioning-groups"


def new_environment(svc: Services, *, up: bool = True) -> str:
    """An environment of its own (the server, and its environments, are shared)."""
    name = f"env-{secrets.token_hex(4)}"
    environments.create_environment(
        svc, name=name, api_url=f"https://{name}.example.com", mqtt_url=f"mqtts://{name}.example",
        region="Frankfurt", weight=2, up=up,
    )  # fmt: skip
    return name


def new_group_id() -> str:
    return f"grp-{secrets.token_hex(5)}"


def own_device_key(secret: str, serial: str) -> str:
    digest = hmac.new(base64.b64decode(secret), serial.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def activates(svc: Services, org: Org, group_id: str, secret: str) -> bool:
    """§6: whether a device with the key of ``secret`` passes the group's check."""
    expires = int(time.time()) + 300
    key = own_device_key(secret, "SN-1").encode()
    message = f"{group_id}\nSN-1\n{expires}".encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    group = groups.find_group_now(svc, org.actor, group_id)
    with svc.uow(read_only=True) as uow:
        held = groups.group_secrets(svc, group, uow)
    try:
        check_activation(held, group_id, "SN-1", expires, signature)
    except InvalidSignature:
        return False
    return True


def group_ids(svc: Services, org: Org) -> list[str]:
    page = groups.list_groups(svc, org.actor, PageRequest(None, 200))
    return sorted(g.group_id for g in page.items)


def assert_problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


def test_any_member_lists_the_environments_and_no_one_unauthenticated(
    live_server: LiveServer, svc: Services, org: Org
) -> None:
    """P2: every member sees the environments, to choose a group's."""
    up, down = new_environment(svc), new_environment(svc, up=False)
    viewer = make_member(svc, org, roles=["viewer"])

    with live_server.client(token_for(svc, viewer)) as client:
        answer = client.get("/api/v1/environments")
    with live_server.client() as anonymous:
        refused = anonymous.get("/api/v1/environments")

    assert answer.status_code == 200, answer.text
    found = {e["name"]: e for e in answer.json()}
    assert found[up] == {
        "name": up, "region": "Frankfurt", "api_url": f"https://{up}.example.com",
        "mqtt_url": f"mqtts://{up}.example", "status": "up", "weight": 2,
    }  # fmt: skip
    assert found[down]["status"] == "down"
    assert_problem(refused, 401, "unauthenticated")


def test_a_group_is_created_with_its_secret_once_and_read_without_it(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    """D1, §5.1: 201 with `secret` (32 bytes, base64) and no secondary; the stored value is
    sealed; reading it by id or by group id never shows a secret again."""
    first, second = new_environment(svc), new_environment(svc)
    group_id = new_group_id()
    body = {
        "group_id": group_id, "name": "Meters", "mode": "open", "allocation": "weighted",
        "reprovision_policy": "reset", "environments": [second, first],
        "configuration": {"interval": 60}, "initial_attributes": {"site": "Hall 2"},
        "claimable": True,
    }  # fmt: skip

    created = api.post(GROUPS, json=body)

    assert created.status_code == 201, created.text
    made = created.json()
    secret = made["secret"]
    assert len(base64.b64decode(secret, validate=True)) == 32
    assert len(base64.b64decode(made["secondary_secret"], validate=True)) == 32
    assert made["secondary_secret"] != secret
    expected = {
        "group_id": group_id, "name": "Meters", "mode": "open", "allocation": "weighted",
        "reprovision_policy": "reset", "environments": [second, first], "template_id": None,
        "configuration": {"interval": 60}, "initial_attributes": {"site": "Hall 2"},
        "departments": [], "claimable": True, "claimants": [], "rotating": True,
    }  # fmt: skip
    assert {k: made[k] for k in expected} == expected
    with svc.uow(read_only=True) as uow:
        sealed, _ = uow.provisioning_groups.sealed_secrets(made["id"])
    assert secret not in sealed
    assert svc.secrets.open(sealed, context=group_secret_context(made["id"])) == secret
    assert activates(svc, org, group_id, secret)

    by_id = api.get(f"{GROUPS}/{made['id']}")
    by_group_id = api.get(f"{GROUPS}/{group_id}")
    listed = api.get(GROUPS)

    assert by_id.status_code == by_group_id.status_code == listed.status_code == 200
    assert by_id.json() == by_group_id.json() == listed.json()["items"][0]
    public = {k: v for k, v in made.items() if k not in ("secret", "secondary_secret")}
    assert by_id.json() == public
    for answer in (by_id, by_group_id, listed):
        assert secret not in answer.text
        assert "secret" not in answer.json().get("items", [answer.json()])[0]


def test_a_group_without_a_group_id_gets_one_and_the_list_pages_by_cursor(
    api: httpx.Client,
) -> None:
    made = [api.post(GROUPS, json={"name": f"Group {n}"}) for n in range(3)]
    assert [m.status_code for m in made] == [201, 201, 201]
    assert all(m.json()["group_id"].startswith("g-") for m in made)

    first = api.get(GROUPS, params={"limit": 2}).json()
    second = api.get(GROUPS, params={"limit": 2, "cursor": first["next_cursor"]}).json()

    assert len(first["items"]) == 2
    assert first["next_cursor"]
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    seen = {g["id"] for g in first["items"] + second["items"]}
    assert seen == {m.json()["id"] for m in made}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"group_id": "Not_Valid"}, "group_id"),
        ({"environments": ["nowhere"]}, "environments"),
        ({"template_id": "no-such-template"}, "template_id"),
        ({"departments": ["no-such-department"]}, "departments"),
        ({"claimants": ["no-such-organization"]}, "claimants"),
        ({"mode": "closed"}, "mode"),
        ({"name": ""}, "name"),
        ({"secret": "mine"}, "secret"),
        ({"configuration": [1, 2]}, "configuration"),
        ({"initial_attributes": {"bad name": 1}}, "initial_attributes.bad name"),
    ],
)
def test_bad_input_is_invalid_with_its_field_and_makes_nothing(
    api: httpx.Client, svc: Services, org: Org, change: dict[str, Any], field: str
) -> None:
    """P10: 422 `invalid` (or its kind) naming the field; no group made."""
    answer = api.post(GROUPS, json={"name": "Bad", "group_id": new_group_id(), **change})

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] in ("invalid", "invalid_attributes")
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert group_ids(svc, org) == []


def test_a_taken_group_id_is_name_taken_even_from_another_organization(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    group_id = new_group_id()
    assert api.post(GROUPS, json={"name": "First", "group_id": group_id}).status_code == 201
    other = make_org(svc)

    again = api.post(GROUPS, json={"name": "Again", "group_id": group_id})
    with live_server.client(token_for(svc, other.admin)) as client:
        elsewhere = client.post(GROUPS, json={"name": "Theirs", "group_id": group_id})
        hidden = client.get(f"{GROUPS}/{group_id}")

    assert_problem(again, 409, "name_taken")
    assert_problem(elsewhere, 409, "name_taken")
    assert_problem(hidden, 404, "not_found")
    assert group_ids(svc, org) == [group_id]
    assert group_ids(svc, other) == []


def test_put_replaces_the_settings_and_patch_changes_only_those_given(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    """D1: the group id and the secret stay through both."""
    environment = new_environment(svc)
    group_id = new_group_id()
    made = api.post(
        GROUPS,
        json={"group_id": group_id, "name": "Before", "environments": [environment],
              "configuration": {"a": 1}},
    ).json()  # fmt: skip

    replaced = api.put(f"{GROUPS}/{group_id}", json={"name": "After", "mode": "open"})
    changed = api.patch(
        f"{GROUPS}/{made['id']}", json={"allocation": "hashed", "environments": [environment]}
    )
    unknown = api.patch(f"{GROUPS}/no-such-group", json={"name": "X"})
    refused = api.patch(f"{GROUPS}/{group_id}", json={"environments": ["nowhere"]})

    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["mode"]) == ("After", "open")
    assert (replaced.json()["environments"], replaced.json()["configuration"]) == ([], {})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["name"], after["mode"], after["allocation"]) == ("After", "open", "hashed")
    assert after["environments"] == [environment]
    assert after["group_id"] == group_id
    assert_problem(unknown, 404, "not_found")
    assert_problem(refused, 422, "invalid")
    assert api.get(f"{GROUPS}/{group_id}").json() == after
    assert activates(svc, org, group_id, made["secret"])


def test_a_group_names_its_configuration_by_configuration_id(api: httpx.Client) -> None:
    """§5.1 Part D: `configuration_id` is one of the organization's configurations (B8), its
    body the group's configuration; JSON given by PATCH ends the link; an unknown one is
    422 with its field."""
    product = api.post("/api/v1/products", json={"name": "Meter firmware"}).json()
    named = api.post(
        "/api/v1/configurations",
        json={"product_id": product["id"], "name": "Rollout 3", "body": {"interval": 30}},
    ).json()
    group_id = new_group_id()

    made = api.post(
        GROUPS, json={"group_id": group_id, "name": "Meters", "configuration_id": named["id"]}
    )
    unknown = api.patch(f"{GROUPS}/{group_id}", json={"configuration_id": "01UNKNOWN"})
    inline = api.patch(f"{GROUPS}/{group_id}", json={"configuration": {"a": 1}})

    assert made.status_code == 201, made.text
    assert (made.json()["configuration"], made.json()["configuration_id"]) == (
        {"interval": 30},
        named["id"],
    )
    body = assert_problem(unknown, 422, "invalid")
    assert [e["field"] for e in body["errors"]] == ["configuration_id"]
    assert inline.status_code == 200, inline.text
    assert (inline.json()["configuration"], inline.json()["configuration_id"]) == ({"a": 1}, None)


def test_rotating_answers_the_new_secret_and_the_old_one_activates_until_finished(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    """D1, §5.1: rotate-secret answers the new `secret`; devices with keys of the previous
    one still activate until finish-rotation."""
    group_id = new_group_id()
    old = api.post(GROUPS, json={"group_id": group_id, "name": "Rotating"}).json()["secret"]

    rotated = api.post(f"{GROUPS}/{group_id}/rotate-secret")

    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["rotating"] is True
    assert "secret" not in api.get(f"{GROUPS}/{group_id}").json()
    assert activates(svc, org, group_id, old)
    assert activates(svc, org, group_id, new)

    finished = api.post(f"{GROUPS}/{group_id}/finish-rotation")

    assert finished.status_code == 200, finished.text
    assert finished.json()["rotating"] is False
    assert not activates(svc, org, group_id, old)
    assert activates(svc, org, group_id, new)

    again = api.post(f"{GROUPS}/{group_id}/secret/rotate")
    assert again.status_code == 200
    assert activates(svc, org, group_id, new)
    assert api.post(f"{GROUPS}/{group_id}/secret/finish-rotation").json()["rotating"] is False
    assert not activates(svc, org, group_id, new)


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (["administrator"], True),
        (["iot_manager"], True),
        (["device_manager"], False),
        (["technician"], False),
        (["viewer"], False),
    ],
)
def test_only_administrators_and_iot_managers_manage_groups_and_every_member_reads_them(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org, roles: list[str],
    allowed: bool,
) -> None:  # fmt: skip
    """D1, §0: MANAGE_PROVISIONING; others get 403 `permission_denied` and change nothing."""
    group_id = new_group_id()
    api.post(GROUPS, json={"group_id": group_id, "name": "Existing"})
    member = make_member(svc, org, roles=roles)

    with live_server.client(token_for(svc, member)) as client:
        read = client.get(f"{GROUPS}/{group_id}")
        listed = client.get(GROUPS)
        changes = [
            client.post(GROUPS, json={"group_id": new_group_id(), "name": "Mine"}),
            client.put(f"{GROUPS}/{group_id}", json={"name": "Renamed"}),
            client.patch(f"{GROUPS}/{group_id}", json={"name": "Renamed"}),
            client.post(f"{GROUPS}/{group_id}/rotate-secret"),
            client.post(f"{GROUPS}/{group_id}/finish-rotation"),
        ]

    assert read.status_code == listed.status_code == 200
    for answer in changes:
        if allowed:
            assert answer.status_code in (200, 201), answer.text
        else:
            assert_problem(answer, 403, "permission_denied")
    if not allowed:
        assert group_ids(svc, org) == [group_id]
        group = groups.find_group_now(svc, org.actor, group_id)
        assert group.name == "Existing"
