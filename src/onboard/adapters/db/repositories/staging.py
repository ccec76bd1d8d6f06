"""What every imported list (enrollments C7, a group's serials D3) does the same way with
its staging table: a temporary table of the importing transaction, filled with one COPY
on PostgreSQL (in steps of INSERTs on SQLite), indexed by serial once loaded, its rows
refused in SQL one reason a row, counted by reason, and dropped."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, func, insert, select, text, update

# Staged rows per statement where there is no COPY (SQLite).
STAGE_STEP = 5_000


class StagingTable:
    """A list's staging table. It has the columns `number` (the row's place in the list),
    `serial`, `code` (the reason it is refused, NULL while valid) and `other_row`, and
    the columns the staged rows fill, named by `staged`, in their order."""

    def __init__(self, table: Table, staged: tuple[str, ...]) -> None:
        self.table = table
        self.staged = staged

    def create(self, conn: Connection) -> None:
        self.table.create(conn)

    def drop(self, conn: Connection) -> None:
        self.table.drop(conn)

    def stage(self, conn: Connection, rows: Iterable[NamedTuple]) -> int:
        """Stage the rows as they come (one COPY on PostgreSQL, which takes them on its own
        core while Python reads on); how many there were."""
        if conn.dialect.name != "postgresql":
            return self._stage_in_steps(conn, rows)
        names = ", ".join(self.staged)
        raw: Any = conn.connection.dbapi_connection
        staged = 0
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {self.table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                staged += 1
        return staged

    def _stage_in_steps(self, conn: Connection, rows: Iterable[NamedTuple]) -> int:
        staged = 0
        source = iter(rows)
        while step := [row._asdict() for row in islice(source, STAGE_STEP)]:
            conn.execute(insert(self.table), step)
            staged += len(step)
        return staged

    def prepare_checks(self, conn: Connection) -> None:
        """Index the loaded rows by serial (cheaper once loaded than row by row) and, on
        PostgreSQL, count them for the planner: temporary tables are never analyzed on
        their own."""
        name = self.table.name
        conn.execute(text(f"CREATE INDEX ix_{name}_serial ON {name} (serial)"))
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ANALYZE {name}"))

    def refuse_repeated_serials(self, conn: Connection, code: str) -> None:
        """Refuse every row whose serial is in the list more than once, naming another."""
        s = self.table.c
        repeated = (
            select(s.serial)
            .where(s.serial.is_not(None))
            .group_by(s.serial)
            .having(func.count() > 1)
        )
        other = self.table.alias("other")
        self.refuse(
            conn,
            code,
            s.serial.in_(repeated),
            other_row=select(func.min(other.c.number))
            .where(other.c.serial == s.serial, other.c.number != s.number)
            .scalar_subquery(),
        )

    def refuse(self, conn: Connection, code: str, *where: Any, **values: Any) -> None:
        """Refuse, for `code`, the rows still valid that match `where`."""
        s = self.table.c
        conn.execute(update(self.table).where(s.code.is_(None), *where).values(code=code, **values))

    def tally(self, conn: Connection) -> dict[str | None, int]:
        """How many staged rows are valid (None) and how many each reason refused."""
        s = self.table.c
        return {code: n for code, n in conn.execute(select(s.code, func.count()).group_by(s.code))}

    def last_number(self, conn: Connection) -> int:
        """The number of the list's last row (0 for an empty list)."""
        return conn.execute(select(func.max(self.table.c.number))).scalar_one() or 0
