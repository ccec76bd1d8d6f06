"""The database under concurrent use, on both backends: constraints hold and a clash is a
clear conflict, never a crash (SPEC P10, §7 reliability)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from onboard.adapters.db import engine as engine_module
from onboard.adapters.db.engine import build_engine
from onboard.bootstrap import Container
from onboard.domain.access import Permission
from onboard.domain.errors import Conflict
from onboard.services import departments
from onboard.services.ports import PageRequest
from tests.factories import make_org


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_row_pointing_at_a_missing_parent_is_refused(container: Container) -> None:
    with pytest.raises(IntegrityError), container.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO departments (id, organization_id, name, created_at) "
                "VALUES ('D1', 'no-such-organization', 'x', CURRENT_TIMESTAMP)"
            )
        )


def test_concurrent_creations_of_one_name_give_exactly_one_department(
    container: Container,
) -> None:
    org = make_org(container.services)

    def create(_: int) -> str:
        try:
            departments.create_department(container.services, org.actor, name="Same name")
        except Conflict as refused:
            return refused.code
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(create, range(16)))

    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "name_taken", "conflict"}
    listed = departments.list_departments(container.services, org.actor, PageRequest())
    assert [d.name for d in listed.items] == ["Same name"]


def test_concurrent_writers_all_get_through(container: Container) -> None:
    org = make_org(container.services)

    def create(n: int) -> None:
        departments.create_department(container.services, org.actor, name=f"Department {n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(40)))

    listed = departments.list_departments(container.services, org.actor, PageRequest(limit=100))
    assert len(listed.items) == 40


def test_a_pooled_connection_the_database_dropped_while_idle_is_replaced_unnoticed(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool checks a connection that sat idle before handing it out (SQLite has no
    server to lose), in both pools: transactions' and autocommit units'."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    org = make_org(container.services)
    assert container.autocommit_engine is not None
    dropped = []
    for pool in (container.engine, container.autocommit_engine):
        with pool.connect() as conn:
            dropped.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    with build_engine(container.settings.effective_database_url).connect() as admin:
        for pid in dropped:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    with container.services.uow(read_only=True) as uow:
        assert uow.organizations.get(org.organization.id) is not None
    made = departments.create_department(container.services, org.actor, name="After")
    listed = departments.list_departments(container.services, org.actor, PageRequest())
    assert [d.id for d in listed.items] == [made.id]


def test_autocommit_units_have_a_pool_of_their_own_and_others_a_transaction(
    container: Container,
) -> None:
    """PostgreSQL: read-only and single-statement units run each statement on its own, on
    connections set to autocommit once (§7: nothing to set or roll back per unit); the
    others in a transaction. SQLite has one pool, every unit a transaction."""
    postgresql = container.engine.dialect.name == "postgresql"
    assert (container.autocommit_engine is not None) is postgresql
    for options, autocommit in (
        ({}, False),
        ({"read_only": True}, postgresql),
        ({"single_statement": True}, postgresql),
    ):
        with container.services.uow(**options) as uow:
            conn = uow._conn
            assert conn is not None
            assert conn.in_transaction() or autocommit
            if postgresql:
                assert conn.connection.dbapi_connection.autocommit is autocommit  # type: ignore[union-attr]
                pool = container.autocommit_engine if autocommit else container.engine
                assert conn.engine is pool, options
    with pytest.raises(ValueError, match="for PostgreSQL"):
        build_engine("sqlite:///:memory:", autocommit=True)


def test_a_read_only_unit_of_work_reads_committed_data_and_cannot_commit(
    container: Container,
) -> None:
    org = make_org(container.services)
    made = departments.create_department(container.services, org.actor, name="Read")
    with container.services.uow(read_only=True) as uow:
        assert uow.departments.get(org.actor.require(Permission.READ), made.id) is not None
        with pytest.raises(AssertionError):
            uow.commit()


def test_autocommit_units_run_without_jit(container: Container) -> None:
    """§7: a batch of activations is estimated at 100 rows; past jit_above_cost PostgreSQL
    compiled its view on every run (60 ms for a statement of under 1 ms). The autocommit
    pool (activations, the code page) has JIT off."""
    if container.autocommit_engine is None:
        pytest.skip("PostgreSQL only: SQLite has no JIT and no autocommit pool")
    with container.autocommit_engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"


def test_the_autocommit_pool_keeps_the_urls_own_options(container: Container) -> None:
    """§7: JIT off on the autocommit pool is added to the settings a database URL sends in
    its `options` parameter, not put in their place."""
    if container.autocommit_engine is None:
        pytest.skip("PostgreSQL only: SQLite has no JIT and no autocommit pool")
    url = container.autocommit_engine.url.update_query_dict(
        {"options": "-c statement_timeout=4321 -c application_name=fleet"}
    )
    engine = build_engine(url.render_as_string(hide_password=False), pool_size=1, autocommit=True)
    try:
        with engine.connect() as conn:
            shown = [conn.execute(text(f"SHOW {name}")).scalar_one() for name in
                     ("jit", "statement_timeout", "application_name")]  # fmt: skip
    finally:
        engine.dispose()
    assert shown == ["off", "4321ms", "fleet"]
