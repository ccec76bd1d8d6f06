"""Device activation over HTTP (SPEC D4, §7: >= 1,000 activations per second on PostgreSQL
on a 2-core machine, p99 <= 100 ms, the load from a separate process over loopback).

Creates a throwaway PostgreSQL database with an organization, three environments and a
provisioning group (hashed allocation, a default department, configuration and
attributes), pre-registers ``--serials`` serials with COPY, signs one activation per serial
as its device would (its device key derived from the group secret, D2; the proof valid
for an hour, §6), starts `onboard serve` (real uvicorn, as users run it) on a free
loopback port and drives ``POST /device/v1/activate`` with a bounded number of keep-alive
connections for a bounded time. Each request takes the next signed body, so every serial
activates once (a first activation: a twin made, a credential issued, an environment
allocated, an audit entry and an event written); past the last serial the bodies come
round again and the activations repeat (the credential rotated). With ``--repeat`` every
serial is activated once before the run, which then measures repeat activations only.

The load generator is wrk (`apt-get install wrk`, 1 thread, a Lua script reading the
bodies) when it is on PATH, else a Python asyncio client in its own process, which costs
far more CPU. Each run prints activations per second, latency percentiles, the errors and
where the CPU went (server, PostgreSQL, load generator), then checks in the database that
the activations made twins. Run from the repository root::

    .venv/bin/python benchmarks/activations.py --serials 100000 --seconds 10

The database is dropped and the server stopped at the end, even on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import httpx
from code_resolution_http import (
    RESULT_LUA,
    LoadResult,
    _spent,
    cpu_snapshot,
    serving,
    wrk_load,
)
from codes_at_scale import log, throwaway_database
from sqlalchemy import func, select

from onboard.adapters.db import tables as t
from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import upgrade
from onboard.bootstrap import build
from onboard.config import get_settings
from onboard.device.provisioning import activation_proof
from onboard.domain.provisioning import Registration, device_key
from onboard.services import departments, organizations
from onboard.services.common import member_actor
from onboard.services.provisioning.activation import ActivationLimits, activate
from onboard.services.provisioning.environments import create_environment
from onboard.services.provisioning.groups import GroupInput, create_group

PATH = "/device/v1/activate"
GROUP_ID = "bench-meters"
STEP = 50_000

WRK_SCRIPT = (
    """
local bodies = {}
for line in io.lines(BODIES) do bodies[#bodies + 1] = line end
local next_body = 0
local headers = {["Content-Type"] = "application/json"}
function request()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", PATH, headers, bodies[next_body])
end
"""
    + RESULT_LUA
)


def prepare(url: str, serials: int, var: Path) -> Path:
    """The organization, environments, group and registrations; the signed bodies, one a
    line, in a file."""
    settings = get_settings(var_dir=var, database_url=url, secret_key=secrets.token_hex(16))
    container = build(settings)
    try:
        svc = container.services
        made = organizations.init_organization(
            svc, name="Bench", admin_email="bench@example.com", password=secrets.token_hex(8)
        )
        actor = member_actor(made.member)
        department = departments.create_department(svc, actor, name="Field")
        names = []
        for region in ("eu", "us", "ap"):
            names.append(f"bench-{region}")
            create_environment(
                svc, name=names[-1], api_url=f"https://{region}.example.com",
                mqtt_url=f"mqtts://{region}.example.com", region=region,
            )  # fmt: skip
        group = create_group(
            svc, actor, GROUP_ID,
            GroupInput(
                name="Meters", allocation_policy="hashed", environments=tuple(names),
                departments=(department.id,), configuration={"interval": 60},
                attributes={"fleet": "bench"},
            ),
        )  # fmt: skip
        started = time.perf_counter()
        numbers = [f"SN-{n:08d}" for n in range(serials)]
        now = svc.clock.now()
        for start in range(0, serials, STEP):
            with svc.uow() as uow:
                uow.registrations.add_many(
                    [
                        Registration(
                            svc.ids.new(), group.group.organization_id, group.group.id, s,
                            {"batch": "b1"}, False, None, None, None, now,
                        )
                        for s in numbers[start : start + STEP]
                    ]
                )  # fmt: skip
                uow.commit()
        log(f"registered {serials:,} serials in {time.perf_counter() - started:.1f} s")
    finally:
        container.close()
    expires = int(time.time()) + 3600
    bodies = var / "bodies.jsonl"
    with bodies.open("w") as out:
        for serial in numbers:
            key = device_key(group.secret, serial)
            body = {
                "group_id": GROUP_ID,
                "serial": serial,
                "expires": expires,
                "signature": activation_proof(key, GROUP_ID, serial, expires),
            }
            out.write(json.dumps(body, separators=(",", ":")) + "\n")
    return bodies


def activate_all(url: str, var: Path, bodies: Path) -> None:
    """Every serial activated once, in process (its twin made), so that the run measures
    repeat activations: the same twin, a new credential."""
    settings = get_settings(var_dir=var, database_url=url, secret_key=secrets.token_hex(16))
    container = build(settings)
    limits = ActivationLimits(attempts_per_device=1000)
    started = time.perf_counter()
    try:
        with bodies.open() as lines:
            for line in lines:
                activate(container.services, **json.loads(line), limits=limits)
    finally:
        container.close()
    log(f"activated every serial once in {time.perf_counter() - started:.1f} s")


def run_wrk(url: str, bodies: Path, connections: int, seconds: int) -> LoadResult:
    return wrk_load(
        url, f'BODIES = "{bodies}"\nPATH = "{PATH}"\n{WRK_SCRIPT}', connections, seconds
    )


async def _httpx_load(
    url: str, bodies: list[str], connections: int, seconds: float
) -> tuple[list[float], int, float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    sent = 0
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def connection() -> None:
            nonlocal errors, sent
            while time.perf_counter() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                started = time.perf_counter()
                try:
                    answer = await client.post(PATH, content=body, headers=headers)
                    if answer.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(connections)))
        return latencies, errors, time.perf_counter() - started


def _httpx_process(
    url: str, bodies: list[str], connections: int, seconds: float
) -> tuple[list[float], int, float, float]:
    latencies, errors, elapsed = asyncio.run(_httpx_load(url, bodies, connections, seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return latencies, errors, elapsed, usage.ru_utime + usage.ru_stime


def run_httpx(url: str, bodies: Path, connections: int, seconds: int) -> LoadResult:
    lines = bodies.read_text().splitlines()
    with get_context("spawn").Pool(1) as pool:
        latencies, errors, elapsed, cpu = pool.apply(
            _httpx_process, (url, lines, connections, seconds)
        )
    latencies.sort()

    def at(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] * 1000

    return LoadResult(len(latencies), errors, elapsed, at(0.5), at(0.9), at(0.99), cpu)


def activated(url: str) -> tuple[int, int]:
    """Registrations activated and devices made, read from the database."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            r = t.registrations.c
            done = conn.execute(select(func.count()).where(r.device_id.is_not(None))).scalar_one()
            devices = conn.execute(select(func.count()).select_from(t.devices)).scalar_one()
    finally:
        engine.dispose()
    return int(done), int(devices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--serials", type=int, default=100_000, help="serials registered")
    parser.add_argument("--seconds", type=int, default=10, help="length of the measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before it")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--log-level", default="warning", help="the server's (info logs access)")
    parser.add_argument("--load-generator", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--repeat",
        action="store_true",
        help="activate every serial once before the run: measure repeat activations",
    )
    args = parser.parse_args()
    if not 1 <= args.seconds <= 120 or not 1 <= args.connections <= 256:
        parser.error("keep runs bounded: 1-120 seconds, 1-256 connections")
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    with throwaway_database(args.database_url) as url:
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        var = Path(tempfile.mkdtemp(prefix="bench-activate-"))
        bodies = prepare(url, args.serials, var)
        if args.repeat:
            activate_all(url, var, bodies)
        os.environ["ONBOARD_ACTIVATION_ATTEMPTS"] = "1000"
        with serving(url, var, args.workers, args.log_level) as (server, group):

            def load(seconds: int) -> LoadResult:
                if generator == "wrk":
                    return run_wrk(server, bodies, args.connections, seconds)
                return run_httpx(server, bodies, args.connections, seconds)

            load(args.warmup)
            before = cpu_snapshot(group, url.rsplit("/", 1)[1])
            result = load(args.seconds)
            after = cpu_snapshot(group, url.rsplit("/", 1)[1])
        server_cpu = _spent(before.server, after.server)
        database_cpu = _spent(before.database, after.database)
        other = after.machine - before.machine - server_cpu - database_cpu - result.client_cpu
        served = max(result.requests - result.errors, 1) / 1000
        done, devices = activated(url)
        print(
            f"{args.serials:,} serials registered; {args.workers} server processes; "
            f"{args.connections} keep-alive connections; {args.seconds} s after {args.warmup} s "
            f"of warm-up; {'repeat' if args.repeat else 'first'} activations; load generator "
            f"{generator}; server log level {args.log_level}; "
            f"{os.cpu_count()} CPUs shared by all\n"
        )
        print(
            "| activations/s | p50 ms | p90 ms | p99 ms | errors | CPU ms per activation: "
            "server / PostgreSQL / client | CPU s of the rest of the machine | "
            "registrations activated | twins |"
        )
        print("|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        print(
            f"| {result.per_second:,.0f} | {result.p50_ms:.1f} | {result.p90_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.errors} | {server_cpu / served:.2f} / "
            f"{database_cpu / served:.2f} / {result.client_cpu / served:.2f} | "
            f"{max(other, 0):.1f} | {done:,} | {devices:,} |",
            flush=True,
        )
        if result.errors:
            raise SystemExit(f"{result.errors} activations failed")


if __name__ == "__main__":
    main()
