"""Acceptance of provisioning (issue 8, SPEC Part D, P2, §5.1, §6): a device maker's
Administrator acting through the members' API, a factory deriving device keys with
`onboard groups derive-keys`, devices running the reference client over HTTP, and a
service company onboarding one by its QR label, against a real server on SQLite and
PostgreSQL. What has no API is done as its users do it: the operator's environments
through the use cases behind `onboard environments`, the onboarding batch through the
use cases behind the back office's batch page. Device keys and claim codes are checked
against the test's own HMAC code (tests/provisioning.py), not the product's."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from onboard.adapters.db.tables import outbox_events
from onboard.device import client, provisioning
from onboard.device.client import DeviceApiError
from onboard.device.store import DeviceState
from onboard.services.ports import Services
from onboard.services.provisioning import onboarding
from onboard.services.provisioning.environments import set_environment_status
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Org, make_org, token_for
from tests.provisioning import claim_code_of, environment, group_id, key_of

GROUPS = "/api/v1/provisioning-groups"

Json = dict[str, Any]


def derive_keys(
    live_server: LiveServer, org: Org, group: str, serials: list[str], at: Path
) -> dict[str, str]:
    """D2 at the factory: `onboard groups derive-keys` run as its own process against the
    server's database, its CSV read back as serial → device key."""
    listed, keys = at / "serials.txt", at / "keys.csv"
    listed.write_text("\n".join(serials) + "\n")
    settings = live_server.settings
    env = {
        **os.environ,
        "ONBOARD_DATABASE_URL": live_server.database.url,
        "ONBOARD_SECRET_KEY": settings.secret_key.get_secret_value(),
        "ONBOARD_VAR_DIR": str(settings.var_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "onboard", "groups", "derive-keys", "--org",
         org.organization.id, "--group", group, str(listed), "--output", str(keys)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with keys.open(newline="", encoding="utf-8") as written:
        rows = list(csv.DictReader(written))
    assert [(r["group_id"], r["serial"]) for r in rows] == [(group, s) for s in serials]
    return {r["serial"]: r["device_key"] for r in rows}


def check_in(live_server: LiveServer, credential: str) -> httpx.Response:
    with live_server.client(credential) as device:
        return device.post("/device/v1/checkin", json={})


def audited(api: httpx.Client, target: str) -> list[str]:
    page = json_of(api.get("/api/v1/audit", params={"target": target, "limit": 100}))
    return [entry["action"] for entry in page["items"]]


def events_of(live_server: LiveServer, device_id: str, *organizations: str) -> list[str]:
    """P9 as the outbox holds it (the events have no API of their own yet): read with SQL,
    the organizations' events about the device, oldest first."""
    query = (
        select(outbox_events.c.type, outbox_events.c.payload)
        .where(outbox_events.c.organization_id.in_(organizations))
        .order_by(outbox_events.c.id)
    )
    with live_server.database.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [row.type for row in rows if row.payload["target"]["id"] == device_id]


def test_devices_go_from_the_factory_to_the_field_and_are_moved_and_replaced(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org, tmp_path: Path
) -> None:
    # P2: the operator's environments.
    first, second = environment(svc), environment(svc)
    company = make_org(svc)

    # D1: the group, its secret shown once.
    wanted = group_id()
    settings: Json = {
        "group_id": wanted, "name": "Meters", "environments": [first, second],
        "allocation": "hashed", "reprovision_policy": "migrate",
        "configuration": {"interval": 30}, "initial_attributes": {"site": "plant"},
        "claimants": [company.organization.id],
    }  # fmt: skip
    created = json_of(api.post(GROUPS, json=settings), 201)
    secret, group = created["secret"], created["id"]
    assert created["secondary_secret"]
    assert created["group_id"] == wanted
    shown = json_of(api.get(f"{GROUPS}/{wanted}"))
    assert not {"secret", "secondary_secret"} & set(shown)

    # D2: the factory burns a derived key into each device.
    serials = [f"SN-{n}" for n in range(1, 8)]
    keys = derive_keys(live_server, org, wanted, serials, tmp_path)
    assert keys == {s: key_of(secret, s) for s in serials}

    # D3: five serials registered with their attributes; one disabled, the group untouched.
    listed = "serial,line\n" + "".join(f"SN-{n},L{n}\n" for n in range(1, 6))
    answer = api.post(
        f"{GROUPS}/{group}/registrations", content=listed, headers={"Content-Type": "text/csv"}
    )
    assert json_of(answer)["registered"] == 5
    off = json_of(api.patch(f"{GROUPS}/{group}/registrations/SN-5", json={"enabled": False}))
    assert (off["serial"], off["enabled"]) == ("SN-5", False)
    assert json_of(api.get(f"{GROUPS}/{wanted}")) == shown

    # D5: a batch of four onboarding labels, printed from the back office.
    batch = onboarding.create_onboarding_batch(svc, org.actor, group, 4)
    printed = list(onboarding.batch_labels(svc, org.actor, group, batch.number).labels())
    public = svc.public_url.rstrip("/")
    assert [label.url for label in printed] == [
        f"{public}/o/{wanted}/SN-{n}/{claim_code_of(secret, f'SN-{n}')}" for n in range(1, 5)
    ]

    # D5: the service company scans SN-4's label and onboards it before it is powered.
    with live_server.client(token_for(svc, company.admin)) as theirs:
        claimed = json_of(
            theirs.post(
                "/api/v1/onboard",
                json={"payload": printed[3].url, "name": "Boiler room", "location": "Hall 2"},
            )
        )
        assert (claimed["serial"], claimed["name"]) == ("SN-4", "Boiler room")

        # D4: each device activates with its burned identity; the hash places it.
        states: dict[str, DeviceState] = {}
        for serial in ("SN-1", "SN-2", "SN-3", "SN-4"):
            states[serial] = provisioning.activate(
                live_server.url, wanted, serial, keys[serial],
                state_file=tmp_path / f"{serial}.json",
            )  # fmt: skip
        assert states["SN-4"].device_id == claimed["id"]
        assert {s.environment["name"] for s in states.values() if s.environment} <= {first, second}
        assert states["SN-1"].attributes == {"site": "plant", "line": "L1"}
        again = provisioning.activate(
            live_server.url, wanted, "SN-1", keys["SN-1"], state_file=tmp_path / "SN-1b.json"
        )
        assert (again.device_id, again.environment) == (
            states["SN-1"].device_id,
            states["SN-1"].environment,
        )
        assert again.credential != states["SN-1"].credential
        problem_of(check_in(live_server, states["SN-1"].credential), 401, "unauthenticated")
        states["SN-1"] = again
        for serial, code in (("SN-5", "registration_disabled"), ("SN-6", "not_registered")):
            with pytest.raises(DeviceApiError) as refused:
                provisioning.activate(
                    live_server.url, wanted, serial, keys[serial],
                    state_file=tmp_path / f"{serial}.json",
                )  # fmt: skip
            assert (refused.value.status, refused.value.code) == (403, code)
            assert not (tmp_path / f"{serial}.json").exists()
        progress = onboarding.batch_progress(svc, org.actor, group)
        assert [(p.printed, p.onboarded, p.activated) for p in progress] == [(4, 4, 4)]

        # D6 started by the device: its environment went down; activating again moves it.
        one = states["SN-1"]
        assert one.environment is not None
        set_environment_status(svc, one.environment["name"], up=False)
        try:
            moved = provisioning.activate(
                live_server.url, wanted, "SN-1", keys["SN-1"], state_file=tmp_path / "SN-1.json"
            )
        finally:
            set_environment_status(svc, one.environment["name"], up=True)
        assert moved.device_id == one.device_id
        assert moved.environment is not None
        assert moved.environment["name"] == ({first, second} - {one.environment["name"]}).pop()

        # D6 started by a member, an Administrator in both organizations.
        two = states["SN-2"]
        problem_of(
            api.post(
                f"/api/v1/devices/{two.device_id}/reprovision",
                json={"organization_id": company.organization.id},
            ),
            403,
            "permission_denied",
        )
        member = {"email": org.admin.email, "roles": ["administrator"], "password": PASSWORD}
        json_of(theirs.post("/api/v1/members", json=member), 201)
        sent = json_of(
            api.post(
                f"/api/v1/devices/{two.device_id}/reprovision",
                json={"organization_id": company.organization.id},
            )
        )
        assert sent["id"] == two.device_id
        problem_of(api.get(f"/api/v1/devices/{two.device_id}"), 404, "not_found")
        assert json_of(theirs.get(f"/api/v1/devices/{two.device_id}"))["serial"] == "SN-2"
        after, happened = client.check_in(tmp_path / "SN-2.json")
        assert after is not None
        assert any(h.startswith("reprovisioned") for h in happened)
        assert (after.device_id, after.group_id, after.serial, after.device_key) == (
            two.device_id,
            wanted,
            "SN-2",
            keys["SN-2"],
        )
        assert after.credential != two.credential
        assert check_in(live_server, after.credential).status_code == 200

    # D7: new hardware for SN-1; its old credential stops at once; the twin stays.
    body = {"serials": [{"serial": "SN-7", "attributes": {"line": "L7"}}]}
    assert json_of(api.post(f"{GROUPS}/{group}/registrations", json=body))["registered"] == 1
    renamed = json_of(api.patch(f"/api/v1/devices/{moved.device_id}", json={"name": "Meter 1"}))
    replaced = json_of(
        api.post(f"/api/v1/devices/{moved.device_id}/replace", json={"serial": "SN-7"})
    )
    assert (replaced["id"], replaced["serial"], replaced["name"]) == (
        moved.device_id,
        "SN-7",
        renamed["name"],
    )
    problem_of(check_in(live_server, moved.credential), 401, "unauthenticated")
    fresh = provisioning.activate(
        live_server.url, wanted, "SN-7", keys["SN-7"], state_file=tmp_path / "SN-7.json"
    )
    assert fresh.device_id == moved.device_id
    assert check_in(live_server, fresh.credential).status_code == 200

    # Point 7: the device's provisioning, its timeline, audit entries and events.
    seen = json_of(api.get(f"/api/v1/devices/{moved.device_id}/provisioning"))
    assert (seen["group_id"], seen["registration"]["serial"]) == (wanted, "SN-7")
    history = [e["action"] for e in seen["history"]]
    assert history == [
        "device.activated",
        "device.replaced",
        "device.reprovisioned",
        "device.reactivated",
        "device.activated",
    ]
    assert [a for a in audited(api, moved.device_id) if a in history] == history
    assert [
        e
        for e in events_of(
            live_server, moved.device_id, org.organization.id, company.organization.id
        )
        if e in history
    ] == history[::-1]
