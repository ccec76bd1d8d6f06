"""Enrollment records (SPEC Part C): stored with their sealed access keys, departments and
history; the jobs a gateway is due; the serials gateways see nearby."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, or_, select, update

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, bulk_insert, paginate
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
from onboard.services.ports import Page, PageRequest

# The states in which a gateway has work for an enrollment of one of its nodes (C4, C6).
JOB_STATES = (
    EnrollmentState.PENDING.value,
    EnrollmentState.IN_PROGRESS.value,
    EnrollmentState.UNENROLL_PENDING.value,
)


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
        self.conn.execute(insert(t.enrollments).values(**_row(enrollment, sealed_key)))
        self.links.replace(enrollment.id, enrollment.departments)

    def add_many(self, enrollments: Sequence[tuple[Enrollment, str]]) -> None:
        """Many new records at once (C7), with their departments and first history step."""
        bulk_insert(self.conn, t.enrollments, [_row(e, key) for e, key in enrollments])
        links = [
            {"enrollment_id": e.id, "department_id": d}
            for e, _ in enrollments
            for d in sorted(e.departments)
        ]
        bulk_insert(self.conn, t.enrollment_departments, links)

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

    def taken_serials(self, organization_id: str, serials: Sequence[str]) -> set[str]:
        """Which of these serials an enrollment of the organization holds (C6, C7)."""
        c = t.enrollments.c
        taken: set[str] = set()
        for start in range(0, len(serials), 1000):
            chunk = list(serials[start : start + 1000])
            # The condition of the partial unique index on (organization, serial), word for
            # word, so that the index answers: a list of states does not match it, and the
            # query then read every enrollment of the organization (seconds each at 100,000).
            query = select(c.serial).where(
                c.organization_id == organization_id,
                c.serial.in_(chunk),
                c.state != EnrollmentState.UNENROLLED.value,
            )
            taken.update(self.conn.execute(query).scalars())
        return taken

    def gateways_named(self, scope: Scope, names: Sequence[str]) -> dict[str, str]:
        """Of these serials or enrollment ids, those naming a gateway the scope sees that is
        not being unenrolled, each with the gateway's id (C4, C7)."""
        c = t.enrollments.c
        leaving = [EnrollmentState.UNENROLL_PENDING.value, EnrollmentState.UNENROLLED.value]
        found: dict[str, str] = {}
        for start in range(0, len(names), 500):
            chunk = list(names[start : start + 500])
            query = select(c.id, c.serial).where(
                visible(scope, t.enrollments),
                c.kind == DeviceKind.GATEWAY.value,
                c.state.not_in(leaving),
                or_(c.id.in_(chunk), c.serial.in_(chunk)),
            )
            for row in self.conn.execute(query):
                found[row.id] = row.id
                found.setdefault(row.serial, row.id)
        return {name: found[name] for name in names if name in found}

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

    def add_history_many(self, steps: Sequence[tuple[str, str, StateChange]]) -> None:
        bulk_insert(
            self.conn,
            t.enrollment_history,
            [
                {
                    "id": step_id,
                    "enrollment_id": enrollment_id,
                    "state": change.state.value,
                    "reason": change.reason,
                    "at": change.at,
                }
                for step_id, enrollment_id, change in steps
            ],
        )

    def history(self, enrollment_id: str) -> list[StateChange]:
        h = t.enrollment_history.c
        rows = self.conn.execute(
            select(h.state, h.reason, h.at).where(h.enrollment_id == enrollment_id).order_by(h.id)
        ).all()
        return [StateChange(EnrollmentState(r.state), r.at, r.reason) for r in rows]

    def jobs_of(self, gateway_id: str, limit: int) -> list[Enrollment]:
        """The gateway's nodes it has work for, oldest first (C4, C6)."""
        c = t.enrollments.c
        rows = self.conn.execute(
            select(t.enrollments)
            .where(c.gateway_id == gateway_id, c.state.in_(JOB_STATES))
            .order_by(c.id)
            .limit(limit)
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
