"""Activation over HTTP against a real server on SQLite and PostgreSQL (SPEC D2, D4, §6):
the reference client (`onboard device activate`, then `onboard device run`) as a device
would run it, and the device API's refusals as problem+json."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from onboard.domain.provisioning import Registration
from onboard.entrypoints.cli import app
from onboard.entrypoints.device_api import device_app
from onboard.services.devices import get_device
from onboard.services.ports import Services
from onboard.services.provisioning.environments import create_environment
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, unique
from tests.provisioning import key_of, signed


def onboard(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def name(prefix: str) -> str:
    return unique(prefix).replace(" ", "-")


@pytest.fixture
def made(svc: Services, org: Org) -> NewGroup:
    """A preregistered group with an environment, defaults, and serials SN-1 to SN-3 (SN-3
    disabled)."""
    environment = name("env")
    create_environment(
        svc, name=environment, api_url="https://eu.example.com", mqtt_url="mqtts://eu.example.com"
    )
    group = create_group(
        svc, org.actor, name("grp"),
        GroupInput(name="Meters", environments=(environment,), configuration={"interval": 30},
                   attributes={"site": "plant"}),
    )  # fmt: skip
    now = svc.clock.now()
    with svc.uow() as uow:
        uow.registrations.add_many(
            [
                Registration(
                    svc.ids.new(), org.organization.id, group.group.id, s, {}, s == "SN-3",
                    None, None, None, now,
                )
                for s in ("SN-1", "SN-2", "SN-3")
            ]
        )  # fmt: skip
        uow.commit()
    return group


def test_the_reference_client_activates_keeps_its_credential_and_checks_in(
    live_server: LiveServer, svc: Services, org: Org, made: NewGroup, tmp_path: Path
) -> None:
    """D4: `onboard device activate` with the burned group id, serial and device key; the
    state file (0600) keeps the credential; a check-in brings the group's configuration
    once, then nothing while it is unchanged. Activating again keeps the twin."""
    state = tmp_path / "device.json"
    key = key_of(made.secret, "SN-1")

    done = onboard(
        "device", "activate", "--server", live_server.url, "--group", made.group.group_id,
        "--serial", "SN-1", "--device-key", key, "--state-file", str(state),
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    kept = json.loads(state.read_text())
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert kept["credential"] not in done.output
    assert f"Activated as device {kept['device_id']}" in done.output
    assert kept["environment"]["api_url"] == "https://eu.example.com"
    assert kept["attributes"] == {"site": "plant"}
    twin = get_device(svc, org.actor, kept["device_id"])
    assert (twin.serial, twin.attributes) == ("SN-1", {"site": "plant"})

    ran = onboard("device", "run", "--state-file", str(state), "--once")
    assert ran.exit_code == 0, ran.output
    assert f"configuration {made.group.group_id} applied" in ran.output
    assert json.loads(state.read_text())["configuration"]["body"] == {"interval": 30}
    again = onboard("device", "run", "--state-file", str(state), "--once")
    assert "applied" not in again.output

    repeat = CliRunner().invoke(
        app,
        ["device", "activate", "--server", live_server.url, "--group", made.group.group_id,
         "--serial", "SN-1", "--device-key", "-", "--state-file", str(state)],
        input=key + "\n",
    )  # fmt: skip
    assert repeat.exit_code == 0, repeat.output
    rotated = json.loads(state.read_text())
    assert rotated["device_id"] == kept["device_id"]
    assert rotated["credential"] != kept["credential"]
    with live_server.client(kept["credential"]) as old:
        problem_of(old.post("/device/v1/checkin", json={}), 401, "unauthenticated")


def test_the_device_api_refuses_bad_activations_with_their_codes(
    live_server: LiveServer, made: NewGroup
) -> None:
    """§6: 401 invalid_signature and signature_expired, 403 not_registered and
    registration_disabled, 422 for a body that is not one; nothing is made."""
    group = made.group.group_id
    with live_server.client() as device:
        forged = signed(group, "SN-2", "not-the-key")
        problem_of(device.post("/device/v1/activate", json=forged), 401, "invalid_signature")
        late = signed(group, "SN-2", key_of(made.secret, "SN-2"), ahead=-10)
        problem_of(device.post("/device/v1/activate", json=late), 401, "signature_expired")
        unknown = signed(group, "SN-9", key_of(made.secret, "SN-9"))
        problem_of(device.post("/device/v1/activate", json=unknown), 403, "not_registered")
        disabled = signed(group, "SN-3", key_of(made.secret, "SN-3"))
        problem_of(device.post("/device/v1/activate", json=disabled), 403, "registration_disabled")
        problem_of(
            device.post("/device/v1/activate", json={"group_id": group, "serial": "SN-2"}),
            422,
            "invalid",
        )
        answer = device.post(
            "/device/v1/activate", json=signed(group, "SN-2", key_of(made.secret, "SN-2"))
        )
    got = json_of(answer)
    assert set(got) == {"device_id", "credential", "environment", "configuration", "attributes"}
    assert got["configuration"] == {"interval": 30}


def test_the_activation_lane_answers_as_the_device_api_route_does(
    live_server: LiveServer, made: NewGroup
) -> None:
    """§7: the server answers activations in a lane of their own, ahead of the framework;
    for each kind of body it answers exactly as the device API's route (run in process,
    without the lane) does, and other methods still reach the framework (405)."""
    group = made.group.group_id
    bodies: list[bytes] = [
        b'{"group_id": ',  # malformed JSON
        b"[]",
        json.dumps({"group_id": group, "serial": "SN-2"}).encode(),
        json.dumps(
            {"group_id": "", "serial": "x" * 101, "expires": "soon", "signature": 1}
        ).encode(),
        json.dumps(signed(group, "SN-2", "not-the-key")).encode(),
        json.dumps(signed(group, "SN-9", key_of(made.secret, "SN-9"))).encode(),
        json.dumps(signed(group, "SN-3", key_of(made.secret, "SN-3"))).encode(),
    ]
    headers = {"Content-Type": "application/json"}
    direct = TestClient(device_app(live_server.container))
    with live_server.client() as device:
        for body in bodies:
            answer = device.post("/device/v1/activate", content=body, headers=headers)
            expected = direct.post("/activate", content=body, headers=headers)
            assert answer.status_code == expected.status_code, body
            assert answer.headers["content-type"] == expected.headers["content-type"]
            assert answer.json() == expected.json(), body
        too_big = b'{"serial": "' + b"x" * 20_000 + b'"}'
        problem_of(
            device.post("/device/v1/activate", content=too_big, headers=headers),
            413,
            "payload_too_large",
        )
        assert device.get("/device/v1/activate").status_code == 405
        # A newer firmware's extra fields are ignored, as everywhere in the device API.
        extra = {**signed(group, "SN-1", key_of(made.secret, "SN-1")), "firmware": "2.0"}
        assert json_of(device.post("/device/v1/activate", json=extra))["device_id"]


def test_the_reference_client_explains_a_refusal_and_stores_nothing(
    live_server: LiveServer, made: NewGroup, tmp_path: Path
) -> None:
    state = tmp_path / "device.json"
    refused = onboard(
        "device", "activate", "--server", live_server.url, "--group", made.group.group_id,
        "--serial", "SN-9", "--device-key", key_of(made.secret, "SN-9"), "--state-file", str(state),
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "not_registered" in refused.output
    assert "register it" in refused.output
    assert not state.exists()
    with httpx.Client(base_url=live_server.url) as device:
        assert device.get("/device/v1/openapi.json").json()["paths"]["/activate"]["post"]


def test_new_hardware_replaces_a_device_through_the_api_and_activates_into_its_twin(
    live_server: LiveServer, api: httpx.Client, svc: Services, made: NewGroup, tmp_path: Path
) -> None:
    """D7 over HTTP: the old hardware's next check-in is refused (its credential stopped
    at once); the new hardware's `onboard device activate` lands in the same twin."""
    old_state, new_state = tmp_path / "old.json", tmp_path / "new.json"
    for serial, state in (("SN-1", old_state),):
        done = onboard(
            "device", "activate", "--server", live_server.url, "--group", made.group.group_id,
            "--serial", serial, "--device-key", key_of(made.secret, serial),
            "--state-file", str(state),
        )  # fmt: skip
        assert done.exit_code == 0, done.output
    twin = json.loads(old_state.read_text())["device_id"]
    with svc.uow() as uow:
        uow.registrations.add_many(
            [Registration(svc.ids.new(), made.group.organization_id, made.group.id, "SN-NEW",
                          {}, False, None, None, None, svc.clock.now())]
        )  # fmt: skip
        uow.commit()

    problem_of(
        api.post(f"/api/v1/devices/{twin}/replace", json={"serial": "SN-9"}),
        403,
        "not_registered",
    )
    replaced = json_of(api.post(f"/api/v1/devices/{twin}/replace", json={"serial": "SN-NEW"}))

    assert (replaced["id"], replaced["serial"]) == (twin, "SN-NEW")
    stale = onboard("device", "run", "--state-file", str(old_state), "--once")
    assert stale.exit_code != 0
    assert "unauthenticated" in stale.output
    fresh = onboard(
        "device", "activate", "--server", live_server.url, "--group", made.group.group_id,
        "--serial", "SN-NEW", "--device-key", key_of(made.secret, "SN-NEW"),
        "--state-file", str(new_state),
    )  # fmt: skip
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(new_state.read_text())["device_id"] == twin
    shown = json_of(api.get(f"/api/v1/devices/{twin}/provisioning"))
    assert shown["group_id"] == made.group.group_id
    assert (shown["registration"]["serial"], shown["registration"]["device_id"]) == (
        "SN-NEW",
        twin,
    )
    assert [e["action"] for e in shown["history"]] == [
        "device.activated",
        "device.replaced",
        "device.activated",
    ]
    assert shown["history"][1]["after"]["serial"] == "SN-NEW"


def test_a_device_moved_to_another_environment_learns_it_at_check_in_and_activates_there(
    live_server: LiveServer, api: httpx.Client, svc: Services, made: NewGroup, tmp_path: Path
) -> None:
    """D6 over HTTP: a member moves the device (POST .../reprovisioning); `onboard device
    run` gets `reprovision`, activates again with the same burned key and keeps the new
    environment and credential."""
    state = tmp_path / "device.json"
    second = name("env")
    create_environment(
        svc, name=second, api_url="https://us.example.com", mqtt_url="mqtts://us.example.com"
    )
    group = made.group
    shown = json_of(api.get(f"/api/v1/provisioning-groups/{group.id}"))
    changed = {"environments": [*shown["environments"], second]}
    json_of(api.patch(f"/api/v1/provisioning-groups/{group.id}", json=changed))
    done = onboard(
        "device", "activate", "--server", live_server.url, "--group", group.group_id,
        "--serial", "SN-2", "--device-key", key_of(made.secret, "SN-2"), "--state-file", str(state),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    before = json.loads(state.read_text())

    moved = api.post(
        f"/api/v1/devices/{before['device_id']}/reprovision", json={"environment": second}
    )

    assert json_of(moved)["id"] == before["device_id"]
    waiting = json_of(api.get(f"/api/v1/devices/{before['device_id']}/provisioning"))
    assert waiting["registration"]["reprovision_pending"] is True
    assert waiting["environment"]["name"] == second
    ran = onboard("device", "run", "--state-file", str(state), "--once")
    assert ran.exit_code == 0, ran.output
    assert f"reprovisioned: activated again, now in {second}" in ran.output
    after = json.loads(state.read_text())
    assert (after["device_id"], after["environment"]["name"]) == (before["device_id"], second)
    assert after["credential"] != before["credential"]
    quiet = onboard("device", "run", "--state-file", str(state), "--once")
    assert "reprovisioned" not in quiet.output
    told = json_of(api.get(f"/api/v1/devices/{before['device_id']}/provisioning"))
    assert told["registration"]["reprovision_pending"] is False
    assert [e["action"] for e in told["history"]] == [
        "device.reactivated",
        "device.reprovisioned",
        "device.activated",
    ]
    assert told["history"][1]["after"]["environment"] == second


def test_a_device_made_by_hand_has_no_provisioning_and_a_stranger_sees_none(
    api: httpx.Client, made: NewGroup
) -> None:
    """GET /devices/{id}/provisioning: 404 `not_found` for a device that never came
    through a group (A1 by hand) and for an id no one has."""
    by_hand = json_of(api.post("/api/v1/devices", json={"name": name("pump")}), 201)

    problem_of(api.get(f"/api/v1/devices/{by_hand['id']}/provisioning"), 404, "not_found")
    problem_of(api.get("/api/v1/devices/no-such-device/provisioning"), 404, "not_found")
