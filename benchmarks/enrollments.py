"""Batch enrollment at scale (SPEC C7, §7: a list of 1,000,000 rows in <= 60 s, in constant
memory).

Creates a throwaway database with an organization, a department and ten enrolled
gateways, writes a list of ``--rows`` rows (a third direct devices, a third nodes naming a
gateway by its serial, a third nodes enrolled by the app) as CSV and as JSON lines, and
imports each through the use case the CLI, the API and the back office call
(services.enrollment_import.import_enrollments: every row checked, its key sealed, all
applied in one transaction). Then it imports the CSV list again in mode valid, as a rerun
after an interruption would: every row is reported already enrolled. Each step prints its
wall time and the process's peak RSS. Run from the repository root::

    .venv/bin/python benchmarks/enrollments.py --rows 1000000
    .venv/bin/python benchmarks/enrollments.py --rows 100000 --database-url sqlite

The database and the lists are removed at the end, even on failure.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

from batches import log, organization, peak_mib

from onboard.domain.access import Actor
from onboard.domain.enrollment import DeviceKind
from onboard.domain.enrollment_import import COLUMNS, ImportMode, ListFormat
from onboard.services import departments, enrollments
from onboard.services.enrollment_import import import_enrollments
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import Services

GATEWAYS = 10


def write_list(path: Path, format: ListFormat, prefix: str, count: int) -> None:
    """``count`` rows written as they are made (never all in memory)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if format is ListFormat.CSV:
            out.write(",".join(COLUMNS) + "\n")
        for n in range(count):
            kind = ("direct", "node", "node")[n % 3]
            gateway = f"GW-{n % GATEWAYS}" if n % 3 == 1 else ""
            cells = [
                f"{prefix}-{n:08d}", secrets.token_hex(12), kind, gateway, f"Meter {n}",
                f"Hall {n % 50}",
            ]  # fmt: skip
            if format is ListFormat.CSV:
                out.write(",".join(cells) + "\n")
            else:
                out.write(json.dumps(dict(zip(COLUMNS, cells, strict=True))) + "\n")


def timed_import(
    svc: Services, admin: Actor, path: Path, format: ListFormat, mode: ImportMode, department: str
) -> None:
    size = path.stat().st_size
    started = time.perf_counter()
    phases: dict[str, float] = {"reading": 0.0}

    def progress(phase: str, done: int, total: int) -> None:
        phases.setdefault(phase, time.perf_counter() - started)

    with path.open("rb") as source:
        report = import_enrollments(
            svc, admin, source, format=format, mode=mode, departments=[department],
            progress=progress,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    marks = [*phases.values(), seconds]
    spent = ", ".join(
        f"{phase} {end - start:.1f} s"
        for phase, start, end in zip(phases, marks, marks[1:], strict=False)
    )
    with report:
        counts = {code.value: n for code, n in report.counts.items()}
        log(
            f"{format.value:5} mode {mode.value:5} {size / 1e6:6.1f} MB: accepted "
            f"{report.accepted:,}, rejected {report.rejected:,} {counts or ''} in "
            f"{seconds:.1f} s ({report.rows / seconds:,.0f} rows/s; {spent}), peak RSS "
            f"{peak_mib():.0f} MiB"
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
        organization(args.database_url, "Enrollments") as (svc, admin),
        tempfile.TemporaryDirectory() as folder,
    ):
        department = departments.create_department(svc, admin, name="Field").id
        for n in range(GATEWAYS):
            enrollments.create_enrollment(
                svc,
                admin,
                EnrollmentInput(f"GW-{n}", secrets.token_hex(12), DeviceKind.GATEWAY),
            )
        lists = {
            ListFormat.CSV: Path(folder) / "list.csv",
            ListFormat.JSONL: Path(folder) / "list.jsonl",
        }
        started = time.perf_counter()
        for format, path in lists.items():
            write_list(path, format, format.value.upper(), args.rows)
        log(
            f"wrote {args.rows:,} rows as CSV and JSON lines in "
            f"{time.perf_counter() - started:.1f} s; peak RSS before importing "
            f"{peak_mib():.0f} MiB"
        )
        for format, path in lists.items():
            timed_import(svc, admin, path, format, ImportMode.ALL, department)
        timed_import(
            svc, admin, lists[ListFormat.CSV], ListFormat.CSV, ImportMode.VALID, department
        )


if __name__ == "__main__":
    main()
