"""Devices from a spreadsheet: the CSV layout people fill in, read into rows (SPEC A3, A4).

The header names the columns: ``name`` (required), ``serial``, ``template``, ``customer``,
``location``, ``departments`` (separated by ";") and one ``attr:<field>`` column per
attribute. Rows are numbered as a spreadsheet shows them (the header is row 1)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from onboard.domain.devices import FieldType, Template
from onboard.domain.errors import Invalid

COLUMNS = ("name", "serial", "template", "customer", "location", "departments")
ATTRIBUTE_PREFIX = "attr:"
MAX_ROWS = 100_000
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class ImportRow:
    number: int
    cells: dict[str, str]
    overlong: bool = False
    """More cells than the header has columns: a shifted row, never guessed at."""

    def text(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def departments(self) -> list[str]:
        return [d.strip() for d in self.cells.get("departments", "").split(";") if d.strip()]

    def attributes(self, template: Template | None) -> dict[str, Any]:
        return {
            column.removeprefix(ATTRIBUTE_PREFIX): attribute_value(template, column, value)
            for column, value in self.cells.items()
            if column.startswith(ATTRIBUTE_PREFIX) and value.strip()
        }


def read_rows(text: str) -> list[ImportRow]:
    """The data rows of a CSV text; blank rows are skipped. A header with an unknown or
    repeated column, or without ``name``, refuses the whole file."""
    try:
        records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    except csv.Error as exc:
        raise Invalid(f"The file is not valid CSV: {exc}.", fields={"file": "not CSV"}) from None
    if not records:
        raise Invalid("The file is empty; it needs a header row.", fields={"file": "empty"})
    header = [_column(cell) for cell in records[0]]
    unknown = [c for c in header if c not in COLUMNS and not _is_attribute(c)]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if "name" not in header or unknown or repeated:
        problem = (
            f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown
            else f"repeated column(s) {', '.join(map(repr, repeated))}" if repeated
            else "no 'name' column"
        )  # fmt: skip
        raise Invalid(
            f"The header has {problem}; columns are {','.join(COLUMNS)} and attr:<field>.",
            fields={"file": "bad header"},
        )
    rows: list[ImportRow] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = dict(zip(header, record, strict=False))
        rows.append(ImportRow(number, cells, overlong=len(record) > len(header)))
    if not rows:
        raise Invalid("The file has no rows to import.", fields={"file": "no rows"})
    if len(rows) > MAX_ROWS:
        raise Invalid(
            f"A file has at most {MAX_ROWS} rows; split it.", fields={"file": "too many rows"}
        )
    return rows


def attribute_value(template: Template | None, column: str, raw: str) -> Any:
    """A cell in its field's type; what does not read as that type is passed on as text
    for the template's rule to refuse with its own message (A4)."""
    field = template.field(column.removeprefix(ATTRIBUTE_PREFIX)) if template else None
    value = raw.strip()
    if field is not None and field.type is FieldType.NUMBER:
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    if field is not None and field.type is FieldType.BOOLEAN:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    return value


def _column(cell: str) -> str:
    name = cell.strip()
    if name.lower().startswith(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :].strip()
    return name.lower()


def _is_attribute(column: str) -> bool:
    return column.startswith(ATTRIBUTE_PREFIX) and len(column) > len(ATTRIBUTE_PREFIX)
