"""Pre-registration at scale (SPEC D3: 1,000,000 serials in a provisioning group <= 60 s on
PostgreSQL, in constant memory).

Creates a throwaway database with an organization and a provisioning group, writes a CSV
list of ``--rows`` serials with two attribute columns, and registers it through the use
case the CLI and the API call (services.provisioning.registrations.register_serials:
every row checked, all applied in one transaction) in mode all; then registers the same
list again in mode valid, as a rerun after an interruption would: every row is reported
already registered. Each step prints its wall time, its phases and the process's peak
RSS. Run from the repository root::

    .venv/bin/python benchmarks/registrations.py --rows 1000000
    .venv/bin/python benchmarks/registrations.py --rows 100000 --database-url sqlite

The database and the list are removed at the end, even on failure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from batches import log, organization, peak_mib

from onboard.domain.access import Actor
from onboard.domain.enrollment_import import ImportMode, ListFormat
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning.groups import GroupInput, create_group
from onboard.services.provisioning.registrations import list_registrations, register_serials


def write_list(path: Path, count: int) -> None:
    """``count`` rows written as they are made (never all in memory)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("serial,site,batch\n")
        for n in range(count):
            out.write(f"SN-{n:09d},Plant {n % 7},B{n // 10_000:04d}\n")


def timed_import(svc: Services, admin: Actor, group: str, path: Path, mode: ImportMode) -> None:
    size = path.stat().st_size
    started = time.perf_counter()
    phases: dict[str, float] = {"reading": 0.0}

    def progress(phase: str, done: int, total: int) -> None:
        phases.setdefault(phase, time.perf_counter() - started)

    with path.open("rb") as source:
        report = register_serials(
            svc, admin, group, source, format=ListFormat.CSV, mode=mode, progress=progress
        )
    seconds = time.perf_counter() - started
    marks = [*phases.values(), seconds]
    spent = ", ".join(
        f"{phase} {end - start:.1f} s"
        for phase, start, end in zip(phases, marks, marks[1:], strict=False)
    )
    with report:
        counts = {code.value: n for code, n in report.counts.items()}
        log(
            f"csv mode {mode.value:5} {size / 1e6:6.1f} MB: accepted {report.accepted:,}, "
            f"rejected {report.rejected:,} {counts or ''} in {seconds:.1f} s "
            f"({report.rows / seconds:,.0f} rows/s; {spent}), peak RSS {peak_mib():.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://root@127.0.0.1:5432/postgres",
        help="an administrative PostgreSQL URL, or 'sqlite' for a temporary file",
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with (
        organization(args.database_url, "Registrations") as (svc, admin),
        tempfile.TemporaryDirectory() as folder,
    ):
        group = create_group(svc, admin, "bench-meters", GroupInput(name="Meters")).group.id
        path = Path(folder) / "serials.csv"
        started = time.perf_counter()
        write_list(path, args.rows)
        log(
            f"wrote {args.rows:,} serials with two attributes as CSV in "
            f"{time.perf_counter() - started:.1f} s; peak RSS before importing "
            f"{peak_mib():.0f} MiB"
        )
        timed_import(svc, admin, group, path, ImportMode.ALL)
        timed_import(svc, admin, group, path, ImportMode.VALID)
        started = time.perf_counter()
        page = list_registrations(svc, admin, group, PageRequest(None, 50))
        log(f"listed the group's first page in {(time.perf_counter() - started) * 1000:.0f} ms")
        assert len(page.items) == 50


if __name__ == "__main__":
    main()
