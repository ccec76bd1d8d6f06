"""Measure sync vs async SQLAlchemy Core under FastAPI for a device-activation request.

Three stacks are compared, each served by uvicorn (httptools, uvloop, no access log) in its own
process on a free loopback port:

* ``sync-psycopg``   - ``create_engine("postgresql+psycopg://...")``, FastAPI ``def`` endpoints
  (run in Starlette's threadpool).
* ``async-asyncpg``  - ``create_async_engine("postgresql+asyncpg://...")``, ``async def`` endpoints.
* ``async-psycopg``  - ``create_async_engine("postgresql+psycopg://...")``, ``async def`` endpoints.

Each stack exposes two endpoints that are measured separately:

* ``POST /activate`` - one transaction: select the group by id, upsert the device by
  ``(group_id, serial)`` returning its id, insert an audit row and an outbox row, commit.
* ``GET /groups/{id}`` - one SELECT by primary key.

Each stack is run with 1 and with 2 uvicorn workers. A separate load-generator process (``wrk``
with a Lua script when it is on PATH, otherwise a multi-process asyncio + httpx client) keeps a
fixed number of keep-alive connections to 127.0.0.1 busy for a fixed duration, after a short
warm-up. The load generator, uvicorn and PostgreSQL share the same machine and CPU cores.

The script creates a throwaway database (``bench_sva_<random>``) on the given server, and drops
it at the end, even on failure. Results (requests/s, p50/p99 latency, errors) are printed as a
Markdown table on stdout; progress goes to stderr.

Run from the repository root::

    python benchmarks/sync_vs_async.py \\
        --database-url postgresql://root@127.0.0.1:5432/postgres --seconds 10 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Insert,
    MetaData,
    Select,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

STACKS: dict[str, str] = {
    "sync-psycopg": "postgresql+psycopg",
    "async-asyncpg": "postgresql+asyncpg",
    "async-psycopg": "postgresql+psycopg",
}
ENDPOINTS = ("read", "activate")
GROUP_COUNT = 10
HOST = "127.0.0.1"

ENV_STACK = "BENCH_SVA_STACK"
ENV_DATABASE_URL = "BENCH_SVA_DATABASE_URL"
ENV_POOL_SIZE = "BENCH_SVA_POOL_SIZE"

# --------------------------------------------------------------------------------------------
# Schema and statements (shared by every stack)
# --------------------------------------------------------------------------------------------

metadata = MetaData()

groups = Table(
    "groups",
    metadata,
    Column("id", Text, primary_key=True),
    Column("secret", Text, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("group_id", Text, nullable=False),
    Column("serial", Text, nullable=False),
    Column("credential_hash", Text, nullable=False),
    UniqueConstraint("group_id", "serial"),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
)


class ActivationRequest(BaseModel):
    group_id: str
    serial: str


def group_id_for(index: int) -> str:
    return f"group-{index}"


def select_group(group_id: str) -> Select[Any]:
    return select(groups.c.id, groups.c.secret).where(groups.c.id == group_id)


def upsert_device(request: ActivationRequest, credential_hash: str) -> Insert:
    statement = pg_insert(devices).values(
        id=uuid.uuid4().hex,
        group_id=request.group_id,
        serial=request.serial,
        credential_hash=credential_hash,
    )
    return statement.on_conflict_do_update(
        index_elements=[devices.c.group_id, devices.c.serial],
        set_={"credential_hash": statement.excluded.credential_hash},
    ).returning(devices.c.id)


def insert_audit_entry(device_id: str) -> Insert:
    return insert(audit_entries).values(action="device.activated", target=device_id)


def insert_outbox_event(device_id: str, request: ActivationRequest) -> Insert:
    payload = {"device_id": device_id, "group_id": request.group_id, "serial": request.serial}
    return insert(outbox).values(type="device.activated", payload=payload)


def new_credential() -> tuple[str, str]:
    """Return a fresh credential and its hash (a cheap SHA-256, so the DB path dominates)."""
    credential = secrets.token_urlsafe(32)
    return credential, hashlib.sha256(credential.encode()).hexdigest()


def unknown_group() -> HTTPException:
    return HTTPException(status_code=404, detail="unknown group")


# --------------------------------------------------------------------------------------------
# The application under test (imported by uvicorn via create_app)
# --------------------------------------------------------------------------------------------


def build_sync_app(url: str, pool_size: int) -> FastAPI:
    engine = create_engine(url, pool_size=pool_size, max_overflow=0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/groups/{group_id}")
    def read_group(group_id: str) -> dict[str, str]:
        with engine.connect() as connection:
            row = connection.execute(select_group(group_id)).first()
        if row is None:
            raise unknown_group()
        return {"id": row.id}

    @app.post("/activate")
    def activate(request: ActivationRequest) -> dict[str, str]:
        credential, credential_hash = new_credential()
        with engine.begin() as connection:
            if connection.execute(select_group(request.group_id)).first() is None:
                raise unknown_group()
            device_id = connection.execute(upsert_device(request, credential_hash)).scalar_one()
            connection.execute(insert_audit_entry(device_id))
            connection.execute(insert_outbox_event(device_id, request))
        return {"device_id": device_id, "credential": credential}

    return app


def build_async_app(url: str, pool_size: int) -> FastAPI:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/groups/{group_id}")
    async def read_group(group_id: str) -> dict[str, str]:
        async with engine.connect() as connection:
            row = (await connection.execute(select_group(group_id))).first()
        if row is None:
            raise unknown_group()
        return {"id": row.id}

    @app.post("/activate")
    async def activate(request: ActivationRequest) -> dict[str, str]:
        credential, credential_hash = new_credential()
        async with engine.begin() as connection:
            if (await connection.execute(select_group(request.group_id))).first() is None:
                raise unknown_group()
            result = await connection.execute(upsert_device(request, credential_hash))
            device_id = result.scalar_one()
            await connection.execute(insert_audit_entry(device_id))
            await connection.execute(insert_outbox_event(device_id, request))
        return {"device_id": device_id, "credential": credential}

    return app


def create_app() -> FastAPI:
    """uvicorn factory: builds the stack named by the environment set by the benchmark."""
    stack = os.environ[ENV_STACK]
    url = make_url(os.environ[ENV_DATABASE_URL]).set(drivername=STACKS[stack])
    rendered = url.render_as_string(hide_password=False)
    pool_size = int(os.environ[ENV_POOL_SIZE])
    if stack.startswith("sync"):
        return build_sync_app(rendered, pool_size)
    return build_async_app(rendered, pool_size)


# --------------------------------------------------------------------------------------------
# Throwaway database
# --------------------------------------------------------------------------------------------


def admin_engine(url: URL) -> Engine:
    return create_engine(
        url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


@contextmanager
def throwaway_database(server_url: URL) -> Iterator[URL]:
    """Create an empty database on the server, yield its URL, and always drop it afterwards."""
    name = f"bench_sva_{secrets.token_hex(4)}"
    engine = admin_engine(server_url)
    quoted = engine.dialect.identifier_preparer.quote(name)
    try:
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        log(f"created database {name}")
        yield server_url.set(database=name)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        engine.dispose()
        log(f"dropped database {name}")


def create_schema(url: URL) -> None:
    engine = admin_engine(url)
    try:
        metadata.create_all(engine)
        with engine.connect() as connection:
            connection.execute(
                insert(groups),
                [
                    {"id": group_id_for(i), "secret": secrets.token_hex(16)}
                    for i in range(GROUP_COUNT)
                ],
            )
    finally:
        engine.dispose()


def reset_tables(url: URL) -> None:
    """Empty the tables written by /activate and checkpoint, so every run starts alike."""
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("TRUNCATE devices, audit_entries, outbox RESTART IDENTITY"))
            connection.execute(text("VACUUM ANALYZE"))
            connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def server_version(url: URL) -> str:
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# The uvicorn server process
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(
    stack: str, workers: int, database_url: URL, pool_size: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "sync_vs_async:create_app", "--factory",
        "--app-dir", str(Path(__file__).resolve().parent),
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    environment = os.environ | {
        ENV_STACK: stack,
        ENV_DATABASE_URL: database_url.render_as_string(hide_password=False),
        ENV_POOL_SIZE: str(pool_size),
    }
    process = subprocess.Popen(command, env=environment, start_new_session=True)
    base_url = f"http://{HOST}:{port}"
    wait_until_healthy(process, base_url)
    return process, base_url


def wait_until_healthy(
    process: subprocess.Popen[bytes], base_url: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited early with code {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not become healthy at {base_url} within {timeout}s")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, together with its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.ok / self.seconds


WRK_SCRIPT = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
end
local function random_group()
  return "group-" .. math.random(0, GROUP_COUNT - 1)
end
local headers = { ["Content-Type"] = "application/json" }
function request()
  if ENDPOINT == "read" then
    return wrk.format("GET", "/groups/" .. random_group())
  end
  local serial = string.format("%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  local body = '{"group_id":"' .. random_group() .. '","serial":"' .. serial .. '"}'
  return wrk.format("POST", "/activate", headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
      .. '"status_errors":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(base_url: str, endpoint: str, concurrency: int, seconds: int) -> LoadResult:
    script = f'ENDPOINT = "{endpoint}"\nGROUP_COUNT = {GROUP_COUNT}\n{WRK_SCRIPT}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script_file:
        script_file.write(script)
        script_file.flush()
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
             "-s", script_file.name, base_url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    figures = json.loads(lines[0].removeprefix("RESULT "))
    return LoadResult(
        ok=figures["requests"] - figures["status_errors"],
        errors=figures["status_errors"] + figures["socket_errors"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


def random_request(client: httpx.AsyncClient, endpoint: str) -> Any:
    group_id = group_id_for(secrets.randbelow(GROUP_COUNT))
    if endpoint == "read":
        return client.get(f"/groups/{group_id}")
    return client.post("/activate", json={"group_id": group_id, "serial": secrets.token_hex(8)})


async def httpx_connection_loop(
    client: httpx.AsyncClient, endpoint: str, deadline: float, latencies: list[float]
) -> int:
    errors = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            response = await random_request(client, endpoint)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    return errors


async def httpx_load(
    base_url: str, endpoint: str, connections: int, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds
        loops = [
            httpx_connection_loop(client, endpoint, deadline, latencies) for _ in range(connections)
        ]
        errors = sum(await asyncio.gather(*loops))
    return latencies, errors


def httpx_load_process(
    base_url: str, endpoint: str, connections: int, seconds: float
) -> tuple[list[float], int]:
    return asyncio.run(httpx_load(base_url, endpoint, connections, seconds))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def run_httpx(
    base_url: str, endpoint: str, concurrency: int, seconds: float, processes: int
) -> LoadResult:
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    shares = [share for share in shares if share > 0]
    with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(httpx_load_process, base_url, endpoint, share, seconds) for share in shares
        ]
        outcomes = [future.result() for future in futures]
    latencies = sorted(value for values, _ in outcomes for value in values)
    return LoadResult(
        ok=len(latencies),
        errors=sum(errors for _, errors in outcomes),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


# --------------------------------------------------------------------------------------------
# Orchestration and report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    stack: str
    workers: int
    endpoint: str
    result: LoadResult


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate_load(
    args: argparse.Namespace, base_url: str, endpoint: str, seconds: int
) -> LoadResult:
    if args.load_generator == "wrk":
        return run_wrk(base_url, endpoint, args.concurrency, seconds)
    return run_httpx(base_url, endpoint, args.concurrency, seconds, args.httpx_processes)


def measure_stack(
    args: argparse.Namespace, database_url: URL, stack: str, workers: int
) -> list[Measurement]:
    server, base_url = start_server(stack, workers, database_url, args.pool_size)
    measurements = []
    try:
        for endpoint in ENDPOINTS:
            reset_tables(database_url)
            if args.warmup > 0:
                generate_load(args, base_url, endpoint, args.warmup)
            result = generate_load(args, base_url, endpoint, args.seconds)
            log(
                f"{stack:14} workers={workers} {endpoint:8} {result.requests_per_second:8.1f} req/s"
                f"  p50={result.p50_ms:.2f} ms  p99={result.p99_ms:.2f} ms  errors={result.errors}"
            )
            measurements.append(Measurement(stack, workers, endpoint, result))
    finally:
        stop_process_group(server)
    return measurements


def load_generator_description(args: argparse.Namespace) -> str:
    if args.load_generator == "wrk":
        banner = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, check=False
        ).stdout
        return f"wrk ({banner.split(' [')[0].strip()}), 1 thread, Lua script, separate process"
    return f"asyncio + httpx {version('httpx')}, {args.httpx_processes} separate processes"


def environment_lines(args: argparse.Namespace, postgres_version: str) -> list[str]:
    packages = ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "asyncpg")
    versions = ", ".join(f"{name} {version(name)}" for name in packages)
    return [
        f"- Python {platform.python_version()}, {versions}",
        (
            f"- PostgreSQL {postgres_version} on the same host; {os.cpu_count()} CPU cores shared"
            " by PostgreSQL, uvicorn and the load generator"
        ),
        f"- Load generator: {load_generator_description(args)}",
        (
            f"- {args.concurrency} keep-alive connections to {HOST}, {args.seconds:g} s per run"
            f" after {args.warmup:g} s warm-up; pool_size={args.pool_size}, max_overflow=0 per"
            " uvicorn worker"
        ),
        (
            "- activate = POST /activate (select group, upsert device, insert audit + outbox,"
            " commit, in one transaction); read = GET /groups/{id} (one SELECT by primary key)"
        ),
    ]


def markdown_table(measurements: Sequence[Measurement]) -> str:
    lines = [
        "| stack | workers | endpoint | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for m in measurements:
        r = m.result
        lines.append(
            f"| {m.stack} | {m.workers} | {m.endpoint} | {r.requests_per_second:.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
        )
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        required=True,
        help="server to use, e.g. postgresql://root@127.0.0.1:5432/postgres "
        "(a throwaway database is created and dropped on it)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up before each run (s)")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    parser.add_argument("--pool-size", type=int, default=20, help="SQLAlchemy pool per worker")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="uvicorn worker counts to run"
    )
    parser.add_argument("--stacks", nargs="+", choices=list(STACKS), default=list(STACKS))
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="auto = wrk if it is on PATH, else httpx",
    )
    parser.add_argument("--httpx-processes", type=int, default=2)
    args = parser.parse_args(argv)
    if args.load_generator == "auto":
        args.load_generator = "wrk" if shutil.which("wrk") else "httpx"
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    server_url = make_url(args.database_url)
    measurements: list[Measurement] = []
    with throwaway_database(server_url) as database_url:
        create_schema(database_url)
        postgres_version = server_version(database_url)
        for workers in args.workers:
            for stack in args.stacks:
                measurements += measure_stack(args, database_url, stack, workers)
    print("\n".join(environment_lines(args, postgres_version)))
    print()
    print(markdown_table(measurements))


if __name__ == "__main__":
    main()
