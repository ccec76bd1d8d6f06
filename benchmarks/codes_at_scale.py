"""Lists, filters and code resolution at a million codes and a million devices (SPEC A16).

Fills a throwaway PostgreSQL database with one organization holding 1,000,000 devices and
1,000,000 codes (half of them paired, spread over 10 departments and 100 batches; one code in
10,000 is also in an eleventh, small department), then times the use cases members and code
users call:

* the first page and a deep page (by cursor) of the code and device lists,
* each list filter of A16, for an unrestricted member and for members restricted to one
  department, to two, and to the small one (where an ordered index walk finds little),
* searching codes by a whole token and by its first characters,
* resolving a code as its public page does (services.public.view_code).

``--explain`` also prints PostgreSQL's plans (EXPLAIN ANALYZE) of the department-scoped and
token-start lists. The HTTP side of code resolution is code_resolution_http.py.

Each figure is the median and the 95th percentile of repeated calls, in milliseconds, and for
code resolution also calls per second on one thread. Run from the repository root::

    .venv/bin/python benchmarks/codes_at_scale.py \\
        --database-url postgresql+psycopg://root@127.0.0.1:5432/postgres --rows 1000000

The database is dropped at the end, even on failure.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

from onboard.adapters.db import tables as t
from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import upgrade
from onboard.bootstrap import Container, build
from onboard.config import get_settings
from onboard.domain.access import Actor
from onboard.domain.codes import TOKEN_BYTES, new_token
from onboard.services import codes, departments, devices, members, organizations, public
from onboard.services.common import member_actor
from onboard.services.ports import CodeFilter, DeviceFilter, PageRequest

CHUNK = 20_000
DEPARTMENTS = 10
RARE_EVERY = 10_000  # one code in this many is also in an eleventh, small department
BATCHES = 100


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    name = f"bench_scale_{secrets.token_hex(4)}"
    url = make_url(admin_url)
    if url.drivername in {"postgresql", "postgres"}:  # as onboard reads it: psycopg 3
        admin_url = url.set(drivername="postgresql+psycopg").render_as_string(False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fill(
    container: Container, rows: int, *, sample_every: int = 1000
) -> tuple[str, list[str], list[str]]:
    """One organization, its departments, ``rows`` devices and ``rows`` codes, inserted in
    chunks straight into the tables, with the rows the repositories keep of each code's
    effective departments (A8). Returns the organization id, department ids and the token
    of every ``sample_every``-th code (all of them paired)."""
    svc = container.services
    org = organizations.init_organization(
        svc,
        name="Scale",
        admin_email="scale@example.com",
        password="benchmark password",  # noqa: S106
    )
    admin = member_actor(org.member)
    depts = [
        departments.create_department(svc, admin, name=f"Department {n}").id
        for n in range(DEPARTMENTS)
    ]
    depts.append(departments.create_department(svc, admin, name="Department small").id)
    now = datetime.now(UTC)
    sample: list[str] = []
    started = time.perf_counter()
    with container.engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            size = min(CHUNK, rows - start)
            device_ids = [svc.ids.new() for _ in range(size)]
            conn.execute(
                insert(t.devices),
                [
                    {
                        "id": device_id,
                        "organization_id": org.organization.id,
                        "name": f"Pump {start + n}",
                        "serial": f"SN{start + n:09d}",
                        "template_id": None,
                        "attributes": {},
                        "customer_id": None,
                        "location_text": f"Site {(start + n) % 5000}",
                        "latitude": None,
                        "longitude": None,
                        "status": "active" if n % 7 else "maintenance",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, device_id in enumerate(device_ids)
                ],
            )
            conn.execute(
                insert(t.device_departments),
                [
                    {"device_id": device_id, "department_id": depts[(start + n) % DEPARTMENTS]}
                    for n, device_id in enumerate(device_ids)
                ],
            )
            code_rows = []
            for n in range(size):
                token = new_token(os.urandom(TOKEN_BYTES))
                if n % sample_every == 0:
                    sample.append(token)
                code_rows.append(
                    {
                        "id": svc.ids.new(),
                        "organization_id": org.organization.id,
                        "token": token,
                        "label": None,
                        "batch": f"B{(start + n) // (rows // BATCHES or 1):03d}",
                        "active": True,
                        "pin_hash": None,
                        "device_id": device_ids[n] if n % 2 == 0 else None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            conn.execute(insert(t.codes), code_rows)
            own = [
                {"code_id": row["id"], "department_id": depts[(start + n) % DEPARTMENTS]}
                for n, row in enumerate(code_rows)
            ]
            # A8: a paired code's departments are its device's, an unpaired code's its own.
            effective = [
                {"code_id": row["id"], "department_id": depts[(start + n) % DEPARTMENTS]}
                if row["device_id"] is not None
                else own[n]
                for n, row in enumerate(code_rows)
            ]
            small = [
                {"code_id": row["id"], "department_id": depts[DEPARTMENTS]}
                for n, row in enumerate(code_rows)
                if (start + n) % RARE_EVERY == 1 and row["device_id"] is None
            ]
            conn.execute(insert(t.code_departments), own + small)
            conn.execute(insert(t.code_effective_departments), effective + small)
            if (start // CHUNK) % 10 == 0:
                log(f"  {start + size:,} devices and codes")
    log(f"filled {rows:,} devices and {rows:,} codes in {time.perf_counter() - started:.0f} s")
    with container.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return org.organization.id, depts, sample


def explain(container: Container, call: Callable[[], object]) -> str:
    """PostgreSQL's plan, as run, of the first query on codes that ``call`` makes."""
    captured: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        captured.append((args[2], args[3]))  # statement, parameters

    event.listen(container.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(container.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in captured if "FROM codes" in s)
    with container.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(str(line) for line in plan.scalars())


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    call()  # warm the caches and the statement cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(
    container: Container,
    organization_id: str,
    depts: list[str],
    sample: list[str],
    *,
    plans: bool = False,
) -> None:
    svc = container.services
    with svc.uow() as uow:
        admin_member = uow.members.all_in_organization(organization_id)[0]
    admin = member_actor(admin_member)
    restricted = member_actor(
        members.add_member(
            svc, admin, email="restricted@example.com", roles=["viewer"], departments=[depts[3]],
            password="benchmark password",  # noqa: S106
        ).member
    )  # fmt: skip

    def member_of(*chosen: str) -> Actor:
        return member_actor(
            members.add_member(
                svc, admin, email=f"member-{secrets.token_hex(4)}@example.com",
                roles=["viewer"], departments=list(chosen),
                password="benchmark password",  # noqa: S106
            ).member
        )  # fmt: skip

    small = depts[DEPARTMENTS]
    with container.engine.connect() as conn:
        kept = t.code_effective_departments
        few = conn.execute(
            select(func.count()).select_from(kept).where(kept.c.department_id == small)
        ).scalar_one()
    of_two, of_small, of_one_and_small = (
        member_of(depts[3], depts[5]),
        member_of(small),
        member_of(depts[3], small),
    )
    deep = codes.list_codes(svc, admin, CodeFilter(), PageRequest(limit=50))
    cursor = deep.items[-1].id
    for _ in range(200):  # walk 10,000 rows in for a deep cursor
        page = codes.list_codes(svc, admin, CodeFilter(), PageRequest(after=cursor, limit=50))
        cursor = page.items[-1].id
    cases: list[tuple[str, Callable[[], object]]] = [
        ("codes, first page", lambda: codes.list_codes(svc, admin, CodeFilter(), PageRequest())),
        ("codes, page after 10,000 rows",
         lambda: codes.list_codes(svc, admin, CodeFilter(), PageRequest(after=cursor))),
        ("codes, unpaired", lambda: codes.list_codes(svc, admin, CodeFilter(paired=False),
                                                     PageRequest())),
        ("codes, batch B042", lambda: codes.list_codes(svc, admin, CodeFilter(batch="B042"),
                                                       PageRequest())),
        ("codes, department 3", lambda: codes.list_codes(
            svc, admin, CodeFilter(department=depts[3]), PageRequest())),
        ("codes, search by whole token", lambda: codes.list_codes(
            svc, admin, CodeFilter(q=sample[7]), PageRequest())),
        ("codes, search by token start (6 characters)", lambda: codes.list_codes(
            svc, admin, CodeFilter(q=sample[7][:6].lower()), PageRequest())),
        ("codes, search by token start (4 characters)", lambda: codes.list_codes(
            svc, admin, CodeFilter(q=sample[7][:4]), PageRequest())),
        ("codes, restricted member", lambda: codes.list_codes(svc, restricted, CodeFilter(),
                                                              PageRequest())),
        ("codes, restricted member, unpaired", lambda: codes.list_codes(
            svc, restricted, CodeFilter(paired=False), PageRequest())),
        ("codes, restricted member, page after 10,000 rows", lambda: codes.list_codes(
            svc, restricted, CodeFilter(), PageRequest(after=cursor))),
        (f"codes, department of {few} codes", lambda: codes.list_codes(
            svc, admin, CodeFilter(department=small), PageRequest())),
        ("codes, member of two departments", lambda: codes.list_codes(
            svc, of_two, CodeFilter(), PageRequest())),
        (f"codes, member of the department of {few} codes", lambda: codes.list_codes(
            svc, of_small, CodeFilter(), PageRequest())),
        (f"codes, member of department 3 and the one of {few} codes", lambda: codes.list_codes(
            svc, of_one_and_small, CodeFilter(), PageRequest())),
        ("devices, first page", lambda: devices.list_devices(svc, admin, DeviceFilter(),
                                                             PageRequest())),
        ("devices, unpaired", lambda: devices.list_devices(
            svc, admin, DeviceFilter(paired=False), PageRequest())),
        ("devices, status maintenance", lambda: devices.list_devices(
            svc, admin, DeviceFilter(status="maintenance"), PageRequest())),
        ("devices, search by serial", lambda: devices.list_devices(
            svc, admin, DeviceFilter(q="SN000777"), PageRequest())),
        ("devices, restricted member", lambda: devices.list_devices(
            svc, restricted, DeviceFilter(), PageRequest())),
    ]  # fmt: skip
    print("| call | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, call in cases:
        median, p95 = timed(call, repeat=20)
        print(f"| {name} | {median:.1f} | {p95:.1f} |", flush=True)
    if plans:
        for name, call in cases:
            if name.startswith("codes, ") and any(
                word in name for word in ("department", "restricted", "member", "token start")
            ):
                print(f"\n{name}:\n```\n{explain(container, call)}\n```", flush=True)
    tokens = itertools.cycle(sample)
    started = time.perf_counter()
    resolved = 0
    while time.perf_counter() - started < 5:
        public.view_code(svc, next(tokens), client="127.0.0.1")
        resolved += 1
    rate = resolved / (time.perf_counter() - started)
    median, p95 = timed(lambda: public.view_code(svc, sample[3], client="127.0.0.1"), 200)
    print(f"| public code resolution (view_code) | {median:.2f} | {p95:.2f} |")
    print(f"\ncode resolution on one thread, in process: {rate:,.0f} per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--explain", action="store_true",
        help="also print PostgreSQL's plans (EXPLAIN ANALYZE) of the department-scoped and "
        "token-start code lists",
    )  # fmt: skip
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        var = Path(tempfile.mkdtemp(prefix="bench-var-"))
        key = secrets.token_urlsafe(32)
        container = build(get_settings(var_dir=var, database_url=url, secret_key=key))
        try:
            organization_id, depts, sample = fill(container, args.rows)
            measure(container, organization_id, depts, sample, plans=args.explain)
        finally:
            container.close()


if __name__ == "__main__":
    main()
