"""Pre-registration lists (SPEC D3) through a staging table: the rows of a list staged
with one COPY into a temporary table of the importing transaction, duplicates in the list
and serials registered already in the group found with SQL over it, and the valid rows
written to ``registrations`` with INSERT ... SELECT, so that a list of a million serials
is never held in memory. SqlRegistrations (repositories.provisioning) has these methods."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from onboard.adapters.db import tables as t
from onboard.domain.registrations import (
    RegistrationRejectionCode,
    StagedRegistration,
    StagedRegistrationRejection,
)

# Not part of the schema (its own metadata): it exists only inside one transaction. The
# attributes are JSON text as staged; on PostgreSQL the column is json, so that they go on
# to the records without a cast, on SQLite text, which is how SQLite keeps JSON.
import_rows = Table(
    "registration_import_rows",
    MetaData(),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("id", t.ID),
    Column("serial", String(100)),
    Column("attributes", JSON().with_variant(Text(), "sqlite")),
    Column("code", String(30)),
    Column("detail", Text),
    Column("other_row", Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
    # Half of each page left free: the checks then refuse a row (a rerun: every row) on
    # its own page without new index entries (HOT).
    postgresql_with={"fillfactor": 50},
)
STAGED = StagedRegistration._fields
# Rows written to the records per statement while applying, so that progress is told.
APPLY_STEP = 50_000
# Staged rows per statement where there is no COPY (SQLite).
STAGE_STEP = 5_000
# Rows applied from which the records' statistics are renewed with the import.
ANALYZE_AFTER = 10_000

_reg = t.registrations.c


class RegistrationImports:
    """The staging of a pre-registration list, for SqlRegistrations."""

    conn: Connection

    def start_import(self) -> None:
        """The staging table of a list, in this transaction only."""
        import_rows.create(self.conn)

    def stage_import(self, rows: Iterable[StagedRegistration]) -> int:
        """Stage the rows as they come (one COPY on PostgreSQL, which takes them on its own
        core while Python reads on); how many there were."""
        if self.conn.dialect.name != "postgresql":
            return self._stage_in_steps(rows)
        names = ", ".join(STAGED)
        raw: Any = self.conn.connection.dbapi_connection
        staged = 0
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {import_rows.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                staged += 1
        return staged

    def _stage_in_steps(self, rows: Iterable[StagedRegistration]) -> int:
        staged = 0
        source = iter(rows)
        while step := [row._asdict() for row in islice(source, STAGE_STEP)]:
            self.conn.execute(insert(import_rows), step)
            staged += len(step)
        return staged

    def check_import(self, group_ref: str) -> None:
        """Refuse the staged rows the whole list or the group refuses, one reason a row:
        a serial in the list more than once (every such row, naming another), a serial
        registered in the group already."""
        s = import_rows.c
        # Indexed once loaded: cheaper than keeping an index up to date row by row.
        self.conn.execute(
            text(f"CREATE INDEX ix_{import_rows.name}_serial ON {import_rows.name} (serial)")
        )
        if self.conn.dialect.name == "postgresql":
            # Temporary tables are never analyzed on their own; the plans need the counts.
            self.conn.execute(text(f"ANALYZE {import_rows.name}"))
        repeated = (
            select(s.serial)
            .where(s.serial.is_not(None))
            .group_by(s.serial)
            .having(func.count() > 1)
        )
        other = import_rows.alias("other")
        self._refuse(
            RegistrationRejectionCode.DUPLICATE_IN_LIST,
            s.serial.in_(repeated),
            other_row=select(func.min(other.c.number))
            .where(other.c.serial == s.serial, other.c.number != s.number)
            .scalar_subquery(),
        )
        registered = select(_reg.id).where(_reg.group_ref == group_ref, _reg.serial == s.serial)
        self._refuse(RegistrationRejectionCode.ALREADY_REGISTERED, registered.exists())

    def _refuse(self, code: RegistrationRejectionCode, *where: Any, **values: Any) -> None:
        s = import_rows.c
        self.conn.execute(
            update(import_rows).where(s.code.is_(None), *where).values(code=code.value, **values)
        )

    def import_tally(self) -> dict[RegistrationRejectionCode | None, int]:
        """How many staged rows are valid (None) and how many each reason refused."""
        s = import_rows.c
        rows = self.conn.execute(select(s.code, func.count()).group_by(s.code))
        return {(RegistrationRejectionCode(code) if code else None): n for code, n in rows}

    def import_rejections(self, after: int, limit: int) -> list[StagedRegistrationRejection]:
        """One page of the refused rows, in the list's order, after row ``after``."""
        s = import_rows.c
        rows = self.conn.execute(
            select(s.number, s.code, s.serial, s.other_row, s.detail)
            .where(s.code.is_not(None), s.number > after)
            .order_by(s.number)
            .limit(limit)
        )
        return [
            StagedRegistrationRejection(
                r.number, RegistrationRejectionCode(r.code), r.serial, r.other_row, r.detail
            )
            for r in rows
        ]

    def apply_import(self, organization_id: str, group_ref: str, at: datetime) -> Iterator[int]:
        """The valid staged rows become enabled registrations of the group, a step of rows
        at a time; yields how many are written so far."""
        s = import_rows.c
        moment = literal(at, t.UtcDateTime())
        columns = [
            _reg.id, _reg.organization_id, _reg.group_ref, _reg.serial, _reg.attributes,
            _reg.disabled, _reg.created_at, _reg.updated_at,
        ]  # fmt: skip
        last = self.conn.execute(select(func.max(s.number))).scalar_one() or 0
        done = 0
        for start in range(0, last, APPLY_STEP):
            window = (s.code.is_(None), s.number > start, s.number <= start + APPLY_STEP)
            records = select(
                s.id, literal(organization_id), literal(group_ref), s.serial, s.attributes,
                false(), moment, moment,
            ).where(*window)  # fmt: skip
            # Counted apart: psycopg's rowcount of an INSERT ... SELECT reads -1 here.
            written = self.conn.execute(select(func.count()).where(*window)).scalar_one()
            self.conn.execute(insert(t.registrations).from_select(columns, records))
            done += int(written)
            yield done
        if done >= ANALYZE_AFTER and self.conn.dialect.name == "postgresql":
            # Statistics for the plans at once, in this transaction (autovacuum's come a
            # while later): without them a group's list, planned for a few rows, reads
            # and sorts all of a million (0.3 s a page) instead of 50 along its index.
            self.conn.execute(text(f"ANALYZE {t.registrations.name}"))

    def end_import(self) -> None:
        import_rows.drop(self.conn)
