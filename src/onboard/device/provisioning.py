"""Plug-and-play activation as a device does it (SPEC D2, D4, §6): the manufacturer burned
its group id, serial and device key into it; on first connect it proves it holds the key
and keeps the credential, environment, configuration and attributes the server answers.
Activating again is safe: the same twin, a new credential."""

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

ACTIVATE_PATH = "/device/v1/activate"
# How long a proof holds (§6 accepts up to an hour ahead).
PROOF_SECONDS = 300


def activation_proof(device_key: str, group_id: str, serial: str, expires: int) -> str:
    """§6: b64(HMAC-SHA256(key = the device key as burned, its base64 text in UTF-8;
    message = UTF-8 group_id + "\\n" + serial + "\\n" + str(expires)))."""
    message = f"{group_id}\n{serial}\n{expires}".encode()
    digest = hmac.new(device_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Activated:
    """The server's answer to an activation (D4); the credential is shown this once."""

    device_id: str
    credential: str
    environment: dict[str, Any] | None
    configuration: dict[str, Any]
    attributes: dict[str, Any]


def request_activation(
    http: httpx.Client, group_id: str, serial: str, device_key: str, *, now: float
) -> Activated:
    """POST /device/v1/activate with a proof valid for five minutes from ``now`` (Unix
    seconds, the device's clock)."""
    expires = int(now) + PROOF_SECONDS
    body = {
        "group_id": group_id,
        "serial": serial,
        "expires": expires,
        "signature": activation_proof(device_key, group_id, serial, expires),
    }
    answer = post(http, ACTIVATE_PATH, body)
    try:
        environment = answer.get("environment")
        configuration = answer.get("configuration") or {}
        attributes = answer.get("attributes") or {}
        if not all(isinstance(v, dict) for v in (configuration, attributes)) or not (
            environment is None or isinstance(environment, dict)
        ):
            raise TypeError("not objects")
        return Activated(
            device_id=str(answer["device_id"]),
            credential=str(answer["credential"]),
            environment=environment,
            configuration=configuration,
            attributes=attributes,
        )
    except (KeyError, TypeError):
        raise DeviceApiError("The server's answer to activating is incomplete.") from None


def activate(
    server_url: str,
    group_id: str,
    serial: str,
    device_key: str,
    *,
    state_file: Path,
    now: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> DeviceState:
    """D4 from start to end: prove, then keep what the server answered in ``state_file``
    (0600), the burned identity included so the device can activate again when told to.
    A refused proof raises DeviceApiError and stores nothing."""
    server = server_url.rstrip("/")
    group_id, serial, device_key = group_id.strip(), serial.strip(), device_key.strip()
    with session(server, transport=transport) as http:
        activated = request_activation(http, group_id, serial, device_key, now=now())
    state = DeviceState(
        server=server,
        device_id=activated.device_id,
        credential=activated.credential,
        license_id=None,
        configuration=None,
        serial=serial,
        settings=activated.configuration,
        group_id=group_id,
        device_key=device_key,
        environment=activated.environment,
        attributes=activated.attributes,
    )
    store.save(state_file, state)
    return state
