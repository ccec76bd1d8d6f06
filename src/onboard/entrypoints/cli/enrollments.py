"""Enrollments from the command line: a list of devices imported in one transaction, with
a progress bar and a per-row report (SPEC C7)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from onboard.domain.enrollment_import import ImportMode, ListFormat
from onboard.entrypoints.cli.batches import progress_bar
from onboard.entrypoints.cli.common import OrgOption, container, fail, operator
from onboard.services.enrollment_import import (
    EnrollmentImportRefused,
    EnrollmentImportReport,
    import_enrollments,
)
from onboard.services.list_import import Progress

enrollments_app = typer.Typer(
    help="Enrollments of connected devices (SPEC Part C).", no_args_is_help=True
)

# Rejections printed on the terminal; --report has them all.
SHOWN = 20
_LABELS = {
    "reading": "Reading and checking rows",
    "checking": "Checking the list",
    "applying": "Enrolling",
}


@contextmanager
def _phases() -> Iterator[Progress]:
    """A progress bar for each phase of the import, each closing the one before."""
    with ExitStack() as stack:
        shown: str | None = None
        advance: Callable[[int], None] = lambda done: None  # noqa: E731

        def tell(phase: str, done: int, total: int) -> None:
            nonlocal shown, advance
            if phase != shown:
                stack.close()
                advance = stack.enter_context(progress_bar(total, _LABELS.get(phase, phase)))
                shown = phase
            advance(done)

        yield tell


def _write_report(report: EnrollmentImportReport, target: Path) -> None:
    try:
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "code", "detail"])
            for r in report.rejections():
                writer.writerow([r.row, r.code.value, r.detail])
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}", status=2) from None


def _print(report: EnrollmentImportReport, target: Path | None) -> None:
    for r in report.rejections(SHOWN):
        typer.echo(f"row {r.row}: {r.code.value}: {r.detail}")
    if report.rejected > SHOWN:
        where = f"all of them are in {target}" if target else "--report FILE.csv lists them all"
        typer.echo(f"... and {report.rejected - SHOWN} more ({where})")
    if target is not None:
        _write_report(report, target)
    typer.echo(f"accepted: {report.accepted}")
    by_code = ", ".join(f"{code.value} {n}" for code, n in sorted(report.counts.items()))
    typer.echo(f"rejected: {report.rejected}" + (f" ({by_code})" if by_code else ""))


@enrollments_app.command("import")
def enrollments_import(
    org: OrgOption,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A CSV or JSON lines file."
        ),
    ],
    kind: Annotated[
        ListFormat | None,
        typer.Option(
            "--format", case_sensitive=False, help="csv or jsonl (default: the file's suffix)."
        ),
    ] = None,
    valid_only: Annotated[
        bool, typer.Option("--valid-only", help="Enroll the valid rows, report the others.")
    ] = False,
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="Department id of the enrollments; repeat for several."),
    ] = None,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Write every rejected row to this CSV file."),
    ] = None,
) -> None:
    """Enroll the devices of a list (CSV with the header serial,access_key,kind,gateway_id,
    name,location, or JSON lines with those keys) in one transaction. Every row is checked
    first; if one is rejected nothing is enrolled (exit 2) unless --valid-only. Rows are
    numbered from the first data row (CSV) or by line (JSON lines). Safe to run again:
    rows enrolled already are reported already_enrolled."""
    list_format = kind or ListFormat.of_name(file.name)
    if list_format is None:
        raise fail(f"cannot tell the format of {file.name}: give --format csv or jsonl", status=2)
    mode = ImportMode.VALID if valid_only else ImportMode.ALL
    with container() as built, file.open("rb") as source:
        actor = operator(built, org)
        try:
            with _phases() as progress:
                report = import_enrollments(
                    built.services, actor, source, format=list_format, mode=mode,
                    departments=department or None, progress=progress,
                )  # fmt: skip
        except EnrollmentImportRefused as refused:
            with refused.report:
                _print(refused.report, report_file)
            raise fail(
                f"{refused.detail} (--valid-only enrolls the valid rows)", status=2
            ) from None
    with report:
        _print(report, report_file)


def register(app: typer.Typer) -> None:
    app.add_typer(enrollments_app, name="enrollments")
