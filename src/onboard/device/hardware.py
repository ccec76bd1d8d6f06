"""This machine's hardware identity, for a device that is not told one: a firmware port
would use its IMEI or serial number instead."""

from __future__ import annotations

import uuid
from pathlib import Path

MACHINE_ID = Path("/etc/machine-id")


def local_hardware_id() -> str:
    """The systemd machine id when there is one (stable across reboots), else the network
    card's MAC address as Python finds it."""
    try:
        found = MACHINE_ID.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        found = ""
    return found or f"mac-{uuid.getnode():012x}"
