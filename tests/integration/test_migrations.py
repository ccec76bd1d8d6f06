"""Migrations: they build exactly the tables the code uses, and can go down and up again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import (
    current_revision,
    downgrade,
    include_object_for,
    upgrade,
)
from onboard.adapters.db.tables import metadata
from tests.conftest import BACKENDS, postgres_database


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new, empty database of each backend."""
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    urls = postgres_database(f"onboard_mig_{secrets.token_hex(4)}")
    engine = build_engine(next(urls))
    yield engine
    engine.dispose()
    for _ in urls:
        pass


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object_for(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, metadata))


def test_the_migrations_build_exactly_the_tables_the_code_declares(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_upgrade_downgrade_upgrade_leaves_the_same_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) == tables
    assert _differences(empty_engine) == []


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    revision = current_revision(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == revision


def test_batches_that_codes_already_name_get_their_record_and_pin_policy(
    empty_engine: Engine,
) -> None:
    """Issue 5: after 0005 every batch number in use has its batch record; a batch whose
    codes all open with one PIN keeps it as the batch's PIN policy."""
    upgrade(empty_engine, "0004")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    code_rows = [
        ("A", "hash-1"), ("A", "hash-1"), ("B", "hash-1"), ("B", None), ("C", "x"), ("C", "y"),
        (None, None),
    ]  # fmt: skip
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organizations (id, name, created_at) VALUES ('O1', 'Org', :at)"),
            {"at": now},
        )
        for n, (batch, pin_hash) in enumerate(code_rows):
            conn.execute(
                text(
                    "INSERT INTO codes (id, organization_id, token, batch, active, pin_hash,"
                    " created_at, updated_at) VALUES (:id, 'O1', :token, :batch, :active,"
                    " :pin_hash, :at, :at)"
                ),
                {
                    "id": f"C{n}", "token": f"TOKEN{n:011d}", "batch": batch, "active": True,
                    "pin_hash": pin_hash, "at": now,
                },
            )  # fmt: skip

    upgrade(empty_engine)

    with empty_engine.connect() as conn:
        found = conn.execute(
            text("SELECT number, pin_hash FROM code_batches WHERE organization_id = 'O1'")
        ).all()
    assert sorted(tuple(row) for row in found) == [("A", "hash-1"), ("B", None), ("C", None)]


def test_an_enrollments_first_step_becomes_implied_by_its_record_and_comes_back_down(
    empty_engine: Engine,
) -> None:
    """C7: after 0010 the first step of history (pending when the record was made) is the
    record's created_at, not a row; later steps stay, a later pending one (a retry) too.
    Going down writes the first steps back."""
    upgrade(empty_engine, "0009")
    made = datetime(2026, 11, 1, tzinfo=UTC)
    later = datetime(2026, 11, 2, tzinfo=UTC)
    steps = [
        ("H1", "E1", "pending", made), ("H2", "E1", "in_progress", later),
        ("H3", "E1", "failed", later), ("H4", "E1", "pending", later),
        ("H5", "E2", "pending", made),
    ]  # fmt: skip
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organizations (id, name, created_at) VALUES ('O1', 'Org', :at)"),
            {"at": made},
        )
        for enrollment_id in ("E1", "E2"):
            conn.execute(
                text(
                    "INSERT INTO enrollments (id, organization_id, serial, kind, state,"
                    " access_key, created_at, updated_at) VALUES (:id, 'O1', :id, 'direct',"
                    " 'pending', 'sealed', :at, :at)"
                ),
                {"id": enrollment_id, "at": made},
            )
        for step_id, enrollment_id, state, at in steps:
            conn.execute(
                text(
                    "INSERT INTO enrollment_history (id, enrollment_id, state, at)"
                    " VALUES (:id, :enrollment_id, :state, :at)"
                ),
                {"id": step_id, "enrollment_id": enrollment_id, "state": state, "at": at},
            )

    def stored() -> list[tuple[str, str]]:
        with empty_engine.connect() as conn:
            rows = conn.execute(
                text("SELECT enrollment_id, state FROM enrollment_history ORDER BY id")
            ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    upgrade(empty_engine)
    assert stored() == [("E1", "in_progress"), ("E1", "failed"), ("E1", "pending")]
    downgrade(empty_engine, "0009")
    assert sorted(stored()) == sorted(
        [("E1", "pending"), ("E2", "pending"), ("E1", "in_progress"), ("E1", "failed"),
         ("E1", "pending")]
    )  # fmt: skip
