"""Statements compiled once and run on psycopg's own cursor, for the hottest path of the
platform (device activation, SPEC §7: a thousand a second on two cores). SQLAlchemy's
work per execution (cache key, parameters, result) costs about 150 µs of CPU a statement
here, as much as PostgreSQL's own; the statements themselves are still built with
SQLAlchemy from the tables, so they stay in one place."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import JSON, Connection
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql import ClauseElement

_DIALECT: Any = PGDialect_psycopg()  # type: ignore[no-untyped-call]
_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


def _literal(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"no literal for {value!r} in a raw statement")
    return "'" + value.replace("'", "''") + "'"


class RawStatement:
    """One statement for PostgreSQL: its SQL, the values SQLAlchemy bound in it (literals),
    and which of its parameters are JSON (passed as JSON text: the statement casts them)."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled: Any = statement.compile(dialect=_DIALECT)  # an SQLCompiler
        bound: dict[str, Any] = compiled.construct_params(_check=False)
        # A value SQLAlchemy writes into the SQL itself (a separator, say) comes as a
        # placeholder to fill in as it would: a quoted literal.
        self.sql = _POSTCOMPILE.sub(lambda m: _literal(bound[m.group(1)]), str(compiled))
        self.fixed = {name: value for name, value in bound.items() if value is not None}
        self.json = frozenset(
            name for name, bind in compiled.binds.items() if isinstance(bind.type, JSON)
        )

    def run(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows (named tuples of psycopg's types: JSON loaded, times aware),
        on the unit of work's connection and in its transaction (or autocommit)."""
        given = {
            **self.fixed,
            **{
                k: json.dumps(v) if k in self.json and v is not None else v
                for k, v in values.items()
            },
        }
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(self.sql, given)
            return list(cursor.fetchall()) if cursor.description else []
