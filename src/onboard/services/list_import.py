"""What importing a list needs whatever its rows are (SPEC C7, D3): the list read as text
with the bytes read counted for progress, and a report whose refused rows are kept in a
temporary file rather than in memory.

Generalized from services.enrollment_import (its _Counted, _size and report), so that
pre-registration (D3) shares them; the enrollment import keeps its own copies for now."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import IO, BinaryIO, Generic, Self, TextIO, TypeVar

from onboard.domain.enrollment_import import ImportMode, ListFormat

C = TypeVar("C", bound=StrEnum)

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) as an import goes: ``reading`` in bytes (total 0 when the
size is unknown), ``checking`` in steps, ``applying`` in rows."""

# What stays in memory of a report before it spills to a temporary file.
SPILL_IN_MEMORY = 1024 * 1024


def silent(phase: str, done: int, total: int) -> None:
    return None


class CountedSource(io.RawIOBase):
    """A binary source that counts the bytes read from it, for progress."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


def size_left(source: BinaryIO) -> int:
    """How many bytes are left to read, when the source can tell (0 otherwise)."""
    try:
        if not source.seekable():
            return 0
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return end - here
    except (OSError, ValueError):
        return 0


def counted_text(source: BinaryIO) -> tuple[TextIO, CountedSource]:
    """The source as UTF-8 text (a byte order mark left out, newlines as they are, as the
    csv module wants them), and the counter of the bytes read from it."""
    counted = CountedSource(source)
    text = io.TextIOWrapper(io.BufferedReader(counted), encoding="utf-8-sig", newline="")
    return text, counted


@dataclass(frozen=True)
class Refused(Generic[C]):
    """A refused row in a report: its number in the list, the reason's code, a detail."""

    row: int
    code: C
    detail: str


def new_spill() -> IO[str]:
    return tempfile.SpooledTemporaryFile(max_size=SPILL_IN_MEMORY, mode="w+")


def spill_line(row: int, code: StrEnum, detail: str) -> str:
    return json.dumps([row, code.value, detail]) + "\n"


@dataclass
class ListImportReport(Generic[C]):
    """What an import did: rows accepted and refused, by reason and row by row. The rows
    refused are kept in a temporary file (lines of spill_line); close() (or ``with``) lets
    it go."""

    codes: type[C]
    format: ListFormat
    mode: ImportMode
    valid: int
    """Rows that passed every check (all of them applied, unless the import was refused)."""
    rejected: int
    counts: dict[C, int]
    accepted: int = 0
    _spill: IO[str] = field(default_factory=io.StringIO, repr=False)

    @property
    def rows(self) -> int:
        return self.valid + self.rejected

    def rejections(self, limit: int | None = None) -> Iterator[Refused[C]]:
        """The refused rows in the list's order (the first ``limit`` of them)."""
        self._spill.seek(0)
        for index, line in enumerate(self._spill):
            if limit is not None and index >= limit:
                return
            row, code, detail = json.loads(line)
            yield Refused(row, self.codes(code), detail)

    def close(self) -> None:
        self._spill.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
