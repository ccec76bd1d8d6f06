"""Enrollment records (SPEC Part C): stored with their sealed access keys, departments and
history; the jobs a gateway is due; the serials gateways see nearby; lists imported
through a staging table (C7)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, bulk_insert, paginate
from onboard.adapters.db.repositories.staging import StagingTable
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.enrollment import (
    DeviceKind,
    Enrollment,
    EnrollmentFilter,
    EnrollmentState,
    Nearby,
    Sighting,
    StateChange,
)
from onboard.domain.enrollment_import import RejectionCode, StagedRejection, StagedRow
from onboard.services.ports import Page, PageRequest

# The states in which a gateway has work for an enrollment of one of its nodes (C4, C6).
ENROLL_JOBS = (EnrollmentState.PENDING.value, EnrollmentState.IN_PROGRESS.value)
UNENROLL_JOBS = (EnrollmentState.UNENROLL_PENDING.value,)


def _row(e: Enrollment, sealed_key: str) -> dict[str, Any]:
    return {
        "id": e.id,
        "organization_id": e.organization_id,
        "serial": e.serial,
        "kind": e.kind.value,
        "gateway_id": e.gateway_id,
        "name": e.name,
        "location": e.location,
        "photo_key": e.photo_key,
        "state": e.state.value,
        "reason": e.reason,
        "device_id": e.device_id,
        "access_key": sealed_key,
        "credential_digest": None,
        "capabilities": e.capabilities,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


# The rows of a list being imported (C7), in a temporary table of the importing
# transaction: the checks that need the whole list (duplicates, serials enrolled already,
# gateways) are SQL over it, and the valid rows go on with INSERT ... SELECT, so that a
# list of a million rows is never held in memory. Not part of the schema (its own
# metadata): it exists only inside one transaction.
import_rows = Table(
    "enrollment_import_rows",
    MetaData(),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("id", t.ID),
    Column("serial", String(100)),
    Column("kind", String(20)),
    Column("gateway", Text),
    Column("name", String(200)),
    Column("location", String(500)),
    Column("sealed_key", Text),
    Column("code", String(30)),
    Column("detail", Text),
    Column("gateway_id", t.ID),
    Column("other_row", Integer),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
    # Half of each page left free: the checks then update a row (its reason, its gateway)
    # on its own page without new index entries (HOT), which a rerun does to every row.
    postgresql_with={"fillfactor": 50},
)
_staging = StagingTable(import_rows, StagedRow._fields)
# Rows written to the records per statement while applying, so that progress is told.
APPLY_STEP = 50_000


class SqlEnrollments:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.enrollment_departments, "enrollment_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Enrollment]:
        links = self.links.of(r.id for r in rows)
        return [self._record(r, links[r.id]) for r in rows]

    @staticmethod
    def _record(r: Row[Any], departments: frozenset[str]) -> Enrollment:
        return Enrollment(
            r.id, r.organization_id, r.serial, DeviceKind(r.kind), r.gateway_id, r.name,
            r.location, EnrollmentState(r.state), r.reason, r.device_id, r.created_at,
            r.updated_at, departments, r.capabilities, r.photo_key,
        )  # fmt: skip

    def _first(self, *where: Any) -> Enrollment | None:
        rows = self.conn.execute(select(t.enrollments).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(self, enrollment: Enrollment, sealed_key: str) -> None:
        """A new pending enrollment; its first step of history is implied by it (see
        history())."""
        self.conn.execute(insert(t.enrollments).values(**_row(enrollment, sealed_key)))
        self.links.replace(enrollment.id, enrollment.departments)

    def get(self, scope: Scope, enrollment_id: str) -> Enrollment | None:
        c = t.enrollments.c
        return self._first(visible(scope, t.enrollments), c.id == enrollment_id)

    def get_unscoped(self, enrollment_id: str) -> Enrollment | None:
        return self._first(t.enrollments.c.id == enrollment_id)

    def active_by_serial(self, organization_id: str, serial: str) -> Enrollment | None:
        c = t.enrollments.c
        return self._first(
            c.organization_id == organization_id,
            c.serial == serial,
            c.state != EnrollmentState.UNENROLLED.value,
        )

    def candidates(self, serial: str, kinds: Sequence[DeviceKind]) -> list[Enrollment]:
        """Active enrollments of this serial in any organization, of these kinds: a device
        that enrolls itself does not know its organization (§6)."""
        c = t.enrollments.c
        return self._records(
            self.conn.execute(
                select(t.enrollments).where(
                    c.serial == serial,
                    c.kind.in_([k.value for k in kinds]),
                    c.state != EnrollmentState.UNENROLLED.value,
                )
            ).all()
        )

    def list_page(
        self, scope: Scope, wanted: EnrollmentFilter, page: PageRequest
    ) -> Page[Enrollment]:
        c = t.enrollments.c
        query = select(t.enrollments).where(visible(scope, t.enrollments))
        if wanted.states:
            query = query.where(c.state.in_([s.value for s in wanted.states]))
        if wanted.kind is not None:
            query = query.where(c.kind == wanted.kind.value)
        if wanted.gateway_id is not None:
            query = query.where(c.gateway_id == wanted.gateway_id)
        if wanted.serial is not None:
            query = query.where(c.serial == wanted.serial)
        if wanted.device_id is not None:
            query = query.where(c.device_id == wanted.device_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)

    def save(self, enrollment: Enrollment) -> None:
        """Store what changes over an enrollment's life: state and reason, twin,
        capabilities, name, location and photo."""
        e = enrollment
        self.conn.execute(
            update(t.enrollments)
            .where(t.enrollments.c.id == e.id)
            .values(
                state=e.state.value,
                reason=e.reason,
                device_id=e.device_id,
                capabilities=e.capabilities,
                name=e.name,
                location=e.location,
                photo_key=e.photo_key,
                updated_at=e.updated_at,
            )
        )

    def sealed_key(self, enrollment_id: str) -> str:
        c = t.enrollments.c
        return str(
            self.conn.execute(select(c.access_key).where(c.id == enrollment_id)).scalar_one()
        )

    def set_credential(self, enrollment_id: str, digest: str | None) -> None:
        c = t.enrollments.c
        self.conn.execute(
            update(t.enrollments).where(c.id == enrollment_id).values(credential_digest=digest)
        )

    def by_credential(self, digest: str) -> Enrollment | None:
        return self._first(t.enrollments.c.credential_digest == digest)

    def add_history(self, step_id: str, enrollment_id: str, change: StateChange) -> None:
        self.conn.execute(
            insert(t.enrollment_history).values(
                id=step_id,
                enrollment_id=enrollment_id,
                state=change.state.value,
                reason=change.reason,
                at=change.at,
            )
        )

    def history(self, enrollment_id: str) -> list[StateChange]:
        """Every step, oldest first. The first, pending from the moment the record was
        made, is the record's created_at rather than a row of its own: every enrollment
        starts so, and a list of a million makes a million fewer rows (C7)."""
        created = self.conn.execute(
            select(t.enrollments.c.created_at).where(t.enrollments.c.id == enrollment_id)
        ).scalar_one_or_none()
        if created is None:
            return []
        h = t.enrollment_history.c
        rows = self.conn.execute(
            select(h.state, h.reason, h.at).where(h.enrollment_id == enrollment_id).order_by(h.id)
        ).all()
        first = StateChange(EnrollmentState.PENDING, created)
        return [first, *(StateChange(EnrollmentState(r.state), r.at, r.reason) for r in rows)]

    def jobs_of(self, gateway_id: str, limit: int) -> list[Enrollment]:
        """The gateway's nodes it has work for (C4, C6): unenrollments first, so that a
        deleted node is reset at the gateway's next connection however many enrollments
        wait; then its enrollments, oldest first."""
        c = t.enrollments.c
        rows: list[Row[Any]] = []
        for states in (UNENROLL_JOBS, ENROLL_JOBS):
            if len(rows) >= limit:
                break
            rows += self.conn.execute(
                select(t.enrollments)
                .where(c.gateway_id == gateway_id, c.state.in_(states))
                .order_by(c.id)
                .limit(limit - len(rows))
            ).all()
        return self._records(rows)

    def report_nearby(self, gateway_id: str, seen: Sequence[Sighting], at: datetime) -> None:
        """Replace what the gateway saw with its latest report (C4)."""
        n = t.gateway_nearby.c
        self.conn.execute(delete(t.gateway_nearby).where(n.gateway_id == gateway_id))
        bulk_insert(
            self.conn,
            t.gateway_nearby,
            [
                {"gateway_id": gateway_id, "serial": n.serial, "rssi": n.rssi, "seen_at": at}
                for n in seen
            ],
        )

    def nearby(self, scope: Scope, gateway_ids: Sequence[str] | None) -> list[Nearby]:
        """Serials the gateways the scope sees reported nearby, strongest signal first,
        leaving out those enrolled already."""
        n = t.gateway_nearby.c
        e = t.enrollments.c
        enrolled = (
            select(e.serial)
            .where(e.organization_id == scope.organization_id, e.state != "unenrolled")
            .scalar_subquery()
        )
        query = (
            select(n.gateway_id, n.serial, n.rssi, n.seen_at)
            .join(t.enrollments, t.enrollments.c.id == n.gateway_id)
            .where(visible(scope, t.enrollments), n.serial.not_in(enrolled))
            .order_by(n.rssi.desc().nulls_last(), n.serial)
        )
        if gateway_ids is not None:
            query = query.where(n.gateway_id.in_(list(gateway_ids)))
        return [Nearby(r.gateway_id, r.serial, r.rssi, r.seen_at) for r in self.conn.execute(query)]

    def sealed_keys(self, after: str | None, limit: int) -> list[tuple[str, str, str]]:
        """One page of every organization's enrollments, by id after ``after``: id,
        organization and sealed key of each, for key rotation."""
        c = t.enrollments.c
        query = select(c.id, c.organization_id, c.access_key).order_by(c.id).limit(limit)
        if after is not None:
            query = query.where(c.id > after)
        return [(r.id, r.organization_id, r.access_key) for r in self.conn.execute(query)]

    def reseal(self, changes: Sequence[tuple[str, str, str]]) -> int:
        """For each (id, old, new), replace the sealed key only if the record still holds
        ``old`` (compare-and-set), so a concurrent change is never overwritten; how many
        were replaced. One statement executed for all of them."""
        if not changes:
            return 0
        c = t.enrollments.c
        statement = (
            update(t.enrollments)
            .where(c.id == bindparam("row_id"), c.access_key == bindparam("old_key"))
            .values(access_key=bindparam("new_key"))
        )
        rows = [{"row_id": i, "old_key": old, "new_key": new} for i, old, new in changes]
        return self.conn.execute(statement, rows).rowcount

    # --- lists imported (C7) -------------------------------------------------------------

    def start_import(self) -> None:
        """The staging table of a list, in this transaction only."""
        _staging.create(self.conn)

    def stage_import(self, rows: Iterable[StagedRow]) -> int:
        """Stage the rows as they come; how many there were."""
        return _staging.stage(self.conn, rows)

    def check_import(self, scope: Scope) -> None:
        """Refuse the staged rows the whole list or the database refuses, one reason a
        row: a serial in the list more than once (every such row, naming another), a
        serial enrolled already in the organization, a gateway that is neither an
        enrolled gateway the scope sees (by id or serial, not being unenrolled) nor a
        valid gateway row of the list (by serial)."""
        s = import_rows.c
        _staging.prepare_checks(self.conn)
        _staging.refuse_repeated_serials(self.conn, RejectionCode.DUPLICATE_IN_LIST.value)
        e = t.enrollments.c
        enrolled = select(e.id).where(
            e.organization_id == scope.organization_id,
            e.serial == s.serial,
            e.state != EnrollmentState.UNENROLLED.value,
        )
        _staging.refuse(self.conn, RejectionCode.ALREADY_ENROLLED.value, enrolled.exists())
        wanted = (s.code.is_(None), s.gateway.is_not(None))
        for by in (e.id, e.serial):
            self.conn.execute(
                update(import_rows)
                .where(
                    *wanted,
                    s.gateway_id.is_(None),
                    by == s.gateway,
                    visible(scope, t.enrollments),
                    e.kind == DeviceKind.GATEWAY.value,
                    e.state != EnrollmentState.UNENROLLED.value,
                    e.state != EnrollmentState.UNENROLL_PENDING.value,
                )
                .values(gateway_id=e.id)
            )
        listed = import_rows.alias("listed")
        self.conn.execute(
            update(import_rows)
            .where(
                *wanted,
                s.gateway_id.is_(None),
                listed.c.serial == s.gateway,
                listed.c.kind == DeviceKind.GATEWAY.value,
                listed.c.code.is_(None),
            )
            .values(gateway_id=listed.c.id)
        )
        unknown = (s.gateway.is_not(None), s.gateway_id.is_(None))
        _staging.refuse(self.conn, RejectionCode.UNKNOWN_GATEWAY.value, *unknown)

    def import_tally(self) -> dict[RejectionCode | None, int]:
        """How many staged rows are valid (None) and how many each reason refused."""
        tally = _staging.tally(self.conn).items()
        return {(RejectionCode(code) if code else None): n for code, n in tally}

    def import_rejections(self, after: int, limit: int) -> list[StagedRejection]:
        """One page of the refused rows, in the list's order, after row ``after``."""
        s = import_rows.c
        rows = self.conn.execute(
            select(s.number, s.code, s.serial, s.gateway, s.other_row, s.detail)
            .where(s.code.is_not(None), s.number > after)
            .order_by(s.number)
            .limit(limit)
        )
        return [
            StagedRejection(r.number, RejectionCode(r.code), r.serial, r.gateway, r.other_row,
                            r.detail)
            for r in rows
        ]  # fmt: skip

    def apply_import(
        self, organization_id: str, departments: frozenset[str], at: datetime
    ) -> Iterator[int]:
        """The valid staged rows become pending enrollments (their first step of history
        implied, as for add()) with their departments, a step of rows at a time (gateways
        first: the list's nodes may name them); yields how many are written so far."""
        s = import_rows.c
        valid = s.code.is_(None)
        done = self._apply(organization_id, departments, at, valid, s.kind == "gateway")
        yield done
        last = _staging.last_number(self.conn)
        for start in range(0, last, APPLY_STEP):
            window = (s.number > start, s.number <= start + APPLY_STEP, s.kind != "gateway")
            done += self._apply(organization_id, departments, at, valid, *window)
            yield done

    def _apply(
        self, organization_id: str, departments: frozenset[str], at: datetime, *where: Any
    ) -> int:
        s = import_rows.c
        moment = literal(at, t.UtcDateTime())
        pending = literal(EnrollmentState.PENDING.value)
        records = select(
            s.id, literal(organization_id), s.serial, s.kind, s.gateway_id, s.name,
            s.location, pending, s.sealed_key, moment, moment,
        ).where(*where)  # fmt: skip
        e = t.enrollments.c
        columns = [
            e.id, e.organization_id, e.serial, e.kind, e.gateway_id, e.name, e.location,
            e.state, e.access_key, e.created_at, e.updated_at,
        ]  # fmt: skip
        # Counted apart: psycopg's rowcount of an INSERT ... SELECT reads -1 here.
        written = self.conn.execute(select(func.count()).where(*where)).scalar_one()
        self.conn.execute(insert(t.enrollments).from_select(columns, records))
        d = t.enrollment_departments.c
        for department in sorted(departments):
            self.conn.execute(
                insert(t.enrollment_departments).from_select(
                    [d.enrollment_id, d.department_id],
                    select(s.id, literal(department)).where(*where),
                )
            )
        return int(written)

    def end_import(self) -> None:
        _staging.drop(self.conn)
