"""This machine's hardware identity and capabilities, for a device that is not told them:
a firmware port would use its IMEI or serial number, and report its sensors, relays,
radios and firmware version instead."""

from __future__ import annotations

import platform
import uuid
from pathlib import Path
from typing import Any

MACHINE_ID = Path("/etc/machine-id")


def local_hardware_id() -> str:
    """The systemd machine id when there is one (stable across reboots), else the network
    card's MAC address as Python finds it."""
    try:
        found = MACHINE_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        found = ""
    return found or f"mac-{uuid.getnode():012x}"


def local_capabilities() -> dict[str, Any]:
    """What this machine reports it can do when it enrolls (C3): its hardware id, operating
    system and processor architecture."""
    return {
        "hardware_id": local_hardware_id(),
        "os": f"{platform.system()} {platform.release()}".strip()[:100],
        "arch": platform.machine() or "unknown",
    }
