"""The real clock and identifier source."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from onboard.domain.values import ENTROPY_BYTES, new_id


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """Time-ordered ids from the system clock and the operating system's CSPRNG."""

    def new(self) -> str:
        return new_id(datetime.now(UTC), os.urandom(ENTROPY_BYTES))
