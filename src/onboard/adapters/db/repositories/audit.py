"""The audit log, read within the actor's scope."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    insert,
    or_,
    select,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, count, paginate
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.audit import AuditEntry, Event
from onboard.services.ports import AuditFilter, Page, PageRequest

# Built once: every change writes an entry and an event.
_INSERT_ENTRY = insert(t.audit_entries)
_INSERT_EVENT = insert(t.outbox_events)


def entry_values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "organization_id": entry.organization_id,
        "at": entry.at,
        "actor_kind": entry.actor_kind,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
        "source_ip": entry.source_ip,
        "device_id": entry.device_id,
    }


def event_values(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "organization_id": event.organization_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "payload": event.payload,
        "published_at": None,
    }


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.audit_entry_departments, "entry_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[AuditEntry]:
        links = self.links.of(r.id for r in rows)
        return [
            AuditEntry(
                r.id,
                r.organization_id,
                r.at,
                r.actor_kind,
                r.actor_id,
                r.actor_label,
                r.action,
                r.target_type,
                r.target_id,
                r.before,
                r.after,
                r.source_ip,
                links[r.id] or None,
                r.device_id,
            )
            for r in rows
        ]

    def add(self, entry: AuditEntry) -> None:
        self.conn.execute(_INSERT_ENTRY, entry_values(entry))
        self.links.add(entry.id, entry.departments)

    def add_event(self, event: Event) -> None:
        """The change's event in the transactional outbox (P9)."""
        self.conn.execute(_INSERT_EVENT, event_values(event))

    def list_page(self, scope: Scope, filters: AuditFilter, page: PageRequest) -> Page[AuditEntry]:
        c = t.audit_entries.c
        query = select(t.audit_entries).where(visible(scope, t.audit_entries))
        if filters.action:
            query = query.where(
                or_(
                    c.action == filters.action,
                    c.action.startswith(filters.action.rstrip(".") + "."),
                )
            )
        if filters.target:
            query = query.where(or_(c.target_id == filters.target, c.target_type == filters.target))
        if filters.actor:
            query = query.where(
                or_(c.actor_id == filters.actor, c.actor_label.startswith(filters.actor))
            )
        if filters.since:
            query = query.where(c.at >= filters.since)
        if filters.until:
            query = query.where(c.at < filters.until)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)

    def of_device(
        self, device_id: str, page: PageRequest, *, actions: Collection[str] = ()
    ) -> Page[AuditEntry]:
        """A device's lifecycle timeline (A3), newest first, only ``actions`` when given;
        the caller has checked that the device is visible."""
        c = t.audit_entries.c
        query = select(t.audit_entries).where(c.device_id == device_id)
        if actions:
            query = query.where(c.action.in_(actions))
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.audit_entries, visible(scope, t.audit_entries))
