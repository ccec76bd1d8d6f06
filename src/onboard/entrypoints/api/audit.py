"""GET /api/v1/audit: the audit log with filters, as JSON pages or a CSV export (SPEC P8)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from onboard.domain.access import Actor
from onboard.domain.audit import AuditEntry
from onboard.domain.errors import Invalid
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, Svc, next_cursor
from onboard.entrypoints.api.schemas import NO_NUL
from onboard.services.audit import list_audit
from onboard.services.ports import AuditFilter, PageRequest, Services

router = APIRouter(prefix="/audit", tags=["audit"])

CSV_COLUMNS = [
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "source_ip",
]
Filter = Annotated[str | None, Query(max_length=200, pattern=NO_NUL)]


def _csv_row(e: AuditEntry) -> list[str]:
    return [
        e.id,
        e.at.isoformat(),
        e.actor_kind,
        e.actor_id or "",
        e.actor_label,
        e.action,
        e.target_type,
        e.target_id,
        json.dumps(e.before) if e.before is not None else "",
        json.dumps(e.after) if e.after is not None else "",
        e.source_ip or "",
    ]


def _csv_lines(svc: Services, actor: Actor, filters: AuditFilter) -> Iterator[str]:
    """Every matching entry, newest first, read a page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    after: str | None = None
    while True:
        page = list_audit(svc, actor, filters, PageRequest(after, 500))
        for entry in page.items:
            writer.writerow(_csv_row(entry))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next_after is None:
            return
        after = page.next_after


@router.get(
    "",
    response_model=s.PageOf[s.AuditEntryPublic],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def list_(
    svc: Svc,
    actor: CurrentActor,
    paging: Paging,
    action: Filter = None,
    target: Filter = None,
    actor_filter: Annotated[
        str | None, Query(alias="actor", max_length=200, pattern=NO_NUL)
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> s.PageOf[s.AuditEntryPublic] | StreamingResponse:
    """Newest first. ``action`` matches an action or its prefix (``member`` finds
    ``member.created``); ``target`` a target id or type; ``actor`` an actor id or email."""
    filters = AuditFilter(
        action=action,
        target=target,
        actor=actor_filter,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
    )
    if format == "csv":
        list_audit(svc, actor, filters, PageRequest(None, 1))  # permission check before streaming
        return StreamingResponse(
            _csv_lines(svc, actor, filters),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    page = list_audit(svc, actor, filters, paging)
    return s.PageOf(
        items=[present.audit_entry(e) for e in page.items], next_cursor=next_cursor(page)
    )


def _aware(moment: datetime | None, field: str) -> datetime | None:
    """The moment in UTC; a time without zone is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise Invalid(
            f"The {field} time is out of range.", fields={field: "out of range"}
        ) from None
