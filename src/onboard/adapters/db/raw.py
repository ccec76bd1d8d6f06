"""Statements compiled once and run on psycopg's own cursor, for the hottest path of the
platform (device activation, SPEC §7: a thousand a second on two cores). SQLAlchemy's
work per execution (cache key, parameters, result) costs about 150 µs of CPU a statement
here, as much as PostgreSQL's own; the statements themselves are still built with
SQLAlchemy from the tables, so they stay in one place."""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg import RawCursor
from psycopg.pq import ExecStatus
from sqlalchemy import JSON, Connection
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql import ClauseElement

_DIALECT: Any = PGDialect_psycopg()  # type: ignore[no-untyped-call]
_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
_NAMED = re.compile(r"%\((\w+)\)s")


def _literal(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"no literal for {value!r} in a raw statement")
    return "'" + value.replace("'", "''") + "'"


def _iso(value: object) -> str:
    """A time in a JSON parameter, as ISO 8601 text (the statement reads it as its column's
    type)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no JSON for {value!r} in a raw statement")


class RawStatement:
    """One statement for PostgreSQL: its SQL with PostgreSQL's own placeholders ($1, $2, …:
    psycopg re-parses named ones on every run of a statement over 4 KiB), the values
    SQLAlchemy bound in it (literals), and which of its parameters are JSON (passed as JSON
    text, times in them as ISO 8601: the statement casts them)."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled: Any = statement.compile(dialect=_DIALECT)  # an SQLCompiler
        bound: dict[str, Any] = compiled.construct_params(_check=False)
        # A value SQLAlchemy writes into the SQL itself (a separator, say) comes as a
        # placeholder to fill in as it would: a quoted literal.
        named = _POSTCOMPILE.sub(lambda m: _literal(bound[m.group(1)]), str(compiled))
        order: dict[str, int] = {}
        self.sql = _NAMED.sub(
            lambda m: f"${order.setdefault(m.group(1), len(order) + 1)}", named
        ).replace("%%", "%")
        self.names = tuple(order)
        self.fixed = {name: value for name, value in bound.items() if value is not None}
        self.json = frozenset(
            name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON)
        )
        self._row: Any = None

    def run(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows (named tuples of psycopg's types: JSON loaded, times aware),
        on the unit of work's connection and in its transaction (or autocommit)."""
        given = {**self.fixed, **values}
        params = [
            json.dumps(given[name], default=_iso)
            if name in self.json and given[name] is not None
            else given[name]
            for name in self.names
        ]
        raw: Any = conn.connection.dbapi_connection
        with RawCursor(raw, row_factory=self._rows) as cursor:
            cursor.execute(self.sql, params)
            result = cursor.pgresult
            if result is None or result.status != ExecStatus.TUPLES_OK:
                return []
            return list(cursor.fetchall())

    def _rows(self, cursor: Any) -> Any:
        """psycopg's row factory: the statement's named tuple, its type made on the first run
        (psycopg's own builds the columns' descriptions on every run)."""
        if self._row is None:
            if cursor.description is None:
                return tuple
            names = [column.name for column in cursor.description]
            self._row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        return self._row._make
