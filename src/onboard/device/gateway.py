"""The reference gateway (SPEC C4, C6, §6): a device enrolled like any other (C3) that, each
round, tells the server which serials it sees nearby, fetches its jobs, enrolls or resets
its nodes over its local radio and reports each result, then checks in for itself.

The radio is simulated by a nodes file, one node a line, read again every round (edit it
to move nodes in and out of range)::

    serial,access_key,rssi[,capabilities as a JSON object]
    {"serial": "...", "access_key": "...", "rssi": -60, "capabilities": {...}}

A port replaces ``Radio`` with its Bluetooth Low Energy (or other) stack and keeps the rest.
"""

from __future__ import annotations

import csv
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from onboard.device import client, store
from onboard.device.client import DeviceApiError, NotPaired, get_list, post, session

NEARBY_PATH = "/device/v1/gateway/nearby"
JOBS_PATH = "/device/v1/gateway/jobs"
RESULT_PATH = "/device/v1/gateway/jobs/{job_id}/result"
ENROLL, UNENROLL = "enroll", "unenroll"
# §6 takes at most this many serials in one nearby report; the strongest are kept.
MAX_NEARBY = 1000
MAX_SERIAL = 100
RSSI_RANGE = range(-200, 51)
DEFAULT_CAPABILITIES: dict[str, Any] = {"radio": "ble", "simulated": True}
# A refusal of the gateway itself, not of one call: its credential is unknown (401) or is
# not a gateway's (404 on its jobs or nearby report). Running on would change nothing.
GATEWAY_REFUSED = frozenset({401, 404})


class NodesFileError(Exception):
    """The nodes file cannot be read, or a line of it is not a node."""


class NodeRefused(Exception):
    """The node did not do what the gateway asked; the message is the reason reported."""


@dataclass(frozen=True)
class Node:
    """A node as the radio sees it: its serial, the access key it holds, its signal
    strength in dBm (None when unknown) and the capabilities it reports once enrolled."""

    serial: str
    access_key: str
    rssi: int | None
    capabilities: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CAPABILITIES))


def read_nodes(path: Path) -> dict[str, Node]:
    """The nodes in range, by serial. Blank lines and lines starting with ``#`` are
    skipped, and so is a CSV header (a first column named ``serial``). Anything else that
    is not a node is an error naming its line: nothing half-read is used."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise NodesFileError(f"{path} cannot be read: {exc}") from None
    nodes: dict[str, Node] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line.split(",", 1)[0].strip() == "serial":
            continue
        try:
            node = _json_node(line) if line.startswith("{") else _csv_node(line)
        except ValueError as exc:
            raise NodesFileError(f"{path}, line {number}: {exc}") from None
        if node.serial in nodes:
            raise NodesFileError(f"{path}, line {number}: serial {node.serial} is listed twice")
        nodes[node.serial] = node
    return nodes


def _json_node(line: str) -> Node:
    try:
        raw = json.loads(line)
    except ValueError:
        raise ValueError("not valid JSON") from None
    if not isinstance(raw, dict):
        raise ValueError("a JSON line is an object")
    return _node(raw.get("serial"), raw.get("access_key"), raw.get("rssi"), raw.get("capabilities"))


def _csv_node(line: str) -> Node:
    cells = next(csv.reader([line]))
    if len(cells) < 3:
        raise ValueError("a CSV line is serial,access_key,rssi[,capabilities JSON]")
    rssi = cells[2].strip()
    if rssi and not rssi.lstrip("-").isdigit():
        raise ValueError(f"rssi {rssi!r} is not a whole number of dBm")
    # Unquoted JSON with commas inside spans the remaining cells: join them back.
    extra = ",".join(cells[3:]).strip()
    try:
        capabilities = json.loads(extra) if extra else None
    except ValueError:
        raise ValueError("the capabilities are not valid JSON") from None
    return _node(cells[0], cells[1], int(rssi) if rssi else None, capabilities)


def _node(serial: object, access_key: object, rssi: object, capabilities: object) -> Node:
    if not isinstance(serial, str) or not 1 <= len(serial.strip()) <= MAX_SERIAL:
        raise ValueError(f"a serial has 1 to {MAX_SERIAL} characters")
    serial = serial.strip()
    if any(c.isspace() or not c.isprintable() for c in serial):
        raise ValueError(f"serial {serial!r} has spaces or unprintable characters")
    if not isinstance(access_key, str) or not access_key.strip():
        raise ValueError(f"node {serial} has no access key")
    if rssi is not None and (isinstance(rssi, bool) or not isinstance(rssi, int)):
        raise ValueError(f"node {serial}: rssi is a whole number of dBm")
    if rssi is not None and rssi not in RSSI_RANGE:
        raise ValueError(f"node {serial}: rssi {rssi} is outside -200 to 50 dBm")
    if capabilities is not None and not isinstance(capabilities, dict):
        raise ValueError(f"node {serial}: the capabilities are a JSON object")
    return Node(
        serial,
        access_key.strip(),
        rssi,
        dict(DEFAULT_CAPABILITIES) if capabilities is None else capabilities,
    )


class Radio:
    """The gateway's local radio, simulated: the nodes of the nodes file are in range, and
    each remembers the settings it was enrolled with until it is reset."""

    def __init__(self, nodes_file: Path) -> None:
        self.nodes_file = nodes_file
        self.nodes = read_nodes(nodes_file)
        self.enrolled: dict[str, dict[str, Any]] = {}

    def scan(self) -> None:
        """Read the nodes file again (NodesFileError keeps the previous neighbourhood)."""
        self.nodes = read_nodes(self.nodes_file)

    def sightings(self) -> list[dict[str, Any]]:
        """The serials in range with their signal strength, strongest first (§6)."""
        ranked = sorted(self.nodes.values(), key=lambda n: -n.rssi if n.rssi is not None else 999)
        return [{"serial": n.serial, "rssi": n.rssi} for n in ranked[:MAX_NEARBY]]

    def enroll(self, serial: str, access_key: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Enroll a node locally: it accepts only the access key it holds (compared in
        constant time, as a node would) and answers its capabilities."""
        node = self.nodes.get(serial)
        if node is None:
            raise NodeRefused("node not in range")
        if not hmac.compare_digest(node.access_key.encode(), access_key.strip().encode()):
            raise NodeRefused("access key rejected by the node")
        self.enrolled[serial] = settings
        return node.capabilities

    def reset(self, serial: str) -> None:
        """Factory-reset a node (C6): it forgets its enrollment."""
        if serial not in self.nodes:
            raise NodeRefused("node not in range")
        self.enrolled.pop(serial, None)


def report_nearby(http: httpx.Client, radio: Radio) -> None:
    """POST /device/v1/gateway/nearby: what the radio sees now replaces the last report."""
    post(http, NEARBY_PATH, {"serials": radio.sightings()})


def do_job(http: httpx.Client, radio: Radio, job: dict[str, Any]) -> str:
    """Do one job on the radio and report its result (C4, C6); returns what happened. A
    node's refusal is a result (ok false, with the reason); an unenrollment the node did
    not take comes back in the next round's jobs, until it is in range."""
    job_id, kind, serial = job.get("id"), job.get("type"), str(job.get("serial"))
    settings = job.get("settings")
    body: dict[str, Any] = {"ok": True}
    try:
        if kind == ENROLL:
            body["capabilities"] = radio.enroll(
                serial,
                str(job.get("access_key") or ""),
                settings if isinstance(settings, dict) else {},
            )
            done = f"node {serial} enrolled"
        elif kind == UNENROLL:
            radio.reset(serial)
            done = f"node {serial} unenrolled: it factory-reset"
        else:
            return f"job {job_id}: type {kind!r} not understood, skipped"
    except NodeRefused as exc:
        body = {"ok": False, "error": str(exc)}
        done = f"node {serial}: {kind} failed: {exc}"
    try:
        post(http, RESULT_PATH.format(job_id=job_id), body)
    except DeviceApiError as exc:
        if exc.transient or exc.status == 401:
            raise
        return f"node {serial}: the server refused the result: {exc.detail}"
    return done


def serve_nodes(http: httpx.Client, radio: Radio, report: Callable[[str], None]) -> None:
    """A round's work for the nodes: the nearby report, then every job. Raises
    DeviceApiError when the server cannot be reached or refuses the gateway itself."""
    try:
        radio.scan()
    except NodesFileError as exc:
        report(f"nodes file not read again, the last one read stands: {exc}")
    try:
        report_nearby(http, radio)
    except DeviceApiError as exc:
        if exc.transient or exc.status in GATEWAY_REFUSED:
            raise
        report(f"nearby report refused: {exc.detail}")
    for job in get_list(http, JOBS_PATH):
        report(do_job(http, radio, job))


def run(
    state_file: Path,
    nodes_file: Path,
    *,
    interval: float,
    rounds: int | None = None,
    server: str | None = None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Serve the nodes and check in, every ``interval`` seconds (``rounds`` times, or until
    the gateway itself is unenrolled). A server that cannot be reached or fails for now is
    tried again next round (after its Retry-After when it sent one); a refusal of the
    gateway's credential ends the loop with DeviceApiError. ``server`` replaces the one
    the gateway enrolled with (another address of the same server)."""
    radio = Radio(nodes_file)
    done = 0
    while rounds is None or done < rounds:
        state = store.load(state_file)
        if state is None:
            raise NotPaired(f"Not enrolled: {state_file} holds no credential.")
        wait = interval
        try:
            with session(server or state.server, state.credential, transport=transport) as http:
                serve_nodes(http, radio, report)
            after, happened = client.check_in(state_file, server=server, transport=transport)
        except DeviceApiError as exc:
            if not exc.transient:
                raise
            report(f"round failed, trying again next round: {exc.detail}")
            after, happened = state, []
            wait = max(interval, exc.retry_after or 0)
        for line in happened:
            report(line)
        if after is None:
            return
        done += 1
        if rounds is None or done < rounds:
            sleep(wait)
