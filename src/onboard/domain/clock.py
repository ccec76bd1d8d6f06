"""Time as a dependency: the domain never asks the system for the time itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time, timezone-aware UTC."""

    def now(self) -> datetime: ...
