"""Direct enrollment as a device does it (SPEC C3, §6): prove it holds the access key
printed on it, keep the credential and settings the server answers, then say what it can
do. A gateway enrolls itself the same way before it enrolls its nodes (C4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from onboard.device import store
from onboard.device.client import DeviceApiError, post, session
from onboard.device.store import DeviceState

ENROLL_PATH = "/device/v1/enroll"
COMPLETE_PATH = "/device/v1/enroll/{enrollment_id}/complete"
# How long a proof holds (§6 accepts up to an hour ahead): long enough for a slow network,
# short enough that a captured request is soon worthless.
PROOF_SECONDS = 300


def enroll_proof(access_key: str, serial: str, expires: int) -> str:
    """§6: b64(HMAC-SHA256(key = UTF-8 access key, message = UTF-8 serial + "\\n" +
    str(expires))), standard base64 with padding."""
    message = f"{serial}\n{expires}".encode()
    digest = hmac.new(access_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Enrolled:
    """The server's answer to a proof (C3); the credential is shown this once."""

    enrollment_id: str
    device_id: str
    credential: str
    settings: dict[str, Any]


class NotCompleted(DeviceApiError):
    """The device enrolled and kept its credential, but the server did not take its
    capabilities; enrolling again (a new proof) finishes the job."""

    def __init__(self, state: DeviceState, cause: DeviceApiError) -> None:
        super().__init__(
            cause.detail, status=cause.status, code=cause.code, retry_after=cause.retry_after
        )
        self.state = state


def request_enrollment(http: httpx.Client, serial: str, access_key: str, *, now: float) -> Enrolled:
    """POST /device/v1/enroll with a proof valid for five minutes from ``now`` (Unix
    seconds, the device's clock)."""
    expires = int(now) + PROOF_SECONDS
    body = {
        "serial": serial,
        "expires": expires,
        "signature": enroll_proof(access_key, serial, expires),
    }
    answer = post(http, ENROLL_PATH, body)
    try:
        settings = answer.get("settings") or {}
        if not isinstance(settings, dict):
            raise TypeError("settings is not an object")
        return Enrolled(
            enrollment_id=str(answer["enrollment_id"]),
            device_id=str(answer["device_id"]),
            credential=str(answer["credential"]),
            settings=settings,
        )
    except (KeyError, TypeError):
        raise DeviceApiError("The server's answer to enrolling is incomplete.") from None


def complete_enrollment(
    http: httpx.Client, enrollment_id: str, capabilities: dict[str, Any]
) -> None:
    """POST /device/v1/enroll/{id}/complete with the device's capabilities (C3); ``http``
    carries the device's new credential."""
    post(http, COMPLETE_PATH.format(enrollment_id=enrollment_id), {"capabilities": capabilities})


def enroll(
    server_url: str,
    serial: str,
    access_key: str,
    *,
    state_file: Path,
    capabilities: dict[str, Any],
    now: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> DeviceState:
    """C3 from start to end: prove, keep the credential in ``state_file`` (0600) before
    anything else can go wrong, then complete with ``capabilities``. A refused proof
    raises DeviceApiError and stores nothing; a refused completion raises NotCompleted with
    the state kept. Enrolling again is safe: the server issues a new credential, which
    replaces the stored one."""
    server = server_url.rstrip("/")
    serial, access_key = serial.strip(), access_key.strip()
    with session(server, transport=transport) as http:
        enrolled = request_enrollment(http, serial, access_key, now=now())
    state = DeviceState(
        server=server,
        device_id=enrolled.device_id,
        credential=enrolled.credential,
        license_id=None,
        configuration=None,
        enrollment_id=enrolled.enrollment_id,
        serial=serial,
        settings=enrolled.settings,
    )
    store.save(state_file, state)
    with session(server, enrolled.credential, transport=transport) as http:
        try:
            complete_enrollment(http, enrolled.enrollment_id, capabilities)
        except DeviceApiError as exc:
            raise NotCompleted(state, exc) from None
    return state
