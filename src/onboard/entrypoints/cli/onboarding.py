"""QR onboarding from the command line (SPEC D5): a provisioning group's next registered
serials put in a numbered batch and its onboarding labels written as a PDF on label
stock, a batch's labels written again, and each batch's progress (labels printed,
devices onboarded, devices activated)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from onboard.adapters.labels.sheets import StockName
from onboard.entrypoints.cli.common import OrgOption, container, fail, operator, table
from onboard.entrypoints.web.onboarding import write_labels
from onboard.services.provisioning import onboarding
from onboard.services.provisioning.onboarding import OnboardingPrint

onboarding_app = typer.Typer(
    help="Onboarding labels of provisioning groups, in numbered batches (SPEC D5).",
    no_args_is_help=True,
)

GroupOption = Annotated[
    str, typer.Option("--group", help="The group's public group id or its record id.")
]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", dir_okay=False, help="The PDF file to write.")
]
StockOption = Annotated[
    StockName, typer.Option("--stock", case_sensitive=False, help="The label stock.")
]


def _check_output(output: Path) -> None:
    """Before anything is made: a file can be written where the PDF goes."""
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise fail(f"cannot write {output}: no writable folder {folder}", status=2)


def _write(run: OnboardingPrint, stock: StockName, output: Path) -> int:
    """The labels into a temporary file beside ``output``, renamed into place once
    complete: an interrupted run leaves no half-written PDF."""
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=".onboarding-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            written = write_labels(run, stock, out)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


@onboarding_app.command("batch")
def onboarding_batch(
    org: OrgOption,
    group: GroupOption,
    count: Annotated[int, typer.Option("--count", help="How many serials to label.")],
    output: OutputOption,
    stock: StockOption = StockName.A4_24,
) -> None:
    """Put the group's next COUNT registered serials without a label (by serial) in a new
    numbered batch, and write its labels to the PDF. If writing fails, the batch is kept:
    write its labels again with `onboard onboarding labels`."""
    _check_output(output)
    with container() as built:
        svc = built.services
        actor = operator(built, org)
        batch = onboarding.create_onboarding_batch(svc, actor, group, count)
        typer.echo(f"batch {batch.number}: {batch.size} serial(s)")
        written = _write(onboarding.batch_labels(svc, actor, group, batch.number), stock, output)
    typer.echo(f"{written} label(s) written to {output}")


@onboarding_app.command("labels")
def onboarding_labels(
    org: OrgOption,
    group: GroupOption,
    number: Annotated[int, typer.Option("--batch", help="The batch's number.")],
    output: OutputOption,
    stock: StockOption = StockName.A4_24,
) -> None:
    """Write the labels of one of the group's batches to the PDF again."""
    _check_output(output)
    with container() as built:
        run = onboarding.batch_labels(built.services, operator(built, org), group, number)
        written = _write(run, stock, output)
    typer.echo(f"{written} label(s) written to {output}")


@onboarding_app.command("progress")
def onboarding_progress(org: OrgOption, group: GroupOption) -> None:
    """Each batch of the group, newest first: labels printed, devices onboarded, devices
    activated."""
    with container() as built:
        found = onboarding.batch_progress(built.services, operator(built, org), group)
    if not found:
        typer.echo("no batches")
        return
    rows = [
        [str(p.batch.number), p.batch.created_at.strftime("%Y-%m-%d %H:%M"), str(p.printed),
         str(p.onboarded), str(p.activated)]
        for p in found
    ]  # fmt: skip
    for line in table(("batch", "created", "printed", "onboarded", "activated"), rows):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(onboarding_app, name="onboarding")
