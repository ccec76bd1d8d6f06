"""Engines: SQLite (WAL, foreign keys on) for the embedded default, PostgreSQL for production."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

# A pooled connection idle for longer than this is checked with a round trip before use:
# the database may have restarted or dropped it meanwhile. One in steady use is not, which
# saves a round trip on every request (a failure on one that broke while busy is seen
# like any other and the pool starts afresh).
PING_AFTER_IDLE_SECONDS = 2.0


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() in {"postgresql", "postgres"}


def _with_setting(options: str | tuple[str, ...] | None, setting: str) -> str:
    """libpq's ``options`` with ``-c setting`` after those the URL gives (a later ``-c``
    wins, so this one holds)."""
    given = [options] if isinstance(options, str) else list(options or ())
    return " ".join([*given, f"-c {setting}"])


def build_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    """An engine for ``url``; a ``postgresql://`` URL uses the psycopg 3 driver. An
    ``autocommit`` engine (PostgreSQL only) has its own pool of connections that run each
    statement as a transaction of its own: set so once, as they connect, rather than on
    every checkout and back on every return, and with nothing to roll back on return."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if autocommit:
            raise ValueError("an autocommit engine is for PostgreSQL")
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # No overflow: connections beyond the pool would be closed as soon as they are returned,
    # so a steady load above it starts and ends a PostgreSQL backend every few requests;
    # a request beyond the pool waits for a connection instead.
    # The autocommit pool serves short lookups and writes (activations, D4 §7; the code
    # page, A12). A batch's estimate can pass jit_above_cost, and PostgreSQL then compiles
    # it on every run: 60 ms, for a statement that runs in under 1 ms. No JIT there; the
    # URL's own `options` (other settings of the operator's) are kept.
    options: dict[str, Any] = (
        {
            "isolation_level": "AUTOCOMMIT",
            "pool_reset_on_return": None,
            "connect_args": {"options": _with_setting(parsed.query.get("options"), "jit=off")},
        }
        if autocommit
        else {}
    )
    engine = create_engine(parsed, pool_size=pool_size, max_overflow=0, **options)
    event.listen(engine, "connect", _mark_returned)
    event.listen(engine, "checkin", _mark_returned)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def _mark_returned(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["returned_at"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    """SQLAlchemy's pre-ping, for connections that sat idle in the pool only."""

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get("returned_at", 0.0)
        if idle < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure means: use another connection
            raise DisconnectionError("the pooled connection is gone") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is gone")

    return check


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off; BEGIN IMMEDIATE below takes the write
    # lock at the start, so concurrent writers queue instead of failing on upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
