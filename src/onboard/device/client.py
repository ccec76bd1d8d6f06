"""The device's calls to the server (SPEC §6), one function each, over plain HTTP with JSON
bodies: a port needs an HTTP client, a JSON parser and a file to keep the credential in.
Pairing (Part B) is here, and the check-in every paired, enrolled or provisioned device
makes; enrolling is in ``enrollment``, activating in ``provisioning``, the gateway's round
in ``gateway``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from onboard.device import store
from onboard.device.store import DeviceState

PAIR_PATH = "/device/v1/pair"
CHECKIN_PATH = "/device/v1/checkin"
UNPAIR = "unpair"
UNENROLL = "unenroll"
REPROVISION = "reprovision"
TIMEOUT_SECONDS = 30.0


class DeviceApiError(Exception):
    """The server could not be reached, or refused the call. ``status`` and ``code`` are
    the problem's (SPEC P10), None when there was no answer; ``retry_after`` is set on 429."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer at all, too many calls (429), or the
        server failing (5xx, a restart or a proxy in front of it)."""
        return self.status is None or self.status == 429 or self.status >= 500


class NotPaired(DeviceApiError):
    """There is no credential to check in with: pair or enroll first."""

    @property
    def transient(self) -> bool:
        return False


@dataclass(frozen=True)
class Pairing:
    """The server's answer to a pairing (B5); the credential is shown this once."""

    device_id: str
    credential: str
    license_id: str
    configuration: dict[str, Any] | None


def session(
    server: str, credential: str | None = None, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An HTTP client for ``server``; with a credential, every call carries it as
    ``Authorization: Bearer`` (§6)."""
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.Client(
        base_url=server, headers=headers, timeout=TIMEOUT_SECONDS, transport=transport
    )


def server_of(scanned: str) -> str | None:
    """The server a scanned pairing link points at (``scheme://host[:port]``); None for a
    bare code, which does not say where it came from."""
    parts = urlsplit(scanned.strip())
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return f"{parts.scheme.lower()}://{parts.netloc}"
    return None


def request_pairing(
    http: httpx.Client,
    scanned: str,
    hardware_id: str,
    *,
    model: str | None = None,
    os_name: str | None = None,
    app_version: str | None = None,
) -> Pairing:
    """POST /device/v1/pair with what was scanned and who this device is."""
    body = {
        "code": scanned,
        "hardware_id": hardware_id,
        "model": model,
        "os": os_name,
        "app_version": app_version,
    }
    answer = post(http, PAIR_PATH, body)
    try:
        return Pairing(
            device_id=str(answer["device_id"]),
            credential=str(answer["credential"]),
            license_id=str(answer["license_id"]),
            configuration=answer.get("configuration"),
        )
    except (KeyError, TypeError):
        raise DeviceApiError("The server's answer to pairing is incomplete.") from None


def pair(
    server_url: str,
    scanned: str,
    hardware_id: str,
    *,
    state_file: Path,
    model: str | None = None,
    os_name: str | None = None,
    app_version: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> DeviceState:
    """Pair with the server and keep what it answered in ``state_file`` (0600). Pairing
    again from the same hardware is safe: the server keeps the device and its license and
    issues a new credential, which replaces the stored one."""
    server = server_url.rstrip("/")
    with session(server, transport=transport) as http:
        pairing = request_pairing(
            http, scanned, hardware_id, model=model, os_name=os_name, app_version=app_version
        )
    state = DeviceState(
        server=server,
        device_id=pairing.device_id,
        credential=pairing.credential,
        license_id=pairing.license_id,
        configuration=pairing.configuration,
    )
    store.save(state_file, state)
    return state


def check_in(
    state_file: Path,
    *,
    server: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> tuple[DeviceState | None, list[str]]:
    """One check-in (§6): send the ETag of the configuration this device runs; keep a new
    configuration when the server sends one (B8); on ``unpair`` acknowledge it and forget
    the credential (B9); on ``unenroll`` factory-reset and acknowledge (C6); on
    ``reprovision`` activate again and acknowledge with the new credential (D6). Returns the
    state afterwards (None once unpaired or unenrolled) and what happened, a line each.
    ``server`` replaces the one in the state file (another address of the same server)."""
    state = store.load(state_file)
    if state is None:
        raise NotPaired(f"Not paired or enrolled: {state_file} holds no credential.")
    etag = (state.configuration or {}).get("etag")
    happened: list[str] = []
    with session(server or state.server, state.credential, transport=transport) as http:
        answer = post(http, CHECKIN_PATH, {"configuration_etag": etag})
        configuration = answer.get("configuration")
        if isinstance(configuration, dict):
            state = replace(state, configuration=configuration)
            store.save(state_file, state)
            happened.append(f"configuration {configuration.get('id')} applied")
        for command in answer.get("commands") or []:
            ack = f"/device/v1/commands/{command.get('id')}/ack"
            if command.get("type") == UNPAIR:
                post(http, ack, {"ok": True})
                state_file.unlink(missing_ok=True)
                happened.append("unpaired: the device was removed; its credential is forgotten")
                return None, happened
            if command.get("type") == UNENROLL:
                happened.append(unenroll(http, state_file, ack))
                return None, happened
            if command.get("type") == REPROVISION and state.group_id and state.device_key:
                state = reprovision(state, state_file, server, transport)
                with session(server or state.server, state.credential, transport=transport) as new:
                    post(new, ack, {"ok": True})
                where = (state.environment or {}).get("name") or "no environment"
                happened.append(f"reprovisioned: activated again, now in {where}")
                continue
            post(http, ack, {"ok": False, "error": f"unknown command {command.get('type')!r}"})
            happened.append(f"command {command.get('type')!r} not understood")
    return state, happened


def reprovision(
    state: DeviceState,
    state_file: Path,
    server: str | None,
    transport: httpx.BaseTransport | None,
) -> DeviceState:
    """D6: the device was moved; it activates again with the identity burned into it,
    which tells it where it now belongs and gives it a new credential."""
    # Imported here: activation is built on this module's calls.
    from onboard.device import provisioning

    if not (state.group_id and state.serial and state.device_key):
        raise NotPaired(f"{state_file} holds no provisioning identity to activate with.")
    return provisioning.activate(
        server or state.server, state.group_id, state.serial, state.device_key,
        state_file=state_file, transport=transport,
    )  # fmt: skip


def unenroll(http: httpx.Client, state_file: Path, ack: str) -> str:
    """C6: the enrollment was deleted. Factory-reset first (the state file, and with it the
    credential, is gone: this device is no longer anyone's), then acknowledge with the
    credential still in memory, which ends the enrollment on the server and frees the
    serial. Returns what happened."""
    state_file.unlink(missing_ok=True)
    try:
        post(http, ack, {"ok": True})
    except DeviceApiError as exc:
        return (
            "unenrolled: the device factory-reset, but the server did not take the "
            f"acknowledgement ({exc.detail}); its enrollment stays 'unenroll pending'"
        )
    return "unenrolled: the enrollment was deleted; the device factory-reset"


def run(
    state_file: Path,
    *,
    interval: float,
    rounds: int | None = None,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Check in every ``interval`` seconds (``rounds`` times, or until unpaired or
    unenrolled). A server that cannot be reached or fails for now is tried again at the
    next round; a refusal ends the loop."""
    done = 0
    while rounds is None or done < rounds:
        try:
            state, happened = check_in(state_file, transport=transport)
        except NotPaired:
            raise
        except DeviceApiError as exc:
            if not exc.transient:
                raise
            report(f"check-in failed, trying again: {exc.detail}")
            state, happened = store.load(state_file), []
        for line in happened:
            report(line)
        if state is None:
            return
        done += 1
        if rounds is None or done < rounds:
            sleep(interval)


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a JSON body; the JSON object answered, or DeviceApiError."""
    answer = _send(http, "POST", path, body)
    parsed = _json(answer)
    if not isinstance(parsed, dict):
        raise DeviceApiError("The server's answer is not a JSON object.", status=answer.status_code)
    return parsed


def get_list(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    """GET a JSON list of objects, or DeviceApiError."""
    answer = _send(http, "GET", path, None)
    parsed = _json(answer)
    if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
        raise DeviceApiError(
            "The server's answer is not a JSON list of objects.", status=answer.status_code
        )
    return parsed


def _send(
    http: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> httpx.Response:
    try:
        answer = http.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise DeviceApiError(f"The server cannot be reached: {exc}") from None
    if not answer.is_success:
        raise _refusal(answer)
    return answer


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _refusal(answer: httpx.Response) -> DeviceApiError:
    """The problem+json the server answered, or what can be said of a foreign answer (a
    proxy's error page, say)."""
    try:
        problem = answer.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {}
    retry = answer.headers.get("Retry-After", "")
    return DeviceApiError(
        str(problem.get("detail") or f"The server answered HTTP {answer.status_code}."),
        status=answer.status_code,
        code=str(problem["code"]) if "code" in problem else None,
        retry_after=int(retry) if retry.isdigit() else None,
    )
