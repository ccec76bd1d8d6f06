"""What a command importing a list shows, whatever its rows are (SPEC C7, D3): a progress
bar for each phase of the import, and the per-row report printed and written to a CSV
file.

Generalized from `onboard enrollments import` (entrypoints.cli.enrollments), so that
`onboard registrations import` shows the same; the enrollment command keeps its own
copies for now."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import typer

from onboard.entrypoints.cli.batches import progress_bar
from onboard.entrypoints.cli.common import fail
from onboard.services.list_import import ListImportReport, Progress

# Rejections printed on the terminal; --report has them all.
SHOWN = 20


@contextmanager
def phases(labels: Mapping[str, str]) -> Iterator[Progress]:
    """A progress bar for each phase of the import, each closing the one before, labelled
    by ``labels`` (a phase without one by its name)."""
    with ExitStack() as stack:
        shown: str | None = None
        advance: Callable[[int], None] = lambda done: None  # noqa: E731

        def tell(phase: str, done: int, total: int) -> None:
            nonlocal shown, advance
            if phase != shown:
                stack.close()
                advance = stack.enter_context(progress_bar(total, labels.get(phase, phase)))
                shown = phase
            advance(done)

        yield tell


def write_report(report: ListImportReport[Any], target: Path) -> None:
    """Every rejected row, as CSV with the header row,code,detail."""
    try:
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["row", "code", "detail"])
            for r in report.rejections():
                writer.writerow([r.row, r.code.value, r.detail])
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}", status=2) from None


def print_report(report: ListImportReport[Any], target: Path | None) -> None:
    """The first SHOWN rejected rows, then the counts; all of them to ``target``."""
    for r in report.rejections(SHOWN):
        typer.echo(f"row {r.row}: {r.code.value}: {r.detail}")
    if report.rejected > SHOWN:
        where = f"all of them are in {target}" if target else "--report FILE.csv lists them all"
        typer.echo(f"... and {report.rejected - SHOWN} more ({where})")
    if target is not None:
        write_report(report, target)
    typer.echo(f"accepted: {report.accepted}")
    by_code = ", ".join(f"{code.value} {n}" for code, n in sorted(report.counts.items()))
    typer.echo(f"rejected: {report.rejected}" + (f" ({by_code})" if by_code else ""))
