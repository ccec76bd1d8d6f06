"""Codes and their notification history; pairing is one atomic UPDATE (SPEC A6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, bulk_insert, count, paginate
from onboard.adapters.db.repositories.devices import device_of, fields_of, like_pattern
from onboard.adapters.db.repositories.effective import hold_device, refresh
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.batches import Progress
from onboard.domain.codes import TOKEN_LENGTH, Code, Notification, normalize_token_prefix
from onboard.domain.devices import Device, Template
from onboard.services.ports import CodeFilter, Page, PageRequest


class SqlCodes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.code_departments, "code_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Code]:
        links = self.links.of(r.id for r in rows)
        return [
            Code(
                id=r.id,
                organization_id=r.organization_id,
                token=r.token,
                label=r.label,
                batch=r.batch,
                active=r.active,
                pin_hash=r.pin_hash,
                departments=links[r.id],
                device_id=r.device_id,
                created_at=r.created_at,
                updated_at=r.updated_at,
                payload=r.payload,
                printed_at=r.printed_at,
            )
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> Code | None:
        rows = self.conn.execute(select(t.codes).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add_many(self, codes: Sequence[Code]) -> None:
        """Insert in bulk (COPY on PostgreSQL), not one statement a code. A new unpaired
        code's effective departments are its own (A8): written as they are, without the
        join refresh() makes for paired ones."""
        bulk_insert(
            self.conn,
            t.codes,
            [
                {
                    "id": c.id,
                    "organization_id": c.organization_id,
                    "token": c.token,
                    "label": c.label,
                    "batch": c.batch,
                    "active": c.active,
                    "pin_hash": c.pin_hash,
                    "device_id": c.device_id,
                    "created_at": c.created_at,
                    "updated_at": c.updated_at,
                    "payload": c.payload,
                }
                for c in codes
            ],
        )
        links = [
            {"code_id": c.id, "department_id": d} for c in codes for d in sorted(c.departments)
        ]
        bulk_insert(self.conn, t.code_departments, links)
        unpaired = {c.id for c in codes if c.device_id is None}
        bulk_insert(
            self.conn,
            t.code_effective_departments,
            [link for link in links if link["code_id"] in unpaired],
        )
        paired = [c.id for c in codes if c.device_id is not None]
        if paired:
            refresh(self.conn, t.codes.c.id.in_(paired), new=True)

    def get(self, scope: Scope, token: str) -> Code | None:
        return self._one(visible(scope, t.codes), t.codes.c.token == token)

    def get_by_payload(self, scope: Scope, payload: str) -> Code | None:
        return self._one(visible(scope, t.codes), t.codes.c.payload == payload)

    def get_by_token(self, token: str) -> Code | None:
        return self._one(t.codes.c.token == token)

    def resolve(self, token: str) -> tuple[Code, Device | None, Template | None] | None:
        row = self.conn.execute(_resolution(), {"token": token}).first()
        if row is None:
            return None
        code = Code(
            row.id, row.organization_id, row.token, row.label, row.batch, row.active,
            row.pin_hash, frozenset(), row.device_id, row.created_at, row.updated_at,
            row.payload,
        )  # fmt: skip
        if row.d_id is None:
            return code, None, None
        device = device_of(row, frozenset(), prefix="d_")
        template = None
        if row.d_template_id is not None:
            template = Template(
                row.d_template_id, row.organization_id, row.template_name,
                fields_of(row.template_fields), frozenset(), row.d_created_at,
            )  # fmt: skip
        return code, device, template

    def list_page(self, scope: Scope, filters: CodeFilter, page: PageRequest) -> Page[Code]:
        query = select(t.codes).where(_filtered(scope, filters))
        return paginate(self.conn, query, t.codes.c.id, page, self._records)

    def tokens_page(
        self, scope: Scope, filters: CodeFilter, page: PageRequest
    ) -> Page[tuple[str, str]]:
        """Ids and tokens only, oldest first: what a print run needs of a million codes."""
        c = t.codes.c
        query = select(c.id, c.token).where(_filtered(scope, filters))
        return paginate(self.conn, query, c.id, page, lambda rows: [(r.id, r.token) for r in rows])

    def tally(self, scope: Scope, batches: Sequence[str]) -> dict[str, Progress]:
        """The scope's codes of each batch, printed and paired, in one pass."""
        c = t.codes.c
        query = (
            select(c.batch, func.count(), func.count(c.printed_at), func.count(c.device_id))
            .where(visible(scope, t.codes), c.batch.in_(list(batches)))
            .group_by(c.batch)
        )
        found = {
            batch: Progress(int(codes), int(printed), int(paired))
            for batch, codes, printed, paired in self.conn.execute(query)
        }
        return {batch: found.get(batch, Progress()) for batch in batches}

    def mark_printed(
        self, scope: Scope, filters: CodeFilter, after: str | None, through: str, at: datetime
    ) -> int:
        """Note ``at`` as the first printing of the matching codes with ids after ``after``
        up to ``through``; codes printed before keep their first time."""
        c = t.codes.c
        where = [_filtered(scope, filters), c.id <= through, c.printed_at.is_(None)]
        if after is not None:
            where.append(c.id > after)
        result = self.conn.execute(update(t.codes).where(*where).values(printed_at=at))
        return int(result.rowcount)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.codes, visible(scope, t.codes))

    def of_device(self, device_id: str) -> list[Code]:
        rows = self.conn.execute(
            select(t.codes).where(t.codes.c.device_id == device_id).order_by(t.codes.c.id)
        ).all()
        return self._records(rows)

    def of_devices(self, device_ids: Sequence[str]) -> dict[str, list[Code]]:
        found: dict[str, list[Code]] = {device_id: [] for device_id in device_ids}
        if found:
            rows = self.conn.execute(
                select(t.codes).where(t.codes.c.device_id.in_(list(found))).order_by(t.codes.c.id)
            ).all()
            for code in self._records(rows):
                found[code.device_id or ""].append(code)
        return found

    def claim(self, code_id: str, device_id: str, at: datetime) -> bool:
        c = t.codes.c
        result = self.conn.execute(
            update(t.codes)
            .where(c.id == code_id, c.device_id.is_(None), c.active.is_(True))
            .values(device_id=device_id, updated_at=at)
        )
        if result.rowcount != 1:
            return False
        # The foreign key check holds the device's row (KEY SHARE): its departments cannot
        # change before this commits (A8).
        refresh(self.conn, c.id == code_id)
        return True

    def release(self, code_id: str, device_id: str, at: datetime) -> bool:
        c = t.codes.c
        result = self.conn.execute(
            update(t.codes)
            .where(c.id == code_id, c.device_id == device_id)
            .values(device_id=None, updated_at=at)
        )
        if result.rowcount != 1:
            return False
        # Code row first, then the device's, as pairing does: a department change of the
        # device waits for this unpairing or is seen done by it (A8).
        hold_device(self.conn, device_id, exclusive=False)
        refresh(self.conn, c.id == code_id)
        return True

    def lock_paired(self, code_id: str, device_id: str) -> bool:
        """Hold the code's row to the end of the transaction if it is active and paired
        with the device; False if not. A concurrent unpairing waits for this transaction,
        or this one sees it done (SQLite's BEGIN IMMEDIATE already serializes writers)."""
        c = t.codes.c
        held = self.conn.execute(
            select(c.id)
            .where(c.id == code_id, c.device_id == device_id, c.active.is_(True))
            .with_for_update(key_share=True)
        ).first()
        return held is not None

    def update(self, code: Code) -> None:
        self.conn.execute(
            update(t.codes)
            .where(t.codes.c.id == code.id)
            .values(
                label=code.label,
                batch=code.batch,
                active=code.active,
                pin_hash=code.pin_hash,
                updated_at=code.updated_at,
            )
        )
        self.links.replace(code.id, code.departments)
        # Own departments are effective only while unpaired (A8); the UPDATE above holds the
        # code's row, so its pairing cannot change meanwhile.
        refresh(self.conn, (t.codes.c.id == code.id) & t.codes.c.device_id.is_(None))

    def delete(self, code_id: str) -> None:
        self.conn.execute(delete(t.codes).where(t.codes.c.id == code_id))
        effective = t.code_effective_departments
        self.conn.execute(delete(effective).where(effective.c.code_id == code_id))


@cache
def _resolution() -> Select[Any]:
    """The code, its device and the device's template by token, in one query (A12). Built
    once: building a select of forty labelled columns costs more than running it."""
    codes, devices, templates = t.codes, t.devices, t.templates
    return (
        select(
            codes,
            *(column.label(f"d_{column.name}") for column in devices.c),
            templates.c.name.label("template_name"),
            templates.c.fields.label("template_fields"),
        )
        .select_from(
            codes.outerjoin(devices, devices.c.id == codes.c.device_id).outerjoin(
                templates, templates.c.id == devices.c.template_id
            )
        )
        .where(codes.c.token == bindparam("token"))
    )


def _filtered(scope: Scope, filters: CodeFilter) -> ColumnElement[bool]:
    """The codes of the scope (P5) that pass the filters (A16), as one condition."""
    c = t.codes.c
    where: list[ColumnElement[bool]] = [visible(scope, t.codes)]
    if filters.paired is not None:
        where.append(c.device_id.is_not(None) if filters.paired else c.device_id.is_(None))
    if filters.active is not None:
        where.append(c.active.is_(filters.active))
    if filters.pin is not None:
        where.append(c.pin_hash.is_not(None) if filters.pin else c.pin_hash.is_(None))
    if filters.printed is not None:
        where.append(c.printed_at.is_not(None) if filters.printed else c.printed_at.is_(None))
    if filters.batch:
        where.append(c.batch == filters.batch)
    if filters.device_id:
        where.append(c.device_id == filters.device_id)
    if filters.department:
        where.append(_in_department(filters.department))
    if filters.q:
        where.append(_matching(filters.q))
    return and_(*where)


def _matching(q: str) -> ColumnElement[bool]:
    """A token (as typed or scanned) by its start, at least MIN_TOKEN_PREFIX characters, on
    a b-tree: the whole token by the unique index, a prefix by the pattern index
    (PostgreSQL); label and batch by substring (trigram indexes)."""
    c = t.codes.c
    pattern = like_pattern(q)
    matches: list[ColumnElement[bool]] = [
        c.label.ilike(pattern, escape="\\"),
        c.batch.ilike(pattern, escape="\\"),
    ]
    start = normalize_token_prefix(q)
    if start is not None:
        # A token start holds only Crockford characters: nothing to escape in LIKE.
        by_token = c.token == start if len(start) == TOKEN_LENGTH else c.token.like(start + "%")
        matches.insert(0, by_token)
    return or_(*matches)


def _in_department(department: str) -> ColumnElement[bool]:
    """A code is in a department by its effective departments (A8), kept as rows: one
    probe of the (department_id, code_id) index."""
    effective = t.code_effective_departments.c
    return exists(
        select(effective.code_id).where(
            effective.code_id == t.codes.c.id, effective.department_id == department
        )
    )


class SqlNotifications:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Notification]:
        return [
            Notification(
                r.id,
                r.organization_id,
                r.code_id,
                r.device_id,
                r.interaction_id,
                r.message,
                r.contact,
                r.created_at,
            )
            for r in rows
        ]

    def add(self, notification: Notification) -> None:
        self.conn.execute(
            insert(t.code_notifications).values(
                id=notification.id,
                organization_id=notification.organization_id,
                code_id=notification.code_id,
                device_id=notification.device_id,
                interaction_id=notification.interaction_id,
                message=notification.message,
                contact=notification.contact,
                created_at=notification.created_at,
            )
        )

    def get(self, code_id: str, notification_id: str) -> Notification | None:
        c = t.code_notifications.c
        rows = self.conn.execute(
            select(t.code_notifications).where(c.code_id == code_id, c.id == notification_id)
        ).all()
        return next(iter(self._records(rows)), None)

    def list_page(self, code_id: str, page: PageRequest) -> Page[Notification]:
        c = t.code_notifications.c
        query = select(t.code_notifications).where(c.code_id == code_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)

    def delete(self, notification_id: str) -> None:
        c = t.code_notifications.c
        self.conn.execute(delete(t.code_notifications).where(c.id == notification_id))

    def delete_for_code(self, code_id: str) -> int:
        c = t.code_notifications.c
        result = self.conn.execute(delete(t.code_notifications).where(c.code_id == code_id))
        return int(result.rowcount)
