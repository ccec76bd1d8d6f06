"""Reading what browsers send: the CSRF field, page cursors, times, departments choices and
where to go next, and links that keep a page's query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query

from onboard.domain.errors import Invalid
from onboard.entrypoints import http
from onboard.services.ports import PageRequest

PAGE_SIZE = 50
ALL_DEPARTMENTS = "all"

# The hidden CSRF field of every form; handlers pass it to http.check_csrf() first.
CsrfField = Annotated[str, Form(alias=http.CSRF_FIELD)]
Text = Annotated[str, Form(max_length=1000)]
# Checkboxes sharing a name; none ticked sends nothing, hence None.
Choices = Annotated[list[str] | None, Form(max_length=500)]
# Where to continue after signing in or choosing an organization (checked by safe_next()).
NextQuery = Annotated[str | None, Query(alias="next", max_length=2000)]
NextField = Annotated[str, Form(alias="next", max_length=2000)]


def _cursor(after: Annotated[str | None, Query(max_length=64)] = None) -> PageRequest:
    """Keyset paging: ``after`` is the last id of the previous page, as the lists gave it."""
    if after is not None and not after.isalnum():
        raise Invalid(
            "That page link is not one onboard gave out.", fields={"after": "invalid page link"}
        )
    return PageRequest(after or None, PAGE_SIZE)


Cursor = Annotated[PageRequest, Depends(_cursor)]


def safe_next(raw: str | None, default: str) -> str:
    """A place inside onboard to continue to after signing in; anything else (another
    site, a scheme-relative URL, characters browsers drop or turn into slashes) falls back
    to ``default``."""
    if not raw or len(raw) > 2000 or not raw.startswith("/") or raw.startswith("//"):
        return default
    if any(c == "\\" or c.isspace() or not c.isprintable() for c in raw):
        return default
    return raw


def parse_time(raw: str, *, field: str) -> datetime | None:
    """A time from a date or datetime-local input, read as UTC; empty means none."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(
            f"{raw!r} is not a date and time (YYYY-MM-DD HH:MM).",
            fields={field: "not a date and time"},
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def chosen_departments(access: str, departments: list[str]) -> list[str] | None:
    """The departments radio: "all" means every department (None); otherwise those ticked."""
    if access == ALL_DEPARTMENTS:
        return None
    return [d for d in departments if d]


def with_query(path: str, **values: str | None) -> str:
    """``path`` with the given values as its query, leaving out the empty ones."""
    kept = {k: v for k, v in values.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path
