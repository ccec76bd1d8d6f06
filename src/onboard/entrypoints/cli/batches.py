"""Code batches from the command line: their list with progress, and their labels printed
to a PDF on label stock, ZPL or CSV with a progress bar (issue 5, SPEC A1, A2)."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from onboard.adapters.labels.sheets import StockName
from onboard.adapters.labels.single import INSTRUCTION
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.entrypoints.cli.common import OrgOption, container, every, fail, operator, table
from onboard.entrypoints.labels import BatchFormat, LabelOptions, clean_instruction, write_run
from onboard.services import batches
from onboard.services.batches import BatchView

STDOUT = "-"


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, fed with how many are done so far. It appears with the
    first progress, so input refused before any work shows none. On a terminal it moves;
    elsewhere (a log, a pipe) only its label is written, once, and stdout stays clean."""
    with ExitStack() as stack:
        step: Callable[[int], None] | None = None
        shown = 0

        def advance(done: int) -> None:
            nonlocal step, shown
            if step is None:
                stderr = typer.get_text_stream("stderr")
                bar = typer.progressbar(length=max(total, 1), label=label, file=stderr)
                step = stack.enter_context(bar).update
            if done > shown:
                step(done - shown)
                shown = done

        yield advance


def _row(view: BatchView) -> list[str]:
    batch, progress = view.batch, view.progress
    return [
        batch.number,
        batch.name or "-",
        f"{progress.codes}",
        f"{progress.printed}",
        f"{progress.paired}",
        batch.created_at.strftime("%Y-%m-%d %H:%M"),
    ]


def batches_list(
    org: OrgOption,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 100,
) -> None:
    """List code batches, newest first, with how many of their codes are printed and
    paired."""
    with container() as built:
        actor = operator(built, org)
        svc = built.services
        found = every(lambda page: batches.list_batches(svc, actor, page), limit=limit + 1)
    if not found:
        typer.echo("no batches")
        return
    header = ["NUMBER", "NAME", "CODES", "PRINTED", "PAIRED", "CREATED"]
    for line in table(header, [_row(view) for view in found[:limit]]):
        typer.echo(line)
    if len(found) > limit:
        typer.echo(f"(more than {limit}; raise --limit to see them)", err=True)


def _format_of(output: str, given: BatchFormat | None) -> BatchFormat:
    """The format asked for, else the one the file name ends in, else PDF."""
    if given is not None:
        return given
    suffix = Path(output).suffix.lower().lstrip(".")
    return BatchFormat(suffix) if suffix in set(BatchFormat) else BatchFormat.PDF


@contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``target`` that becomes ``target`` only when the block
    ends without an error; otherwise it is removed and ``target`` is left as it was."""
    if target.is_dir():
        raise fail(f"cannot write {target}: it is a directory", status=2)
    part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        # As open() would make it (the umask applies), not private like mkstemp's files.
        handle = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}", status=2) from None
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def batches_print(
    org: OrgOption,
    batch: Annotated[str, typer.Option(help="The batch number, as `codes batches` shows it.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="The file to write; '-' for stdout.")
    ],
    layout: Annotated[
        StockName, typer.Option(case_sensitive=False, help="Label stock of the PDF and ZPL.")
    ] = StockName.A4_24,
    kind: Annotated[
        BatchFormat | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="pdf, zpl or csv; by default the file's suffix says, else pdf.",
        ),
    ] = None,
    error: Annotated[
        ErrorCorrection,
        typer.Option(
            case_sensitive=False, help="QR error correction: L 7 %, M 15 %, Q 25 %, H 30 %."
        ),
    ] = ErrorCorrection.M,
    organization: Annotated[
        bool,
        typer.Option("--organization/--no-organization", help="Print the organization's name."),
    ] = True,
    instruction: Annotated[
        str | None,
        typer.Option(help=f"One line on each label (default {INSTRUCTION!r}; '' for none)."),
    ] = None,
    unprinted: Annotated[
        bool, typer.Option("--unprinted", help="Only the codes never printed before.")
    ] = False,
) -> None:
    """Print a batch's labels: a vector PDF on label stock, ZPL for Zebra printers, or CSV
    for a print shop. The file appears only when complete, and only then are its codes
    noted as printed."""
    kind = _format_of(output, kind)
    options = LabelOptions(
        layout=layout,
        error=error,
        organization=organization,
        instruction=INSTRUCTION if instruction is None else clean_instruction(instruction),
    )
    with container() as built:
        actor = operator(built, org)
        svc = built.services
        view = batches.find_batch(svc, actor, batch)
        run = batches.start_print(svc, actor, view.batch.id, unprinted_only=unprinted)
        number = view.batch.number
        if run.total == 0:
            why = "every code of it was printed before" if unprinted else "it has no codes"
            typer.echo(f"nothing to print in batch {number}: {why}", err=True)
            return
        noted = f"{kind.value} {options.layout.value}"
        if output == STDOUT:
            write_run(run, kind, options, typer.get_binary_stream("stdout"))
            first = batches.finish_print(svc, run, output=noted)
        else:
            with _replacing(Path(output)) as out:
                label = f"Printing {run.total:,} label(s) of batch {number}"
                with progress_bar(run.total, label) as advance:
                    write_run(run, kind, options, out, on_progress=advance)
                out.flush()
                # Noted before the file takes its name: a failure here leaves neither.
                first = batches.finish_print(svc, run, output=noted)
    where = "stdout" if output == STDOUT else output
    pages = ""
    if kind is BatchFormat.PDF:
        pages = (
            f", {max(1, math.ceil(run.printed / options.stock.per_page))} page(s) of {layout.value}"
        )
    typer.echo(
        f"{run.printed} label(s) of batch {number} written to {where}{pages}; "
        f"{first} printed for the first time",
        err=output == STDOUT,
    )


def register(codes_app: typer.Typer) -> None:
    codes_app.command("batches")(batches_list)
    codes_app.command("print")(batches_print)
