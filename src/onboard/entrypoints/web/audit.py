"""The audit log page: entries newest first, filters, paging and the CSV export (SPEC P8)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from onboard.domain.audit import AuditEntry
from onboard.domain.errors import Invalid
from onboard.entrypoints.web.departments import department_names
from onboard.entrypoints.web.forms import Cursor, parse_time
from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.audit import list_audit
from onboard.services.ports import AuditFilter

router = web_router()

Filter = Annotated[str, Query(max_length=200)]


@dataclass(frozen=True)
class ChangedField:
    name: str
    before: str | None
    after: str | None


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "none"
    return json.dumps(value, sort_keys=True)


def changed_fields(entry: AuditEntry, departments: dict[str, str]) -> list[ChangedField]:
    """Each field the change touched, with its value before and after (what stayed the
    same is left out of an update); departments by name where the reader sees them."""

    def shown(name: str, value: Any) -> str:
        if name == "departments":
            if value is None:
                return "all"
            if isinstance(value, list):
                value = [departments.get(str(v), v) for v in value]
        return _shown(value)

    before, after = entry.before or {}, entry.after or {}
    shown_fields = []
    for name in sorted(set(before) | set(after)):
        old = shown(name, before[name]) if name in before else None
        new = shown(name, after[name]) if name in after else None
        if entry.before is not None and entry.after is not None and old == new:
            continue
        shown_fields.append(ChangedField(name, old, new))
    return shown_fields


@router.get("/audit")
def list_(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    paging: Cursor,
    action: Filter = "",
    target: Filter = "",
    actor_filter: Annotated[str, Query(alias="actor", max_length=200)] = "",
    since: Filter = "",
    until: Filter = "",
) -> Response:
    raw = {
        "action": action.strip(),
        "target": target.strip(),
        "actor": actor_filter.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    try:
        filters = AuditFilter(
            action=raw["action"] or None,
            target=raw["target"] or None,
            actor=raw["actor"] or None,
            since=parse_time(raw["since"], field="since"),
            until=parse_time(raw["until"], field="until"),
        )
    except Invalid as error:
        return render(
            request,
            "audit/list.html",
            {
                "area": "audit",
                "filters": raw,
                "page": None,
                "changes": {},
                "next_url": None,
                "export_url": None,
                "paged": False,
                "filtered": True,
                "first_url": "/audit",
            },
            error=error,
        )
    page = list_audit(svc, actor, filters, paging)
    names = department_names(svc, actor)
    given = {k: v for k, v in raw.items() if v}
    exported = {k: v for k, v in given.items() if k not in ("since", "until")}
    if filters.since:
        exported["since"] = filters.since.isoformat()
    if filters.until:
        exported["until"] = filters.until.isoformat()
    next_url = (
        f"/audit?{urlencode({**given, 'after': page.next_after})}" if page.next_after else None
    )
    return render(
        request,
        "audit/list.html",
        {
            "area": "audit",
            "filters": raw,
            "page": page,
            "changes": {e.id: changed_fields(e, names) for e in page.items},
            "next_url": next_url,
            "export_url": f"/api/v1/audit?{urlencode({'format': 'csv', **exported})}",
            "first_url": f"/audit?{urlencode(given)}" if given else "/audit",
            "paged": paging.after is not None,
            "filtered": bool(given),
        },
    )
