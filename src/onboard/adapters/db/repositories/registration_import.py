"""Pre-registration lists (SPEC D3) through a staging table: the rows of a list staged
with one COPY into a temporary table of the importing transaction, duplicates in the list
and serials registered already in the group found with SQL over it, and the valid rows
written to ``registrations`` with INSERT ... SELECT, so that a list of a million serials
is never held in memory. SqlRegistrations (repositories.provisioning) has these methods."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

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
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.staging import StagingTable
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
_staging = StagingTable(import_rows, StagedRegistration._fields)
# Rows written to the records per statement while applying, so that progress is told.
APPLY_STEP = 50_000
# Rows applied from which the records' statistics are renewed with the import.
ANALYZE_AFTER = 10_000

_reg = t.registrations.c


class RegistrationImports:
    """The staging of a pre-registration list, for SqlRegistrations."""

    conn: Connection

    def start_import(self) -> None:
        """The staging table of a list, in this transaction only."""
        _staging.create(self.conn)

    def stage_import(self, rows: Iterable[StagedRegistration]) -> int:
        """Stage the rows as they come; how many there were."""
        return _staging.stage(self.conn, rows)

    def check_import(self, group_ref: str) -> None:
        """Refuse the staged rows the whole list or the group refuses, one reason a row:
        a serial in the list more than once (every such row, naming another), a serial
        registered in the group already."""
        s = import_rows.c
        _staging.prepare_checks(self.conn)
        _staging.refuse_repeated_serials(
            self.conn, RegistrationRejectionCode.DUPLICATE_IN_LIST.value
        )
        registered = select(_reg.id).where(_reg.group_ref == group_ref, _reg.serial == s.serial)
        _staging.refuse(
            self.conn, RegistrationRejectionCode.ALREADY_REGISTERED.value, registered.exists()
        )

    def import_tally(self) -> dict[RegistrationRejectionCode | None, int]:
        """How many staged rows are valid (None) and how many each reason refused."""
        tally = _staging.tally(self.conn).items()
        return {(RegistrationRejectionCode(code) if code else None): n for code, n in tally}

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
        last = _staging.last_number(self.conn)
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
        _staging.drop(self.conn)
