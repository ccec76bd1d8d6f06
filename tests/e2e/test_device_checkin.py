"""The device API's check-in through a real server over HTTP, on SQLite and PostgreSQL
(SPEC §6, B8, B9): a paired device gets its configuration only when it changed, learns at
its next check-in that it was removed, and its acknowledgement ends its credential."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from onboard.services import licensing
from onboard.services.devices import delete_device
from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, unique


@pytest.fixture
def device(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


def paired_device(svc: Services, org: Org, device: httpx.Client) -> tuple[str, dict[str, object]]:
    product = licensing.create_product(svc, org.actor, name=unique("Scanner app"))
    licensing.grant_licenses(svc, org.actor, product.id, count=1, expires_at=None)
    licensing.create_configuration(svc, org.actor, product.id, name="v1", body={"interval": 60})
    code = licensing.create_pairing_code(svc, org.actor, product.id)
    answer = json_of(
        device.post("/device/v1/pair", json={"code": code.url, "hardware_id": unique("hw")})
    )
    return product.id, answer


def test_a_device_gets_its_configuration_when_it_changes_and_unpair_after_removal(
    svc: Services, org: Org, device: httpx.Client
) -> None:
    product_id, paired = paired_device(svc, org, device)
    auth = {"Authorization": f"Bearer {paired['credential']}"}
    current = paired["configuration"]
    assert isinstance(current, dict)

    same = json_of(
        device.post(
            "/device/v1/checkin", json={"configuration_etag": current["etag"]}, headers=auth
        )
    )
    assert same == {"configuration": None, "commands": []}
    newer = licensing.create_configuration(
        svc, org.actor, product_id, name="v2", body={"interval": 30}
    )
    licensing.assign_configuration(svc, org.actor, newer.id, [str(paired["device_id"])])
    changed = json_of(
        device.post(
            "/device/v1/checkin", json={"configuration_etag": current["etag"]}, headers=auth
        )
    )
    assert changed["configuration"] == {
        "id": newer.id,
        "etag": newer.etag,
        "body": {"interval": 30},
    }

    delete_device(svc, org.actor, str(paired["device_id"]))
    told = json_of(device.post("/device/v1/checkin", json={}, headers=auth))
    assert [c["type"] for c in told["commands"]] == ["unpair"]
    command = told["commands"][0]["id"]
    problem_of(
        device.post("/device/v1/commands/nope/ack", json={"ok": True}, headers=auth),
        404,
        "not_found",
    )
    assert (
        json_of(device.post(f"/device/v1/commands/{command}/ack", json={"ok": True}, headers=auth))
        == {}
    )
    problem_of(device.post("/device/v1/checkin", json={}, headers=auth), 401, "unauthenticated")


def test_a_check_in_without_a_known_credential_or_with_a_bad_body_is_refused(
    svc: Services, org: Org, device: httpx.Client
) -> None:
    _, paired = paired_device(svc, org, device)
    auth = {"Authorization": f"Bearer {paired['credential']}"}

    problem_of(device.post("/device/v1/checkin", json={}), 401, "unauthenticated")
    problem_of(
        device.post("/device/v1/checkin", json={}, headers={"Authorization": "Bearer nope"}),
        401,
        "unauthenticated",
    )
    problem_of(
        device.post("/device/v1/checkin", json={"configuration_etag": "x" * 65}, headers=auth),
        422,
        "invalid",
    )
    problem_of(device.post("/device/v1/commands/x/ack", json={}, headers=auth), 422, "invalid")
