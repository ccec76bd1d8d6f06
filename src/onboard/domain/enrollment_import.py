"""Enrollment lists (SPEC C7): a manufacturer's or an installer's list of devices to enroll,
as CSV or JSON lines, read row by row in constant memory, and the per-row report of what
was refused and why.

CSV has the header ``serial,access_key,kind,gateway_id,name,location`` (the last three may
be left out, the order is free); JSON lines hold one object per line with those keys.
Rows are numbered for the report as people find them in the file: in CSV, the data
records counted from 1 after the header (a spreadsheet shows record N on its row N + 1);
in JSON lines, the line numbers from 1. Blank records and lines are skipped but counted,
so the numbers still point into the file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter
from pathlib import PurePath
from typing import Any, NamedTuple, TextIO

from onboard.domain.enrollment import DeviceKind
from onboard.domain.errors import DomainError, Invalid

COLUMNS = ("serial", "access_key", "kind", "gateway_id", "name", "location")
REQUIRED = ("serial", "access_key", "kind")
_KNOWN = frozenset(COLUMNS)
_TEXT_OR_NULL = frozenset({str, type(None)})
_JSON_SPACE = " \t\n\r"
# json.loads's own scanner (C), called on a line as loads calls it.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
# The largest list taken over HTTP (the API and the back office): a million rows take 60
# to 80 MB, with room for longer names and locations.
MAX_LIST_BYTES = 256 * 1024 * 1024
# A JSON line longer than this is refused as it comes, and read past, never held whole; a
# real row is a few hundred characters.
MAX_LINE = 8 * 1024


class ListFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"

    @classmethod
    def of_name(cls, filename: str) -> ListFormat | None:
        """The format a file name's suffix says (``.csv``; ``.jsonl``, ``.ndjson``)."""
        suffix = PurePath(filename).suffix.lower()
        return {".csv": cls.CSV, ".jsonl": cls.JSONL, ".ndjson": cls.JSONL}.get(suffix)


class ImportMode(StrEnum):
    ALL = "all"  # every row or none
    VALID = "valid"  # the valid rows; the others are reported


class RejectionCode(StrEnum):
    MALFORMED = "malformed"
    DUPLICATE_IN_LIST = "duplicate_in_list"
    ALREADY_ENROLLED = "already_enrolled"
    UNKNOWN_GATEWAY = "unknown_gateway"


class UnreadableList(Invalid):
    """The list as a whole cannot be read: no or a bad header, not UTF-8, no rows."""

    code = "malformed"


class ListRow(NamedTuple):
    """One row as the list gives it, before the rules of a single enrollment check it (a
    tuple: a million of them are made one after another)."""

    number: int
    serial: str
    access_key: str
    kind: str
    gateway_id: str | None = None
    name: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A row the import refuses, with a stable code and a detail for people."""

    row: int
    code: RejectionCode
    detail: str


class StagedRow(NamedTuple):
    """A row as it is staged for the checks that need the whole list and the database:
    the record it becomes (its id made ahead, so the access key is sealed for its record
    as the list streams in), or the reason it was refused already (``code``, ``detail``).
    A tuple in the order the staging table takes it, written as it is."""

    number: int
    id: str | None = None
    serial: str | None = None
    kind: str | None = None
    gateway: str | None = None
    name: str | None = None
    location: str | None = None
    sealed_key: str | None = None
    code: str | None = None
    """A RejectionCode's value."""
    detail: str | None = None


@dataclass(frozen=True)
class StagedRejection:
    """A refused staged row as the checks left it: what the report's detail is made of."""

    number: int
    code: RejectionCode
    serial: str | None
    gateway: str | None
    other_row: int | None
    detail: str | None


def check_kind(raw: str) -> DeviceKind:
    try:
        return DeviceKind(raw.strip().lower())
    except ValueError:
        kinds = ", ".join(k.value for k in DeviceKind)
        raise Invalid(f"The kind is one of {kinds}.", fields={"kind": f"one of {kinds}"}) from None


def malformed(number: int, error: DomainError) -> Rejection:
    """A row refused by a rule of a single enrollment: the detail names each field and the
    rule it breaks."""
    named = "; ".join(f"{field}: {rule}" for field, rule in error.fields.items())
    return Rejection(number, RejectionCode.MALFORMED, named or error.detail)


def rejection(found: StagedRejection) -> Rejection:
    """The report's line of a row the checks over the whole list refused."""
    code = found.code
    if code is RejectionCode.DUPLICATE_IN_LIST:
        detail = f"Serial {found.serial} is in row {found.other_row} of the list too."
    elif code is RejectionCode.ALREADY_ENROLLED:
        detail = f"Serial {found.serial} is enrolled already; delete its enrollment first."
    elif code is RejectionCode.UNKNOWN_GATEWAY:
        detail = (
            f"gateway_id: {found.gateway!r} is neither the id nor the serial of an enrolled "
            "gateway of the organization (or of a gateway row of the list), or it is being "
            "unenrolled."
        )
    else:
        detail = found.detail or "The row is malformed."
    return Rejection(found.number, code, detail)


def read_list(stream: TextIO, format: ListFormat) -> Iterator[ListRow | Rejection]:
    """Each row of the list in order: read, or refused as ``malformed`` when its shape is
    wrong (an unparseable JSON line, a missing value, more cells than columns). The
    values themselves are checked by the caller, by the rules of a single enrollment.
    Raises UnreadableList for a bad header or text that is not UTF-8."""
    try:
        if format is ListFormat.CSV:
            yield from _csv_rows(stream)
        else:
            yield from _json_rows(stream)
    except UnicodeDecodeError:
        raise UnreadableList("The list is not UTF-8 text.", fields={"file": "not UTF-8"}) from None


def _header(record: list[str]) -> list[str]:
    header = [cell.strip().lower().removeprefix("\ufeff") for cell in record]
    unknown = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    missing = [c for c in REQUIRED if c not in header]
    if unknown or repeated or missing:
        problem = (
            f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown
            else f"repeated column(s) {', '.join(map(repr, repeated))}" if repeated
            else f"no {', '.join(map(repr, missing))} column"
        )  # fmt: skip
        raise UnreadableList(
            f"The header has {problem}; the columns are {','.join(COLUMNS)} (gateway_id, "
            "name and location may be left out).",
            fields={"file": "bad header"},
        )
    return header


def _csv_rows(stream: TextIO) -> Iterator[ListRow | Rejection]:
    reader = csv.reader(stream)
    header: list[str] | None = None
    width = 0
    # A record's cells in the order of COLUMNS; a column the header leaves out reads the
    # None put after the record's last cell.
    cells: Callable[[list[str | None]], tuple[str | None, ...]] = itemgetter(0)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if header is None:
                raise UnreadableList(
                    f"The header cannot be read as CSV: {exc}.", fields={"file": "not CSV"}
                ) from None
            number += 1
            yield Rejection(number, RejectionCode.MALFORMED, f"row: not CSV ({exc})")
            continue
        if header is None:
            if any(map(str.strip, record)):
                header = _header(record)
                width = len(header)
                cells = itemgetter(*(header.index(c) if c in header else width for c in COLUMNS))
            continue
        number += 1
        if not any(map(str.strip, record)):
            continue
        if len(record) > width:
            yield Rejection(
                number,
                RejectionCode.MALFORMED,
                f"row: {len(record)} cells where the header has {width} columns",
            )
            continue
        # A short record's missing cells read None, as a missing column's do.
        padded: list[str | None] = [*record, *([None] * (width - len(record) + 1))]
        serial, access_key, kind, gateway_id, name, location = cells(padded)
        yield ListRow(
            number, serial or "", access_key or "", kind or "",
            (gateway_id or "").strip() or None, name, location,
        )  # fmt: skip
    if header is None:
        raise UnreadableList(
            f"The list is empty; it needs the header {','.join(COLUMNS)}.",
            fields={"file": "empty"},
        )


def _row(number: int, cells: Mapping[str, str | None]) -> ListRow:
    return ListRow(
        number,
        cells.get("serial") or "",
        cells.get("access_key") or "",
        cells.get("kind") or "",
        (cells.get("gateway_id") or "").strip() or None,
        cells.get("name"),
        cells.get("location"),
    )


def _lines(stream: TextIO) -> Iterator[str | None]:
    """Each line of the stream, or None for one longer than MAX_LINE (read past in
    pieces)."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) <= MAX_LINE or line.endswith("\n"):
            yield line
            continue
        while line and not line.endswith("\n"):
            line = stream.readline(MAX_LINE)
        yield None


def _json_rows(stream: TextIO) -> Iterator[ListRow | Rejection]:
    for number, line in enumerate(_lines(stream), start=1):
        if line is None:
            yield Rejection(
                number, RejectionCode.MALFORMED, f"line: longer than {MAX_LINE} characters"
            )
            continue
        if not line.strip():
            continue
        try:
            found = _json_value(line.removeprefix("\ufeff") if number == 1 else line)
        except ValueError as exc:
            yield Rejection(number, RejectionCode.MALFORMED, f"line: not JSON ({exc})")
            continue
        problem = _json_problem(found)
        if problem is not None:
            yield Rejection(number, RejectionCode.MALFORMED, problem)
            continue
        yield _row(number, found)


def _json_value(line: str) -> Any:
    """What json.loads makes of the line, without its overhead per call when the line is
    one value (the same JSON whitespace around it); json.loads itself says what is wrong
    with one that is not."""
    text = line.strip(_JSON_SPACE)
    try:
        found, end = _scan(text, 0)
    except (StopIteration, ValueError):
        end = -1
    if end == len(text):
        return found
    return json.loads(line)


def _json_problem(found: object) -> str | None:
    if not isinstance(found, dict):
        return "line: a JSON object with serial, access_key and kind"
    if (
        found.keys() <= _KNOWN
        and set(map(type, found.values())) <= _TEXT_OR_NULL
        and None not in map(found.get, REQUIRED)
    ):
        return None  # as nearly every row is; the first problem is named otherwise
    unknown = sorted(str(key) for key in found if key not in COLUMNS)
    if unknown:
        return f"{unknown[0]}: not a field (the fields are {', '.join(COLUMNS)})"
    for key in COLUMNS:
        value = found.get(key)
        if key in REQUIRED and value is None:
            return f"{key}: required"
        if value is not None and not isinstance(value, str):
            return f"{key}: a string"
    return None
