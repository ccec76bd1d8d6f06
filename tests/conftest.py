"""Shared fixtures: databases on SQLite and PostgreSQL, services over them, a live server.

PostgreSQL is reached at ONBOARD_TEST_PG_URL (default: root on 127.0.0.1:5432, trust auth).
Each test run (each xdist worker) creates its own database and drops it at the end. Outside
CI a missing PostgreSQL or Chromium skips those tests with the reason; with CI=true it fails.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from onboard.adapters.crypto import Argon2Passwords
from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import upgrade
from onboard.adapters.db.tables import metadata
from onboard.bootstrap import Container, build
from onboard.config import Settings, get_settings
from onboard.services.ports import Services

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "ONBOARD_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
CHROMIUM = os.environ.get("ONBOARD_TEST_CHROMIUM", "/usr/bin/chromium")


def unavailable(reason: str) -> None:
    """Skip outside CI; in CI a missing service or browser is a failure, never a skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def fast_passwords() -> Argon2Passwords:
    """argon2id with small costs: the same code path, fast enough for thousands of tests."""
    return Argon2Passwords(time_cost=1, memory_kib=1024)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine

    def clear(self) -> None:
        """Empty every table, children first."""
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


def postgres_database(tmp_name: str) -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{tmp_name}"'))
    except Exception as exc:  # any connection failure means "not available"
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{tmp_name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{tmp_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database of each backend for this test run."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "onboard.db"
        urls: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        urls = postgres_database(f"onboard_test_{_worker()}_{secrets.token_hex(4)}")
    url = next(urls)
    engine = build_engine(url)
    upgrade(engine)
    try:
        yield Database(backend, url, engine)
    finally:
        engine.dispose()
        for _ in urls:  # runs the PostgreSQL clean-up
            pass


@pytest.fixture
def container(database: Database, tmp_path: Path) -> Iterator[Container]:
    """Services over a clean database of each backend."""
    settings = get_settings(
        var_dir=tmp_path, database_url=database.url, secret_key="test-secret-key-" + "x" * 32
    )
    built = build(settings, passwords=fast_passwords())
    try:
        yield built
    finally:
        built.close()
        database.clear()


@pytest.fixture
def svc(container: Container) -> Services:
    return container.services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A real `uvicorn` process serving onboard over loopback."""

    url: str
    database: Database
    settings: Settings
    container: Container

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def serving(
    database: Database,
    var_dir: Path,
    *,
    secret_key: str,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run `onboard serve` on a free loopback port over ``database``; yield its URL and
    stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "ONBOARD_DATABASE_URL": database.url,
        "ONBOARD_VAR_DIR": str(var_dir),
        "ONBOARD_SECRET_KEY": secret_key,
        "ONBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ONBOARD_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    log_path = var_dir / f"server-{port}.log"
    with log_path.open("w") as log:
        command = [sys.executable, "-m", "onboard", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The server as users run it, on a free port, over each backend. Tests share it, so
    each creates its own organization (see factories.make_org)."""
    var_dir = tmp_path_factory.mktemp("var")
    secret_key = "live-server-secret-" + secrets.token_hex(16)
    limits = {"ONBOARD_LOGIN_ATTEMPTS": "1000", "ONBOARD_PAIR_ATTEMPTS": "1000"}
    with serving(database, var_dir, secret_key=secret_key, extra_env=limits) as url:
        settings = get_settings(
            var_dir=var_dir, database_url=database.url, secret_key=secret_key, public_url=url
        )
        built = build(settings)
        try:
            yield LiveServer(url, database, settings, built)
        finally:
            built.close()


# A server with several workers on a busy 2-core machine has taken over 30 s to come up.
STARTUP_SECONDS = 60


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")
