"""Code resolution over HTTP (SPEC A12, §7: the code page resolves at >= 2,000 per second).

Fills a throwaway PostgreSQL database with ``--rows`` devices and codes (the fill of
codes_at_scale.py: half of the codes paired), starts `onboard serve` (real uvicorn, as
users run it) on a free loopback port, and drives it with a bounded number of keep-alive
connections for a bounded time, each request for a random known token of a paired code:

* ``api``:  GET /api/v1/public/codes/{token}  (JSON, ``state`` = ``paired`` with the device)
* ``page``: GET /c/{token}                    (the HTML page a code user's phone opens)

The load generator is wrk (1 thread, a Lua script picking tokens) when it is on PATH
(`apt-get install wrk`), else a Python asyncio client in its own process, which costs far
more CPU per request and lowers the figures. Each run prints requests per second, latency
percentiles, and where the CPU went during it (read from /proc, so Linux only): CPU time per
request of the server's processes, of the PostgreSQL backends serving this database and of
the load generator; the CPU the rest of the machine used meanwhile (other work on a shared
machine, or backends that came and went); and how the server's CPU split between its
worker processes (keep-alive connections stay with the worker that accepted them, so one
worker may serve most of a run). Run from the repository root::

    .venv/bin/python benchmarks/code_resolution_http.py --rows 100000 --seconds 10

The database is dropped and the server stopped at the end, even on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import httpx
from codes_at_scale import fill, log, throwaway_database

from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import upgrade
from onboard.bootstrap import build
from onboard.config import get_settings

HOST = "127.0.0.1"
PATHS = {"api": "/api/v1/public/codes/", "page": "/c/"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    database_url: str, var_dir: Path, workers: int, log_level: str
) -> Iterator[tuple[str, int]]:
    """`onboard serve` over the database, in its own process group; yields its URL and
    that process group."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    environment = os.environ | {
        "ONBOARD_DATABASE_URL": database_url,
        "ONBOARD_VAR_DIR": str(var_dir),
        "ONBOARD_SECRET_KEY": secrets.token_urlsafe(32),
        "ONBOARD_PUBLIC_URL": url,
        "ONBOARD_LOG_LEVEL": log_level,
    }
    command = [sys.executable, "-m", "onboard", "serve", "--host", HOST, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)], env=environment, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"onboard serve exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("onboard serve did not come up within 60 s")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def check_answers(url: str, tokens: list[str]) -> None:
    """The benchmark measures real answers: a paired code's device, as JSON and as a page."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for token in random.sample(tokens, min(20, len(tokens))):
            answer = client.get(PATHS["api"] + token.lower())
            assert answer.status_code == 200, answer.text
            assert answer.json()["state"] == "paired", answer.text
            assert answer.json()["device"]["name"].startswith("Pump "), answer.text
            page = client.get(PATHS["page"] + token)
            assert page.status_code == 200, page.status_code
            assert "Pump " in page.text


# --- where the CPU goes ------------------------------------------------------------


def _cpu_seconds(pid: str) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _process_group(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class CpuSnapshot:
    machine: float  # CPU seconds of every process since boot
    server: dict[str, float]
    database: dict[str, float]


def cpu_snapshot(server_group: int, database_name: str) -> CpuSnapshot:
    """CPU seconds used so far by the server's process group and by the PostgreSQL
    backends connected to ``database_name`` (read from /proc; Linux only)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(first) if i not in (3, 4)) / CLOCK_TICKS
    server: dict[str, float] = {}
    database: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        if _process_group(entry.name) == server_group:
            server[entry.name] = _cpu_seconds(entry.name)
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"postgres: ") and f" {database_name} ".encode() in command:
            database[entry.name] = _cpu_seconds(entry.name)
    return CpuSnapshot(busy, server, database)


def _spent(before: dict[str, float], after: dict[str, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# --- load generators ---------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    client_cpu: float

    @property
    def per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds


# What every wrk script of the benchmarks prints when it is done: the figures, as JSON.
RESULT_LUA = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"status_errors":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""

WRK_SCRIPT = (
    """
local tokens = {}
for line in io.lines(TOKENS) do tokens[#tokens + 1] = line end
function init(args) math.randomseed(os.time()) end
function request()
  return wrk.format("GET", PREFIX .. tokens[math.random(1, #tokens)])
end
"""
    + RESULT_LUA
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, prefix: str, tokens_file: Path, connections: int, seconds: int) -> LoadResult:
    return wrk_load(
        url, f'TOKENS = "{tokens_file}"\nPREFIX = "{prefix}"\n{WRK_SCRIPT}', connections, seconds
    )


def wrk_load(url: str, script: str, connections: int, seconds: int) -> LoadResult:
    """wrk (1 thread) with this Lua script, which ends with RESULT_LUA; the figures it
    printed and the CPU wrk used."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script_file:
        script_file.write(script)
        script_file.flush()
        before = children_cpu()
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
             "-s", script_file.name, url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        spent = children_cpu() - before
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    figures = json.loads(lines[0].removeprefix("RESULT "))
    return LoadResult(
        requests=figures["requests"],
        errors=figures["status_errors"] + figures["socket_errors"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        client_cpu=spent,
    )


async def _httpx_load(
    url: str, prefix: str, tokens: list[str], connections: int, seconds: float
) -> tuple[list[float], int, float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def connection() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    answer = await client.get(prefix + random.choice(tokens))
                    if answer.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(connections)))
        return latencies, errors, time.perf_counter() - started


def _httpx_process(
    url: str, prefix: str, tokens: list[str], connections: int, seconds: float
) -> tuple[list[float], int, float, float]:
    latencies, errors, elapsed = asyncio.run(_httpx_load(url, prefix, tokens, connections, seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return latencies, errors, elapsed, usage.ru_utime + usage.ru_stime


def run_httpx(
    url: str, prefix: str, tokens: list[str], connections: int, seconds: int
) -> LoadResult:
    with get_context("spawn").Pool(1) as pool:
        latencies, errors, elapsed, cpu = pool.apply(
            _httpx_process, (url, prefix, tokens, connections, seconds)
        )
    latencies.sort()

    def at(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] * 1000

    return LoadResult(len(latencies), errors, elapsed, at(0.5), at(0.9), at(0.99), cpu)


# --- the measurement ---------------------------------------------------------------


def measure(
    args: argparse.Namespace, database_url: str, database_name: str, tokens: list[str]
) -> None:
    var = Path(tempfile.mkdtemp(prefix="bench-http-"))
    tokens_file = var / "tokens.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    log(f"load generator: {generator}; {len(tokens):,} tokens of paired codes")
    print(
        f"{args.rows:,} codes; {args.connections} keep-alive connections; {args.seconds} s "
        f"after {args.warmup} s of warm-up; load generator {generator}; server log level "
        f"{args.log_level}; {os.cpu_count()} CPUs shared by all\n"
    )
    print(
        "| path | workers | req/s | p50 ms | p90 ms | p99 ms | errors | CPU ms per request: "
        "server / PostgreSQL / client | CPU s of the rest of the machine | server CPU s "
        "by process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for workers in args.workers:
        with serving(database_url, var, workers, args.log_level) as (url, server_group):
            check_answers(url, tokens)
            for name in args.paths:
                prefix = PATHS[name]

                def load(seconds: int, prefix: str = prefix) -> LoadResult:
                    if generator == "wrk":
                        return run_wrk(url, prefix, tokens_file, args.connections, seconds)
                    return run_httpx(url, prefix, tokens, args.connections, seconds)

                load(args.warmup)
                before = cpu_snapshot(server_group, database_name)
                result = load(args.seconds)
                after = cpu_snapshot(server_group, database_name)
                server = _spent(before.server, after.server)
                database = _spent(before.database, after.database)
                other = after.machine - before.machine - server - database - result.client_cpu
                # Keep-alive connections stay with the worker that accepted them: a split
                # far from even means one worker served most of the run.
                split = sorted(
                    (after.server[pid] - before.server.get(pid, 0.0) for pid in after.server),
                    reverse=True,
                )
                served = max(result.requests - result.errors, 1) / 1000
                print(
                    f"| {prefix}{{token}} | {workers} | {result.per_second:,.0f} | "
                    f"{result.p50_ms:.1f} | {result.p90_ms:.1f} | {result.p99_ms:.1f} | "
                    f"{result.errors} | {server / served:.2f} / {database / served:.2f} / "
                    f"{result.client_cpu / served:.2f} | {max(other, 0):.1f} | "
                    f"{' / '.join(f'{s:.1f}' for s in split if s >= 0.05)} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--rows", type=int, default=100_000, help="codes (and devices)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument(
        "--workers", type=lambda v: [int(w) for w in v.split(",")], default=[1, 2],
        help="server processes, comma-separated runs (default 1,2)",
    )  # fmt: skip
    parser.add_argument(
        "--paths", type=lambda v: v.split(","), default=["api", "page"],
        help="api, page or both (default api,page)",
    )  # fmt: skip
    parser.add_argument("--log-level", default="warning", help="the server's (info logs access)")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "httpx"], default="auto")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120 or not 1 <= args.connections <= 256:
        parser.error("keep runs bounded: 1-120 seconds, 1-256 connections")
    with throwaway_database(args.database_url) as url:
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        var = Path(tempfile.mkdtemp(prefix="bench-var-"))
        settings = get_settings(var_dir=var, database_url=url, secret_key=secrets.token_hex(16))
        container = build(settings)
        try:
            _, _, tokens = fill(container, args.rows, sample_every=10)
        finally:
            container.close()
        measure(args, url, url.rsplit("/", 1)[1], tokens)


if __name__ == "__main__":
    main()
