"""Issue 7's check, as a script would run it against a real server on SQLite and
PostgreSQL (SPEC Part C): an Administrator works only through the members' API, the
gateway and a direct device are the reference clients (`onboard device enroll`, `onboard
gateway run`, `onboard device run`). A gateway enrolls directly; nodes go through it one by
one and in a batch of 100,000 (PostgreSQL; 20,000 on SQLite); their states move as the
gateway works; deleted nodes and a deleted direct device get their unenrollment at their
next connection and complete it; every forbidden role combination is refused; malformed
lists are refused row by row and change nothing."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import Result

from onboard.domain.access import Role
from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.e2e.test_reference_gateway import (
    KEY,
    enroll_gateway,
    enrollment,
    onboard,
    run_gateway,
    serial,
    shown,
)
from tests.factories import Org, make_member, token_for

HEADER = "serial,access_key,kind,gateway_id,name,location\n"
# Nodes of the batch the simulated radio has in range: two rounds of the gateway's jobs.
IN_RANGE = 200


def batch_size(live_server: LiveServer) -> int:
    """100,000 as the issue asks on PostgreSQL; SQLite, the embedded default, gets a fifth
    of it to keep the suite's time in bounds (the PostgreSQL run is the one that counts)."""
    return 100_000 if live_server.database.backend == "postgresql" else 20_000


def the(api: httpx.Client, number: str) -> dict[str, Any]:
    """The live enrollment of a serial, found as a member would: by the list's filter."""
    found = json_of(api.get("/api/v1/enrollments", params={"serial": number}))["items"]
    live = [e for e in found if e["state"] != "unenrolled"]
    assert len(live) == 1, found
    return live[0]


def batch(api: httpx.Client, body: bytes, mode: str = "all", **headers: str) -> httpx.Response:
    return api.post(
        "/api/v1/enrollments/batch",
        params={"mode": mode},
        content=body,
        headers={"Content-Type": "text/csv", **headers},
        timeout=600,
    )


def ran(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_a_gateway_enrolls_nodes_one_by_one_and_in_a_batch_and_unenrolls_the_deleted(
    api: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    # The gateway enrolls directly (C3).
    gateway_serial = serial("GW")
    gateway = enrollment(api, gateway_serial, "gateway", name="Hall gateway")
    state = tmp_path / "gateway.json"
    ran(enroll_gateway(live_server, gateway_serial, state, "--capability", "radio=ble"))
    assert shown(api, gateway["id"])["state"] == "done"

    # Nodes one by one (C1, C4): pending until the gateway's next round.
    singles = [serial("ONE") for _ in range(3)]
    for number in singles:
        enrollment(api, number, "node", gateway_id=gateway["id"])
    assert {the(api, n)["state"] for n in singles} == {"pending"}

    # A batch through the same gateway, named by its serial (C7).
    size = batch_size(live_server)
    prefix = serial("BATCH")
    rows = [f"{prefix}-{n:06d}" for n in range(size)]
    listed = HEADER + "".join(f"{r},key-{r},node,{gateway_serial},,Hall\n" for r in rows)
    report = json_of(batch(api, listed.encode()))
    assert (report["accepted"], report["rejected"]) == (size, [])
    assert the(api, rows[0])["state"] == the(api, rows[-1])["state"] == "pending"
    assert the(api, rows[-1])["gateway_id"] == gateway["id"]

    # The gateway works through its jobs, oldest first: the single nodes, then the batch.
    radio = tmp_path / "radio.csv"
    radio.write_text(
        "serial,access_key,rssi\n"
        + "".join(f"{n},{KEY},-55\n" for n in singles)
        + "".join(f"{r},key-{r},-60\n" for r in rows[:IN_RANGE]),
        encoding="utf-8",
    )
    worked = ran(run_gateway(live_server, state, radio, rounds=3))
    assert worked.count(" enrolled") == len(singles) + IN_RANGE
    for number in (*singles, rows[0], rows[IN_RANGE - 1]):
        done = the(api, number)
        assert done["state"] == "done"
        history = json_of(api.get(f"/api/v1/enrollments/{done['id']}"))["history"]
        assert [h["state"] for h in history] == ["pending", "in_progress", "done"]
    # The third round's jobs went past the radio's range: those failed with the reason.
    out_of_range = the(api, rows[IN_RANGE])
    assert (out_of_range["state"], out_of_range["reason"]) == ("failed", "node not in range")
    assert the(api, rows[-1])["state"] == "pending"
    retried = json_of(api.post(f"/api/v1/enrollments/{out_of_range['id']}/retry"))
    assert retried["state"] == "pending"

    # Deletion (C6): twins go at once; what reached its device waits for the next round.
    reached = [the(api, singles[0]), the(api, rows[0])]
    never = the(api, rows[size // 2])
    for record in reached:
        gone = json_of(api.delete(f"/api/v1/enrollments/{record['id']}"))
        assert gone["state"] == "unenroll_pending"
        problem_of(api.get(f"/api/v1/devices/{record['device_id']}"), 404, "not_found")
    assert json_of(api.delete(f"/api/v1/enrollments/{never['id']}"))["state"] == "unenrolled"

    next_round = ran(run_gateway(live_server, state, radio, rounds=1))
    for record in reached:
        assert f"node {record['serial']} unenrolled" in next_round
        assert shown(api, record["id"])["state"] == "unenrolled"
    # The serials are free again.
    again = enrollment(api, reached[0]["serial"], "node", gateway_id=gateway["id"])
    assert again["state"] == "pending"


def test_a_deleted_direct_device_is_unenrolled_at_its_next_check_in(
    api: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    number = serial("METER")
    made = enrollment(api, number, "direct")
    state = tmp_path / "meter.json"
    ran(enroll_gateway(live_server, number, state))
    ran(onboard("device", "run", "--state-file", str(state), "--once"))
    assert shown(api, made["id"])["state"] == "done"

    json_of(api.delete(f"/api/v1/enrollments/{made['id']}"))
    assert shown(api, made["id"])["state"] == "unenroll_pending"
    told = ran(onboard("device", "run", "--state-file", str(state), "--once"))

    assert "unenroll" in told
    assert shown(api, made["id"])["state"] == "unenrolled"
    assert not state.exists(), "the device factory-reset: its state is gone"


def _combinations() -> list[tuple[str, ...]]:
    roles = [r.value for r in Role]
    return [c for k in range(1, len(roles) + 1) for c in itertools.combinations(roles, k)]


def test_every_role_combination_without_c8_is_refused_and_the_others_may(
    api: httpx.Client, live_server: LiveServer, svc: Services, org: Org
) -> None:
    """C8 for all 31 combinations of the five roles: create, import and delete."""
    target = enrollment(api, serial("C8"), "direct")
    for roles in _combinations():
        allowed = "administrator" in roles or {"device_manager", "iot_manager"} <= set(roles)
        member = make_member(svc, org, roles=list(roles))
        with live_server.client(token_for(svc, member)) as client:
            body = {"serial": serial("C8"), "access_key": KEY, "kind": "direct"}
            created = client.post("/api/v1/enrollments", json=body)
            imported = batch(client, f"{HEADER}{serial('C8')},{KEY},direct,,,\n".encode())
            if allowed:
                assert created.status_code == 201, (roles, created.text)
                assert imported.status_code == 200, (roles, imported.text)
                continue
            for refused in (
                created,
                imported,
                client.delete(f"/api/v1/enrollments/{target['id']}"),
            ):
                problem_of(refused, 403, "enrollment_forbidden")
    assert shown(api, target["id"])["state"] == "pending"


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"name,colour\nPump,red\n", "text/csv", "colour"),
        (HEADER.encode() + b"SN-\xff\xfe,key-1234,direct,,,\n", "text/csv", "UTF-8"),
        (b"", "text/csv", ""),
        (
            b'{"serial": "SN-1", "access_key": "key-1234", "kind": "direct"',
            "application/x-ndjson",
            "",
        ),
    ],
    ids=["unknown column", "not utf-8", "empty", "broken json"],
)
def test_a_list_that_cannot_be_read_is_refused_whole(
    api: httpx.Client, body: bytes, content_type: str, detail: str
) -> None:
    answer = batch(api, body, **{"Content-Type": content_type})
    problem = answer.json()
    assert answer.status_code == 422, answer.text
    assert problem["code"] in ("malformed", "import_refused", "invalid"), problem
    assert detail in answer.text


def test_malformed_rows_are_reported_row_by_row_and_change_nothing_in_mode_all(
    api: httpx.Client,
) -> None:
    gateway = enrollment(api, serial("GW"), "gateway")
    taken = enrollment(api, serial("TAKEN"), "direct")
    twice, fine = serial("TWICE"), serial("FINE")
    listed = (
        HEADER
        + f"{fine},{KEY},node,{gateway['id']},,\n"  # 1: valid
        + f"bad serial,{KEY},direct,,,\n"  # 2: malformed serial
        + f"{serial('K')},short,direct,,,\n"  # 3: malformed key
        + f"{serial('KIND')},{KEY},toaster,,,\n"  # 4: malformed kind
        + f"{twice},{KEY},direct,,,\n"  # 5 and 6: duplicate in the list
        + f"{twice},{KEY},direct,,,\n"
        + f"{taken['serial']},{KEY},direct,,,\n"  # 7: enrolled already
        + f"{serial('LOST')},{KEY},node,no-such-gateway,,\n"  # 8: unknown gateway
    )

    refused = batch(api, listed.encode())

    problem = problem_of(refused, 422, "import_refused")
    codes = {r["row"]: r["code"] for r in problem["rejected"]}
    assert codes == {
        2: "malformed",
        3: "malformed",
        4: "malformed",
        5: "duplicate_in_list",
        6: "duplicate_in_list",
        7: "already_enrolled",
        8: "unknown_gateway",
    }
    assert json_of(api.get("/api/v1/enrollments", params={"serial": fine}))["items"] == []

    partial = json_of(batch(api, listed.encode(), mode="valid"))
    assert partial["accepted"] == 1
    assert the(api, fine)["gateway_id"] == gateway["id"]
    rerun = json_of(batch(api, listed.encode(), mode="valid"))
    assert rerun["accepted"] == 0
    assert {r["code"] for r in rerun["rejected"] if r["row"] == 1} == {"already_enrolled"}
