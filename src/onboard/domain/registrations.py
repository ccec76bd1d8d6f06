"""Pre-registration lists (SPEC D3): the serials a provisioning group expects, each with
optional attributes its twin starts with, as CSV or JSON lines, read row by row in
constant memory and checked by the rules of one registration; and the per-row report of
what was refused and why.

CSV has a ``serial`` column and any others, each another attribute of the row's device
with the cell's text as its value (an empty cell leaves the attribute out). JSON lines
hold one object per line: ``{"serial": "...", "attributes": {...}}`` (attributes may be
left out; a null value leaves that attribute out). Rows are numbered as in enrollment
lists (domain.enrollment_import): CSV data records from 1 after the header, JSON lines by
line, blank ones skipped but counted."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, TextIO

from onboard.domain.devices import MAX_ATTRIBUTE_TEXT, check_attributes
from onboard.domain.enrollment import check_serial
from onboard.domain.enrollment_import import MAX_LINE, ListFormat, UnreadableList
from onboard.domain.errors import DomainError, Invalid
from onboard.domain.json_lines import json_value, lines

SERIAL = "serial"
FIELDS = ("serial", "attributes")
MAX_ATTRIBUTES = 64
# An attribute's name as a twin's free attributes have it (A4).
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class RegistrationRejectionCode(StrEnum):
    MALFORMED = "malformed"
    DUPLICATE_IN_LIST = "duplicate_in_list"
    ALREADY_REGISTERED = "already_registered"


class RegistrationRow(NamedTuple):
    """A row that passed the rules of one registration: its serial and attributes."""

    number: int
    serial: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class RegistrationRejection:
    """A row the import refuses, with a stable code and a detail for people; ``serial``
    when the row had a valid one (it still counts for the list's duplicates)."""

    row: int
    code: RegistrationRejectionCode
    detail: str
    serial: str | None = None


class StagedRegistration(NamedTuple):
    """A row as it is staged for the checks over the whole list and the group: the record
    it becomes (its id made ahead, its attributes as JSON text), or why it was refused
    already (``code``, ``detail``). In the staging table's column order."""

    number: int
    id: str | None = None
    serial: str | None = None
    attributes: str | None = None
    code: str | None = None
    """A RegistrationRejectionCode's value."""
    detail: str | None = None


@dataclass(frozen=True)
class StagedRegistrationRejection:
    """A refused staged row as the checks left it: what the report's detail is made of."""

    number: int
    code: RegistrationRejectionCode
    serial: str | None
    other_row: int | None
    detail: str | None


def check_registration_attributes(raw: object) -> dict[str, Any]:
    """D3: a registration's attributes: a JSON object of at most 64 keys, named and valued
    as a twin's free attributes are (A4: names of letters, digits and _, values strings,
    numbers or booleans); a null value leaves its attribute out."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("The attributes are a JSON object.", fields={"attributes": "an object"})
    if len(raw) > MAX_ATTRIBUTES:
        raise Invalid(
            f"A registration has at most {MAX_ATTRIBUTES} attributes.",
            fields={"attributes": f"at most {MAX_ATTRIBUTES} keys"},
        )
    return check_attributes(None, {k: v for k, v in raw.items() if v is not None})


def _malformed(number: int, error: DomainError, serial: str | None) -> RegistrationRejection:
    named = "; ".join(f"{field}: {rule}" for field, rule in error.fields.items())
    return RegistrationRejection(
        number, RegistrationRejectionCode.MALFORMED, named or error.detail, serial
    )


def _shape(number: int, detail: str) -> RegistrationRejection:
    return RegistrationRejection(number, RegistrationRejectionCode.MALFORMED, detail)


def rejection(found: StagedRegistrationRejection) -> RegistrationRejection:
    """The report's line of a row the checks over the whole list refused."""
    code = found.code
    if code is RegistrationRejectionCode.DUPLICATE_IN_LIST:
        detail = f"Serial {found.serial} is in row {found.other_row} of the list too."
    elif code is RegistrationRejectionCode.ALREADY_REGISTERED:
        detail = f"Serial {found.serial} is registered in the group already."
    else:
        detail = found.detail or "The row is malformed."
    return RegistrationRejection(found.number, code, detail, found.serial)


def read_registrations(
    stream: TextIO, format: ListFormat
) -> Iterator[RegistrationRow | RegistrationRejection]:
    """Each row of the list in order, checked by the rules of one registration (D3: a
    valid serial, attributes as check_registration_attributes says), or refused as
    ``malformed``. Raises UnreadableList for a bad header or text that is not UTF-8."""
    try:
        if format is ListFormat.CSV:
            yield from _csv_rows(stream)
        else:
            yield from _json_rows(stream)
    except UnicodeDecodeError:
        raise UnreadableList("The list is not UTF-8 text.", fields={"file": "not UTF-8"}) from None


def _header(record: list[str]) -> tuple[int, list[str]]:
    """The serial's position and the attributes' names, in the header's order."""
    names = [cell.strip().removeprefix("\ufeff").strip() for cell in record]
    problem: str | None = None
    serials = [n for n, name in enumerate(names) if name.lower() == SERIAL]
    repeated = sorted({name for name in names if names.count(name) > 1})
    bad = [name for name in names if name.lower() != SERIAL and not _ATTRIBUTE_NAME.match(name)]
    if not serials:
        problem = "no serial column"
    elif len(serials) > 1 or repeated:
        problem = f"repeated column(s) {', '.join(map(repr, repeated or [SERIAL]))}"
    elif bad:
        problem = (
            f"the column name {bad[0]!r}: an attribute's name has letters, digits and _, "
            "starts with a letter, at most 64 characters"
        )
    elif len(names) - 1 > MAX_ATTRIBUTES:
        problem = f"{len(names) - 1} attribute columns (at most {MAX_ATTRIBUTES})"
    if problem is not None:
        raise UnreadableList(
            f"The header has {problem}; it has a serial column and a column for each attribute.",
            fields={"file": "bad header"},
        )
    position = serials[0]
    return position, names[:position] + names[position + 1 :]


def _csv_rows(stream: TextIO) -> Iterator[RegistrationRow | RegistrationRejection]:
    reader = csv.reader(stream)
    header: list[str] | None = None
    position = 0
    width = 0
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
            yield _shape(number, f"row: not CSV ({exc})")
            continue
        if header is None:
            if any(map(str.strip, record)):
                position, header = _header(record)
                width = len(header) + 1
            continue
        number += 1
        if not any(map(str.strip, record)):
            continue
        if len(record) > width:
            yield _shape(number, f"row: {len(record)} cells where the header has {width} columns")
            continue
        yield _csv_row(number, record, position, header)
    if header is None:
        raise UnreadableList(
            "The list is empty; it needs a header with a serial column.",
            fields={"file": "empty"},
        )


def _csv_row(
    number: int, record: list[str], position: int, names: list[str]
) -> RegistrationRow | RegistrationRejection:
    """A CSV record's serial and attributes: the names were checked with the header, so
    only the values are left (text within MAX_ATTRIBUTE_TEXT, no NUL)."""
    serial_cell = record[position] if position < len(record) else ""
    try:
        serial = check_serial(serial_cell)
    except Invalid as error:
        return _malformed(number, error, None)
    cells = record[:position] + record[position + 1 :]
    attributes: dict[str, Any] = {}
    for name, cell in zip(names, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        if len(value) > MAX_ATTRIBUTE_TEXT or "\x00" in value:
            return RegistrationRejection(
                number,
                RegistrationRejectionCode.MALFORMED,
                f"attributes.{name}: at most {MAX_ATTRIBUTE_TEXT} characters, no NUL",
                serial,
            )
        attributes[name] = value
    return RegistrationRow(number, serial, attributes)


def _json_rows(stream: TextIO) -> Iterator[RegistrationRow | RegistrationRejection]:
    for number, line in enumerate(lines(stream, MAX_LINE), start=1):
        if line is None:
            yield _shape(number, f"line: longer than {MAX_LINE} characters")
            continue
        if not line.strip():
            continue
        try:
            found = json_value(line.removeprefix("\ufeff") if number == 1 else line)
        except ValueError as exc:
            yield _shape(number, f"line: not JSON ({exc})")
            continue
        yield _json_row(number, found)


def _json_row(number: int, found: object) -> RegistrationRow | RegistrationRejection:
    if not isinstance(found, Mapping):
        return _shape(number, "line: a JSON object with serial and, optionally, attributes")
    unknown = sorted(str(key) for key in found if key not in FIELDS)
    if unknown:
        return _shape(number, f"{unknown[0]}: not a field (the fields are serial, attributes)")
    raw_serial = found.get(SERIAL)
    if not isinstance(raw_serial, str):
        return _shape(number, "serial: a string, required")
    try:
        serial = check_serial(raw_serial)
    except Invalid as error:
        return _malformed(number, error, None)
    try:
        attributes = check_registration_attributes(found.get("attributes"))
    except Invalid as error:
        return _malformed(number, error, serial)
    return RegistrationRow(number, serial, attributes)
