"""The reference gateway (`onboard device enroll`, then `onboard gateway run`) as a real
client over HTTP against a real server on SQLite and PostgreSQL (SPEC C3, C4, C6, §6): an
Administrator works only through the members' API; the gateway enrolls the nodes of its
simulated radio, reports what it sees, unenrolls a deleted node, and resets itself once
its own enrollment is deleted."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from onboard.entrypoints.cli import app
from tests.answers import json_of
from tests.conftest import LiveServer
from tests.factories import unique

KEY = "k3y-0f-the-device"


def serial(prefix: str) -> str:
    return unique(prefix).replace(" ", "-")


def onboard(*args: str) -> Result:
    """`onboard ...` as a person (or a gateway's service manager) types it."""
    return CliRunner().invoke(app, list(args))


def enrollment(api: httpx.Client, number: str, kind: str, **more: Any) -> dict[str, Any]:
    body = {"serial": number, "access_key": KEY, "kind": kind, **more}
    made: dict[str, Any] = json_of(api.post("/api/v1/enrollments", json=body), 201)
    return made


def shown(api: httpx.Client, enrollment_id: str) -> dict[str, Any]:
    return json_of(api.get(f"/api/v1/enrollments/{enrollment_id}"))


def nearby(api: httpx.Client, gateway_id: str) -> dict[str, int | None]:
    found = api.get("/api/v1/nearby", params={"gateway_id": gateway_id})
    assert found.status_code == 200, found.text
    return {n["serial"]: n["rssi"] for n in found.json()}


def enroll_gateway(live_server: LiveServer, number: str, state: Path, *more: str) -> Result:
    return onboard(
        "device", "enroll", "--server", live_server.url, "--serial", number,
        "--access-key", KEY, "--state-file", str(state), *more,
    )  # fmt: skip


def run_gateway(live_server: LiveServer, state: Path, nodes: Path, rounds: int) -> Result:
    return onboard(
        "gateway", "run", "--server", live_server.url, "--state-file", str(state),
        "--nodes", str(nodes), "--interval", "0", "--rounds", str(rounds),
    )  # fmt: skip


def test_a_gateway_enrolls_its_nodes_reports_them_nearby_and_unenrolls_at_the_next_round(
    api: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    """C3 for the gateway itself; C4: a node in range with the right key is done with the
    capabilities it reported, a node with another key and one out of range fail with the
    reason, the serials in range are offered as nearby; C6: a deleted node is reset at the
    next round and its serial is offered again; one out of range is reset once it is back
    in range."""
    gateway_serial = serial("GW")
    gateway = enrollment(api, gateway_serial, "gateway", name="Hall gateway")
    state = tmp_path / "gateway" / "state.json"
    enrolled = enroll_gateway(
        live_server, gateway_serial, state, "--capability", "radio=ble",
        "--capability", "max_nodes=32",
    )  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert (shown(api, gateway["id"])["state"], shown(api, gateway["id"])["capabilities"]) == (
        "done",
        {"radio": "ble", "max_nodes": 32},
    )

    good, wrong_key, away, stranger = (serial(p) for p in ("NODE", "NODE", "NODE", "NEAR"))
    nodes = {
        n: enrollment(api, n, "node", gateway_id=gateway["id"], name=f"Sensor {n}")
        for n in (good, wrong_key, away)
    }
    radio = tmp_path / "nodes.csv"
    radio.write_text(
        "serial,access_key,rssi,capabilities\n"
        f'{good},{KEY},-48,"{{""temp"": true, ""fw"": ""2.1""}}"\n'
        f"{wrong_key},another-key-123,-60\n"
        f"{stranger},whatever-key,-75\n"
    )

    first = run_gateway(live_server, state, radio, rounds=2)

    assert first.exit_code == 0, first.output
    assert f"node {good} enrolled" in first.output
    assert first.output.count(f"node {good} enrolled") == 1  # done: no job in round two
    assert f"node {wrong_key}: enroll failed: access key rejected by the node" in first.output
    assert f"node {away}: enroll failed: node not in range" in first.output
    done = shown(api, nodes[good]["id"])
    assert (done["state"], done["capabilities"]) == ("done", {"temp": True, "fw": "2.1"})
    assert [h["state"] for h in done["history"]] == ["pending", "in_progress", "done"]
    twin = json_of(api.get(f"/api/v1/devices/{done['device_id']}"))
    assert (twin["serial"], twin["name"]) == (good, f"Sensor {good}")
    refused = shown(api, nodes[wrong_key]["id"])
    assert (refused["state"], refused["reason"]) == ("failed", "access key rejected by the node")
    missing = shown(api, nodes[away]["id"])
    assert (missing["state"], missing["reason"]) == ("failed", "node not in range")
    assert nearby(api, gateway["id"]) == {stranger: -75}  # the others have enrollments

    json_of(api.post(f"/api/v1/enrollments/{nodes[away]['id']}/retry"))
    with radio.open("a") as more:  # the node came in range
        more.write(json.dumps({"serial": away, "access_key": KEY, "rssi": -90}) + "\n")
    gone = json_of(api.delete(f"/api/v1/enrollments/{nodes[good]['id']}"))
    assert gone["state"] == "unenroll_pending"

    second = run_gateway(live_server, state, radio, rounds=1)

    assert second.exit_code == 0, second.output
    assert f"node {good} unenrolled" in second.output
    assert shown(api, nodes[good]["id"])["state"] == "unenrolled"
    late = shown(api, nodes[away]["id"])
    assert (late["state"], late["capabilities"]) == ("done", {"radio": "ble", "simulated": True})
    assert nearby(api, gateway["id"]) == {good: -48, stranger: -75}

    radio.write_text(f"{good},{KEY},-48\n")  # the last node went out of range
    json_of(api.delete(f"/api/v1/enrollments/{nodes[away]['id']}"))
    out_of_range = run_gateway(live_server, state, radio, rounds=2)
    assert out_of_range.exit_code == 0, out_of_range.output
    assert out_of_range.output.count(f"node {away}: unenroll failed: node not in range") == 2
    assert shown(api, nodes[away]["id"])["state"] == "unenroll_pending"
    radio.write_text(f"{away},{KEY},-90\n")
    back = run_gateway(live_server, state, radio, rounds=1)
    assert f"node {away} unenrolled" in back.output
    assert shown(api, nodes[away]["id"])["state"] == "unenrolled"
    assert shown(api, gateway["id"])["state"] == "done"
    assert state.exists()


def test_a_deleted_gateway_resets_itself_at_its_next_check_in_and_stops(
    api: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    """C6 for the gateway: the round's check-in says `unenroll`; the gateway deletes its
    state file, acknowledges, and runs no further round; the serial can enroll again."""
    gateway_serial = serial("GW")
    gateway = enrollment(api, gateway_serial, "gateway")
    state = tmp_path / "gateway.json"
    enrolled = enroll_gateway(live_server, gateway_serial, state)
    assert enrolled.exit_code == 0, enrolled.output
    radio = tmp_path / "nodes.jsonl"
    radio.write_text("")
    quiet = run_gateway(live_server, state, radio, rounds=1)
    assert (quiet.exit_code, quiet.output) == (0, "")

    json_of(api.delete(f"/api/v1/enrollments/{gateway['id']}"))
    last = run_gateway(live_server, state, radio, rounds=5)

    assert last.exit_code == 0, last.output
    assert last.output.splitlines() == [
        "unenrolled: the enrollment was deleted; the device factory-reset"
    ]
    assert not state.exists()
    assert shown(api, gateway["id"])["state"] == "unenrolled"
    assert enrollment(api, gateway_serial, "gateway")["state"] == "pending"
    after = run_gateway(live_server, state, radio, rounds=1)
    assert after.exit_code == 1
    assert "Not enrolled" in after.output
