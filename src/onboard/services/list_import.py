"""What importing a list needs whatever its rows are (SPEC C7, D3): the list read as text
with the bytes read counted for progress, the refused rows read back from the staging
table into a temporary file rather than memory, the report over them, and the refusal of
an all-or-nothing import. Enrollment lists (C7) and pre-registration lists (D3) share it."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import IO, BinaryIO, ClassVar, Generic, Protocol, Self, TextIO, TypeVar

from onboard.domain.enrollment_import import ImportMode, ListFormat
from onboard.domain.errors import Invalid

C = TypeVar("C", bound=StrEnum)
R = TypeVar("R")
S = TypeVar("S", bound="StagedRefusal")

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) as an import goes: ``reading`` in bytes (total 0 when the
size is unknown), ``checking`` in steps, ``applying`` in rows."""

# What stays in memory of a report before it spills to a temporary file.
SPILL_IN_MEMORY = 1024 * 1024
# Rows read between two reports of progress; refused rows read back per query.
READ_STEP = 5_000
REPORT_PAGE = 5_000
# How many refused rows a refusal names in its fields (the report has them all).
NAMED_IN_ERROR = 20


class StagedRefusal(Protocol):
    """A refused row as the staging table holds it: its number in the list."""

    @property
    def number(self) -> int: ...


class RowRefusal(Protocol):
    """A refused row as a report tells it."""

    @property
    def row(self) -> int: ...
    @property
    def code(self) -> StrEnum: ...
    @property
    def detail(self) -> str: ...


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


def read_counted(
    source: BinaryIO, rows: Callable[[TextIO], Iterable[R]], tell: Progress
) -> Iterator[R]:
    """The rows ``rows`` reads from the source as text, as they come, the bytes read told
    every READ_STEP rows and at the end."""
    total = size_left(source)
    text, counted = counted_text(source)
    for count, item in enumerate(rows(text), start=1):
        yield item
        if not count % READ_STEP:
            tell("reading", counted.done, max(total, counted.done) if total else 0)
    tell("reading", counted.done, max(total, counted.done))


def spill_refusals(
    page: Callable[[int, int], Sequence[S]], told: Callable[[S], RowRefusal]
) -> IO[str]:
    """Every refused row, read back a page at a time (``page(after, limit)`` gives the
    staged rows after row ``after``) and told by ``told``, in a temporary file."""
    spill: IO[str] = tempfile.SpooledTemporaryFile(max_size=SPILL_IN_MEMORY, mode="w+")  # noqa: SIM115
    after = 0
    while True:
        found = page(after, REPORT_PAGE)
        for staged in found:
            refused = told(staged)
            spill.write(json.dumps([refused.row, refused.code.value, refused.detail]) + "\n")
        if len(found) < REPORT_PAGE:
            return spill
        after = found[-1].number


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


class ListImportRefused(Invalid, Generic[C]):
    """Some rows were refused and the import was all-or-nothing: nothing was written. The
    report says which rows and why."""

    code = "import_refused"
    nothing: ClassVar[str] = "nothing imported"

    def __init__(self, report: ListImportReport[C]) -> None:
        super().__init__(
            f"{report.rejected} of {report.rows} row(s) rejected; {self.nothing}.",
            fields={
                f"rows.{r.row}": f"{r.code.value}: {r.detail}"
                for r in report.rejections(NAMED_IN_ERROR)
            },
        )
        self.report = report
