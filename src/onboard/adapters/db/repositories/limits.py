"""Rate-limit counters shared by every server process."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from onboard.adapters.db import tables as t


def _hit_statement(dialect: str) -> Any:
    """The upsert of a hit, built once per dialect: a request pays only for its values."""
    table = t.rate_limits
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    at = bindparam("hit_at", type_=t.UtcDateTime())
    expired = table.c.window_start <= bindparam("expired_before", type_=t.UtcDateTime())
    values = make(table).values(key=bindparam("hit_key"), window_start=at, hits=1)
    return values.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": case((expired, 1), else_=table.c.hits + 1),
            "window_start": case((expired, at), else_=table.c.window_start),
        },
    ).returning(table.c.hits)


_HIT = {dialect: _hit_statement(dialect) for dialect in ("postgresql", "sqlite")}
_COUNT = select(t.rate_limits).where(t.rate_limits.c.key == bindparam("hit_key"))


class SqlRateLimits:
    """Fixed-window counters in the database, so every server process shares them. A hit is
    one atomic upsert, so concurrent attempts are all counted."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._hit = _HIT[conn.dialect.name]

    def count(self, key: str, *, now: datetime, window_seconds: int) -> int:
        row = self.conn.execute(_COUNT, {"hit_key": key}).first()
        if row is None or now - row.window_start >= timedelta(seconds=window_seconds):
            return 0
        return int(row.hits)

    def hit(self, key: str, *, now: datetime, window_seconds: int) -> int:
        expired_before = now - timedelta(seconds=window_seconds)
        found = self.conn.execute(
            self._hit, {"hit_key": key, "hit_at": now, "expired_before": expired_before}
        )
        return int(found.scalar_one())

    def reset(self, key: str) -> None:
        self.conn.execute(delete(t.rate_limits).where(t.rate_limits.c.key == key))
