"""Rate-limit counters shared by every server process."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    case,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from onboard.adapters.db import tables as t


class SqlRateLimits:
    """Fixed-window counters in the database, so every server process shares them. A hit is
    one atomic upsert, so concurrent attempts are all counted."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def count(self, key: str, *, now: datetime, window_seconds: int) -> int:
        row = self.conn.execute(select(t.rate_limits).where(t.rate_limits.c.key == key)).first()
        if row is None or now - row.window_start >= timedelta(seconds=window_seconds):
            return 0
        return int(row.hits)

    def hit(self, key: str, *, now: datetime, window_seconds: int) -> int:
        table = t.rate_limits
        expired = table.c.window_start <= now - timedelta(seconds=window_seconds)
        values = self._insert(table).values(key=key, window_start=now, hits=1)
        statement = values.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((expired, 1), else_=table.c.hits + 1),
                "window_start": case((expired, now), else_=table.c.window_start),
            },
        ).returning(table.c.hits)
        return int(self.conn.execute(statement).scalar_one())

    def reset(self, key: str) -> None:
        self.conn.execute(delete(t.rate_limits).where(t.rate_limits.c.key == key))
