"""Code batches at scale (issue 5 item 1: a million codes on PostgreSQL in <= 60 s).

Creates a throwaway database, then one batch of ``--count`` codes through the use case the
CLI, the API and the back office call (services.batches.create_batch: one transaction,
written in steps of 10,000 with COPY), in a department and with a PIN policy, as a
production run would be. Then it times reading the batch's progress (printed, paired) and
streaming every code of it as a print run does, without drawing the labels (labels.py
times those), and notes the run printed. Run from the repository root::

    .venv/bin/python benchmarks/batches.py --count 1000000
    .venv/bin/python benchmarks/batches.py --count 100000 --database-url sqlite

The database is dropped at the end, even on failure.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codes_at_scale import throwaway_database

from onboard.adapters.db.engine import build_engine
from onboard.adapters.db.migrate import upgrade
from onboard.bootstrap import build
from onboard.config import get_settings
from onboard.domain.access import Actor
from onboard.services import batches, departments, organizations
from onboard.services.common import member_actor
from onboard.services.ports import Services


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def database(url: str) -> Iterator[str]:
    if url == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-batches-") as directory:
            yield f"sqlite:///{directory}/onboard.db"
        return
    with throwaway_database(url) as throwaway:
        yield throwaway


@contextmanager
def organization(database_url: str, name: str) -> Iterator[tuple[Services, Actor]]:
    """A throwaway database, migrated and served, with an organization called ``name``:
    its services and its Administrator."""
    with database(database_url) as url, tempfile.TemporaryDirectory() as folder:
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        var = Path(folder) / "var"
        settings = get_settings(var_dir=var, database_url=url, secret_key=secrets.token_hex(32))
        container = build(settings)
        try:
            svc = container.services
            org = organizations.init_organization(
                svc,
                name=name,
                admin_email=f"{name.lower()}@example.com",
                password="bench pass",  # noqa: S106 - a throwaway database
            )
            yield svc, member_actor(org.member)
        finally:
            container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://root@127.0.0.1:5432/postgres",
        help="an administrative PostgreSQL URL, or 'sqlite' for a temporary file",
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    with organization(args.database_url, "Batches") as (svc, admin):
        department = departments.create_department(svc, admin, name="Production")
        before = peak_mib()

        started = time.perf_counter()
        made = batches.create_batch(
            svc, admin, count=args.count, number="BENCH-1", name="Benchmark run",
            departments=[department.id], pin="4711",
            on_progress=lambda n: n % 100_000 == 0 and log(f"  {n:,} codes"),
        )  # fmt: skip
        created = time.perf_counter() - started
        log(
            f"created {args.count:,} codes in one batch in {created:.1f} s "
            f"({args.count / created:,.0f} codes/s), peak RSS {peak_mib():.0f} MiB "
            f"(before: {before:.0f} MiB)"
        )

        started = time.perf_counter()
        view = batches.get_batch(svc, admin, made.batch.id)
        progress = (time.perf_counter() - started) * 1000
        assert view.progress.codes == args.count, view.progress
        log(f"batch progress ({view.progress}) read in {progress:.0f} ms")

        started = time.perf_counter()
        run = batches.start_print(svc, admin, made.batch.id)
        streamed = sum(1 for _ in run.labels())
        seconds = time.perf_counter() - started
        log(
            f"streamed the {streamed:,} codes of the batch as a print run does in "
            f"{seconds:.1f} s, peak RSS {peak_mib():.0f} MiB"
        )
        started = time.perf_counter()
        first = batches.finish_print(svc, run, output="benchmark")
        seconds = time.perf_counter() - started
        assert streamed == first == args.count, (streamed, first)
        log(f"noted them printed in {seconds:.1f} s")


if __name__ == "__main__":
    main()
