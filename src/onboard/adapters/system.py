"""The real clock and identifier source."""

from __future__ import annotations

import os
import threading
from contextlib import suppress
from datetime import UTC, datetime

from onboard.domain.values import ENTROPY_BYTES, id_after, new_id


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """Time-ordered ids from the system clock and the operating system's CSPRNG. Within a
    millisecond, the ids one process makes are in the order it made them (the random part
    of the previous one plus one), so the entries of one transaction keep their order."""

    def __init__(self) -> None:
        self._last = ""
        self._lock = threading.Lock()

    def new(self) -> str:
        made = new_id(datetime.now(UTC), os.urandom(ENTROPY_BYTES))
        with self._lock:
            if made[:10] == self._last[:10] and made <= self._last:
                with suppress(OverflowError):  # 2**80 ids in a millisecond: keep the new one
                    made = id_after(self._last)
            self._last = made
        return made
