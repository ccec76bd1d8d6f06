"""The reference client's enrollment and gateway (`onboard device enroll`, `onboard device
run`, `onboard gateway run`) against a real server over HTTP on SQLite and PostgreSQL, and
against servers that fail (SPEC C3, C4, C6, §6): the proof is the one §6 defines, the
credential is kept 0600 and never printed, a refusal is explained and stores nothing, an
unenrolled device factory-resets, and a gateway outlives a server that fails for a while."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from onboard.device import enrollment as device_enrollment
from onboard.device import gateway, store
from onboard.device.client import DeviceApiError
from onboard.device.gateway import Node, NodesFileError, read_nodes
from onboard.domain.enrollment import DeviceKind, EnrollmentState, enroll_signature
from onboard.domain.values import digest_secret
from onboard.entrypoints.cli import app
from onboard.services import enrollments
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import Services
from tests.conftest import LiveServer
from tests.factories import Org, make_org, unique

S = EnrollmentState
KEY = "k3y-0f-the-device"


@pytest.fixture
def svc(live_server: LiveServer) -> Services:
    """The services over the live server's database (not a database of the test's own)."""
    return live_server.container.services


@pytest.fixture
def org(svc: Services) -> Org:
    return make_org(svc)


def serial(prefix: str = "SN") -> str:
    return unique(prefix).replace(" ", "-")


def onboard(*args: str, stdin: str | None = None) -> Result:
    """`onboard ...` as a person types it."""
    return CliRunner().invoke(app, list(args), input=stdin)


def waiting(svc: Services, org: Org, number: str, kind: DeviceKind = DeviceKind.DIRECT) -> str:
    """An enrollment an Administrator made for ``number``: its id."""
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput(number, KEY, kind, name=f"Meter {number}")
    )
    return made.id


def enroll(
    live_server: LiveServer, number: str, state_file: Path, *more: str, stdin: str | None = None
) -> Result:
    return onboard(
        "device", "enroll", "--server", live_server.url, "--serial", number,
        "--state-file", str(state_file), *more, stdin=stdin,
    )  # fmt: skip


# --- the proof (§6) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "number", "expires"),
    [(KEY, "SN-1", 1_700_000_000), ("ключ-ü-1234", "Zähler/7", 0), (" spaced ", "X", 42)],
)
def test_the_clients_proof_is_the_one_the_server_recomputes(
    key: str, number: str, expires: int
) -> None:
    """§6: b64(HMAC-SHA256(UTF-8 access key, UTF-8 serial + "\\n" + expires)), written
    again in the client (it imports nothing of the server) and equal to the server's."""
    assert device_enrollment.enroll_proof(key, number, expires) == enroll_signature(
        key, number, expires
    )


# --- onboard device enroll (C3) -----------------------------------------------------------


def test_a_direct_device_enrolls_from_the_command_line_and_is_done_with_its_capabilities(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    """C3: the proof brings the credential (kept 0600, never printed) and the settings;
    the capabilities given complete the enrollment and show on the record."""
    number = serial()
    enrollment_id = waiting(svc, org, number)
    state_file = tmp_path / "state" / "device.json"

    result = enroll(
        live_server, number, state_file, "--access-key", KEY,
        "--capability", "relays=2", "--capability", "fw=1.4.2", "--capability", "ble=true",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    saved = json.loads(state_file.read_text())
    assert (saved["server"], saved["enrollment_id"], saved["serial"]) == (
        live_server.url,
        enrollment_id,
        number,
    )
    assert saved["settings"]["name"] == f"Meter {number}"
    assert saved["credential"] not in result.output
    assert saved["device_id"] in result.output
    assert str(state_file) in result.output
    record = enrollments.get_enrollment(svc, org.actor, enrollment_id)
    assert (record.state, record.device_id) == (S.DONE, saved["device_id"])
    assert record.capabilities == {"relays": 2, "fw": "1.4.2", "ble": True}
    with svc.uow() as uow:
        holder = uow.enrollments.by_credential(digest_secret(saved["credential"]))
    assert holder is not None
    assert holder.id == enrollment_id
    assert store.load(state_file) == store.DeviceState(**saved)


def test_without_capabilities_given_the_machine_reports_its_own(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    """The access key can come from standard input, out of the shell's history."""
    number = serial()
    enrollment_id = waiting(svc, org, number)

    result = enroll(live_server, number, tmp_path / "d.json", "--access-key", "-", stdin=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    capabilities = enrollments.get_enrollment(svc, org.actor, enrollment_id).capabilities
    assert capabilities is not None
    assert {"hardware_id", "os", "arch", "client"} <= set(capabilities)


@pytest.mark.parametrize(
    ("key", "known", "shown"),
    [
        ("another-key-000", True, ["invalid_signature", "check the key on the device's label"]),
        (KEY, False, ["not_enrolled", "create one first"]),
    ],
)
def test_a_refused_enrollment_exits_non_zero_explains_the_problem_and_stores_nothing(
    svc: Services,
    org: Org,
    live_server: LiveServer,
    tmp_path: Path,
    key: str,
    known: bool,
    shown: list[str],
) -> None:
    number = serial()
    enrollment_id = waiting(svc, org, number) if known else None
    state_file = tmp_path / "device.json"

    result = enroll(live_server, number, state_file, "--access-key", key)

    assert result.exit_code == 1
    for text in shown:
        assert text in result.output
    assert not state_file.exists()
    if enrollment_id is not None:
        assert enrollments.get_enrollment(svc, org.actor, enrollment_id).state is S.PENDING


def test_a_device_whose_clock_is_wrong_is_told_its_proof_expired(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    number = serial()
    waiting(svc, org, number)
    state_file = tmp_path / "device.json"

    with pytest.raises(DeviceApiError) as refused:
        device_enrollment.enroll(
            live_server.url, number, KEY, state_file=state_file, capabilities={},
            now=lambda: time.time() - 7200,
        )  # fmt: skip

    assert (refused.value.status, refused.value.code) == (401, "signature_expired")
    assert not state_file.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capability", "relays"], "is not key=value"),
        (["--capability", "=2"], "is not key=value"),
        (["--capability", "a=1", "--capability", "a=2"], "given twice"),
    ],
)
def test_malformed_capabilities_exit_2_before_anything_is_sent(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = onboard(
        "device", "enroll", "--server", "http://127.0.0.1:9", "--serial", "SN-1",
        "--access-key", KEY, "--state-file", str(tmp_path / "d.json"), *args,
    )  # fmt: skip

    assert result.exit_code == 2
    assert message in result.output


def test_an_unreachable_server_exits_non_zero_and_stores_nothing(tmp_path: Path) -> None:
    state_file = tmp_path / "device.json"

    result = onboard(
        "device", "enroll", "--server", "http://127.0.0.1:9", "--serial", "SN-1",
        "--access-key", KEY, "--state-file", str(state_file),
    )  # fmt: skip

    assert result.exit_code == 1
    assert "cannot be reached" in result.output
    assert not state_file.exists()


# --- onboard device run: unenroll (C6) -----------------------------------------------------


def test_an_enrolled_device_factory_resets_at_the_check_in_after_its_deletion(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    """C6: quiet check-ins while enrolled; once deleted, the next check-in deletes the
    state file, acknowledges (the record is unenrolled) and stops; the serial can enroll
    again."""
    number = serial()
    enrollment_id = waiting(svc, org, number)
    state_file = tmp_path / "device.json"
    assert enroll(live_server, number, state_file, "--access-key", KEY).exit_code == 0

    quiet = onboard("device", "run", "--once", "--state-file", str(state_file))
    assert (quiet.exit_code, quiet.output) == (0, "")

    enrollments.delete_enrollment(svc, org.actor, enrollment_id)
    reset = onboard("device", "run", "--state-file", str(state_file), "--interval", "1")

    assert reset.exit_code == 0, reset.output
    assert "unenrolled" in reset.output
    assert not state_file.exists()
    assert enrollments.get_enrollment(svc, org.actor, enrollment_id).state is S.UNENROLLED
    again = onboard("device", "run", "--once", "--state-file", str(state_file))
    assert again.exit_code == 1
    assert "Not paired or enrolled" in again.output
    waiting(svc, org, number)
    assert enroll(live_server, number, state_file, "--access-key", KEY).exit_code == 0


# --- onboard gateway run (C4) -------------------------------------------------------------


def test_the_nodes_file_reads_csv_and_json_lines_with_optional_capabilities(
    tmp_path: Path,
) -> None:
    radio = tmp_path / "nodes.txt"
    radio.write_text(
        "# the hall\n"
        "serial,access_key,rssi,capabilities\n"
        "N-1,key-one,-40\n"
        '  N-2 , key-two ,, {"temp": true, "hum": 1}\n'
        '\n{"serial": "N-3", "access_key": "key-3", "rssi": null, "capabilities": {"a": 1}}\n'
    )

    found = read_nodes(radio)

    assert found == {
        "N-1": Node("N-1", "key-one", -40),
        "N-2": Node("N-2", "key-two", None, {"temp": True, "hum": 1}),
        "N-3": Node("N-3", "key-3", None, {"a": 1}),
    }
    assert found["N-1"].capabilities == {"radio": "ble", "simulated": True}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("N-1,key", "line 2: a CSV line is serial,access_key,rssi"),
        ("N-1,key,loud", "line 2: rssi 'loud' is not a whole number"),
        ("N-1,key,-500", "outside -200 to 50 dBm"),
        ("N 1,key,-50", "has spaces"),
        ("N-2,,-50", "node N-2 has no access key"),
        ("N-2,key,-50,{not json}", "capabilities are not valid JSON"),
        ("N-2,key,-50,[1]", "capabilities are a JSON object"),
        ('{"serial": "N-2", "access_key": "k", "rssi": "-5"}', "rssi is a whole number"),
        ('{"serial": "N-2"', "line 2: not valid JSON"),
        ("N-0,key,-50", "line 2: serial N-0 is listed twice"),
    ],
)
def test_a_nodes_file_that_is_not_a_list_of_nodes_is_refused_naming_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    radio = tmp_path / "nodes.csv"
    radio.write_text(f"N-0,key,-50\n{line}\n")

    with pytest.raises(NodesFileError) as refused:
        read_nodes(radio)

    assert problem in str(refused.value)
    result = onboard("gateway", "run", "--nodes", str(radio), "--state-file", str(tmp_path / "g"))
    assert result.exit_code == 2
    assert problem in result.output


def enrolled_gateway(svc: Services, org: Org, live_server: LiveServer, state: Path) -> str:
    number = serial("GW")
    enrollment_id = waiting(svc, org, number, DeviceKind.GATEWAY)
    assert enroll(live_server, number, state, "--access-key", KEY).exit_code == 0
    return enrollment_id


def test_a_gateway_run_without_enrollment_or_as_a_direct_device_stops_with_a_message(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    radio = tmp_path / "nodes.csv"
    radio.write_text("N-1,key-one,-40\n")
    state = tmp_path / "device.json"
    args = [
        "gateway", "run", "--nodes", str(radio), "--state-file", str(state),
        "--interval", "0", "--rounds", "2",
    ]  # fmt: skip

    nothing = onboard(*args)
    number = serial()
    waiting(svc, org, number)
    assert enroll(live_server, number, state, "--access-key", KEY).exit_code == 0
    direct = onboard(*args)

    assert nothing.exit_code == 1
    assert "Not enrolled" in nothing.output
    assert direct.exit_code == 1
    assert "is not enrolled as a gateway" in direct.output


def test_a_gateway_keeps_its_rounds_while_the_server_cannot_be_reached(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    """A transient failure is logged and the round tried again; the gateway does not
    stop, and works on once the server is back."""
    state = tmp_path / "gateway.json"
    enrolled_gateway(svc, org, live_server, state)
    radio = tmp_path / "nodes.csv"
    radio.write_text("N-1,key-one,-40\n")
    lines: list[str] = []
    sleeps: list[float] = []

    gateway.run(
        state, radio, interval=2, rounds=3, server="http://127.0.0.1:9",
        report=lines.append, sleep=sleeps.append,
    )  # fmt: skip

    assert len(lines) == 3
    assert all(line.startswith("round failed, trying again next round") for line in lines)
    assert sleeps == [2, 2]
    assert state.exists()
    back = onboard("gateway", "run", "--nodes", str(radio), "--state-file", str(state),
                   "--interval", "0", "--rounds", "1")  # fmt: skip
    assert (back.exit_code, back.output) == (0, "")


def failing_then_refusing(calls: list[str]) -> httpx.MockTransport:
    """A server that answers 503 with Retry-After twice, then a credential it does not
    know any more."""

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if len(calls) <= 2:
            return httpx.Response(503, headers={"Retry-After": "7"}, text="<h1>down</h1>")
        problem = {"code": "unauthenticated", "detail": "Unknown device credential."}
        return httpx.Response(401, json=problem)

    return httpx.MockTransport(answer)


def test_a_failing_server_is_waited_for_and_a_refused_credential_ends_the_run(
    tmp_path: Path,
) -> None:
    """429 and 5xx are transient: the next round comes after Retry-After; a 401 is the
    gateway's own refusal and stops it with the server's detail."""
    state = tmp_path / "gateway.json"
    store.save(
        state,
        store.DeviceState("http://gateway.test", "dev-1", "secret", None, None, "enr-1", "GW-1"),
    )
    radio = tmp_path / "nodes.csv"
    radio.write_text("N-1,key-one,-40\n")
    lines: list[str] = []
    sleeps: list[float] = []
    calls: list[str] = []

    with pytest.raises(DeviceApiError) as stopped:
        gateway.run(
            state, radio, interval=1, report=lines.append, sleep=sleeps.append,
            transport=failing_then_refusing(calls),
        )  # fmt: skip

    assert (
        lines
        == [
            "round failed, trying again next round: The server answered HTTP 503.",
        ]
        * 2
    )
    assert sleeps == [7, 7]
    assert calls == ["POST /device/v1/gateway/nearby"] * 3
    assert (stopped.value.status, stopped.value.code) == (401, "unauthenticated")
    assert state.exists()


def test_a_nodes_file_broken_while_running_keeps_the_last_neighbourhood(tmp_path: Path) -> None:
    """The file is read again each round; a broken one is reported and the nodes last
    read stay in range."""
    state = tmp_path / "gateway.json"
    store.save(state, store.DeviceState("http://gateway.test", "dev-1", "secret", None, None))
    radio = tmp_path / "nodes.csv"
    radio.write_text("N-1,key-one,-40\n")
    reported: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == gateway.NEARBY_PATH:
            reported.append(json.loads(request.content)["serials"])
            radio.write_text("N-1,key-one\n")  # someone is editing the file
            return httpx.Response(200, json={"reported": 1})
        if request.url.path == gateway.JOBS_PATH:
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"configuration": None, "commands": []})

    lines: list[str] = []
    gateway.run(
        state, radio, interval=0, rounds=2, report=lines.append, sleep=lambda _: None,
        transport=httpx.MockTransport(answer),
    )  # fmt: skip

    assert reported == [[{"serial": "N-1", "rssi": -40}]] * 2
    assert len(lines) == 1
    assert lines[0].startswith("nodes file not read again, the last one read stands:")
    assert "line 1: a CSV line is serial,access_key,rssi" in lines[0]
