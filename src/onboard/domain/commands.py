"""What a device is told to do when it checks in (SPEC §6): `unpair` (B9), `unenroll`
(C6), `reprovision` (D6), each with an id the device acknowledges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    id: str
    type: str
    params: dict[str, Any]
