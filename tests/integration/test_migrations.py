"""Migrations: they build exactly the tables the code uses, and can go down and up again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

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
