"""Where the device keeps what pairing or enrollment gave it: one JSON file that only its
owner may read, because it holds the device's credential."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OWNER_ONLY = 0o600


class StateFileError(Exception):
    """The state file exists but is not one this client wrote."""


@dataclass(frozen=True)
class DeviceState:
    """The device's identity at one server: its id and secret credential. A device that
    paired with a license (Part B) keeps the license and the configuration it runs
    (``{id, etag, body}``, or None); a device that enrolled (Part C) keeps its enrollment,
    its serial and the settings it was given; a provisioned device (Part D) its group,
    serial, device key, environment, configuration and attributes."""

    server: str
    device_id: str
    credential: str
    license_id: str | None
    configuration: dict[str, Any] | None
    enrollment_id: str | None = None
    serial: str | None = None
    settings: dict[str, Any] | None = None
    group_id: str | None = None
    """A provisioned device's group (D4), with its serial and the device key burned into
    it, which it activates with again when it is told to (D6)."""
    device_key: str | None = None
    environment: dict[str, Any] | None = None
    """Where the platform sent it: {name, api_url, mqtt_url} (D4)."""
    attributes: dict[str, Any] | None = None


def save(path: Path, state: DeviceState) -> None:
    """Write the state atomically: a new file made with 0600 from the start (the credential
    is never readable by others, not even for a moment), then renamed over the old one, so
    a power cut leaves either the old state or the new."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # left by a crash of an earlier process with this pid
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)  # the process umask may have taken bits away, never added
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(state), out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: Path) -> DeviceState | None:
    """The saved state, or None before the device has paired or enrolled (or after it was
    reset). Files written before enrollment existed have no enrollment fields."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateFileError(f"{path} cannot be read: {exc}") from None
    try:
        return DeviceState(
            server=str(raw["server"]),
            device_id=str(raw["device_id"]),
            credential=str(raw["credential"]),
            license_id=_text(raw.get("license_id")),
            configuration=_object(raw, "configuration"),
            enrollment_id=_text(raw.get("enrollment_id")),
            serial=_text(raw.get("serial")),
            settings=_object(raw, "settings"),
            group_id=_text(raw.get("group_id")),
            device_key=_text(raw.get("device_key")),
            environment=_object(raw, "environment"),
            attributes=_object(raw, "attributes"),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise StateFileError(f"{path} is not a device state file: {exc}") from None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _object(raw: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = raw.get(field)
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{field} is not an object")
    return value
