"""Codes in bulk, in batches, and pairing from the command line (SPEC A1, A2, A6, A9,
issue 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from onboard.domain.access import Actor
from onboard.domain.codes import Code, code_url
from onboard.domain.errors import NotFound
from onboard.entrypoints.cli import batches as batches_cli
from onboard.entrypoints.cli.batches import progress_bar
from onboard.entrypoints.cli.common import OrgOption, container, every, operator, table
from onboard.services import batches, codes, devices, pairing
from onboard.services.batches import CREATE_STEP, BatchView
from onboard.services.ports import CodeFilter, PageRequest, Services

codes_app = typer.Typer(help="Access codes: the QR stickers (SPEC A1, A2).", no_args_is_help=True)


@codes_app.command("create")
def codes_create(
    org: OrgOption,
    count: Annotated[int, typer.Option(min=1, help="How many codes.")],
    batch: Annotated[
        str | None,
        typer.Option(help="Batch number: a new batch is made, or the codes join it if it exists."),
    ] = None,
    new_batch: Annotated[
        bool,
        typer.Option(
            "--new-batch",
            help="Always a new batch: refused if --batch exists; without --batch it gets the "
            "next number (B0001, ...).",
        ),
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="Name of a new batch (implies --new-batch).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Text printed under each QR.")] = None,
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="Department id of the codes; repeat for several."),
    ] = None,
    pin: Annotated[str | None, typer.Option(help="PIN (4-8 digits) for every code.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print a summary only.")] = False,
) -> None:
    """Create unpaired codes in one transaction; print each token and URL (tab-separated)
    and a summary on stderr. A new batch holds up to 1,000,000 codes; an existing batch,
    or no batch, takes up to 100,000 at a time."""
    departments = department or None
    with container() as built:
        actor = operator(built, org)
        svc = built.services
        new = new_batch or name is not None
        joined = None if new or batch is None else _existing_batch(svc, actor, batch)
        tokens: Iterable[str]
        if batch is None and not new:
            made = codes.create_codes(
                svc, actor, count=count, label=label, departments=departments, pin=pin
            )
            tokens, summary = (c.token for c in made), f"{count} code(s) created"
        elif joined is not None:
            number = joined.batch.number
            made = codes.create_codes(
                svc, actor, count=count, batch=number, label=label, departments=departments,
                pin=pin,
            )  # fmt: skip
            held = batches.find_batch(svc, actor, number).progress.codes
            tokens = (c.token for c in made)
            summary = f"{count} code(s) added to batch {number!r}, which holds {held} now"
        else:
            where = f"batch {batch}" if batch is not None else "a new batch"
            with _progress(count, f"Creating {count:,} codes in {where}") as advance:
                view = batches.create_batch(
                    svc, actor, count=count, number=batch, name=name, label=label,
                    departments=departments, pin=pin, on_progress=advance,
                )  # fmt: skip
            number = view.batch.number
            tokens = _batch_tokens(svc, actor, number)
            summary = f"{count} code(s) created in batch {number!r}"
        if quiet:
            typer.echo(summary)
            return
        for token in tokens:
            typer.echo(f"{token}\t{code_url(svc.public_url, token)}")
    typer.echo(summary, err=True)


def _existing_batch(svc: Services, actor: Actor, number: str) -> BatchView | None:
    try:
        return batches.find_batch(svc, actor, number)
    except NotFound:
        return None


@contextmanager
def _progress(count: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar for batches written in more than one step; smaller ones take a
    moment and would only jump from empty to full."""
    if count < CREATE_STEP:
        yield None
        return
    with progress_bar(count, label) as advance:
        yield advance


def _batch_tokens(svc: Services, actor: Actor, number: str) -> Iterator[str]:
    """The tokens of a batch in creation order, a page at a time: a million stay cheap."""
    filters = CodeFilter(batch=number)
    after: str | None = None
    while True:
        page = codes.list_codes(svc, actor, filters, PageRequest(after, 500))
        yield from (c.token for c in page.items)
        if page.next_after is None:
            return
        after = page.next_after


def _code_row(code: Code, public_url: str) -> list[str]:
    return [
        code.token,
        code_url(public_url, code.token),
        code.batch or "-",
        code.label or "-",
        "yes" if code.active else "no",
        "yes" if code.pin_protected else "no",
        code.device_id or "-",
    ]


@codes_app.command("list")
def codes_list(
    org: OrgOption,
    batch: Annotated[str | None, typer.Option(help="Only this batch.")] = None,
    paired: Annotated[
        bool | None, typer.Option("--paired/--unpaired", help="Only paired or unpaired codes.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="At most this many.")] = 100,
) -> None:
    """List codes, oldest first: token, URL, batch, label, active, PIN, device id."""
    with container() as built:
        actor = operator(built, org)
        svc = built.services
        filters = CodeFilter(paired=paired, batch=batch)
        found = every(lambda page: codes.list_codes(svc, actor, filters, page), limit=limit + 1)
    if not found:
        typer.echo("no codes")
        return
    header = ["TOKEN", "URL", "BATCH", "LABEL", "ACTIVE", "PIN", "DEVICE"]
    for line in table(header, [_code_row(c, svc.public_url) for c in found[:limit]]):
        typer.echo(line)
    if len(found) > limit:
        typer.echo(f"(more than {limit}; raise --limit to see them)", err=True)


def pair(
    org: OrgOption,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code's token.")],
    device_id: Annotated[str, typer.Argument(metavar="DEVICE_ID", help="The device's id.")],
) -> None:
    """Pair an unpaired, active code with a device (SPEC A6)."""
    with container() as built:
        actor = operator(built, org)
        paired = pairing.pair_code(built.services, actor, code, device_id)
        device = devices.get_device(built.services, actor, device_id)
    typer.echo(f"code {paired.token} paired with device {device.name!r} ({device.id})")


def unpair(
    org: OrgOption,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code's token.")],
) -> None:
    """Unpair a code: the link goes, the code and the device stay (SPEC A9)."""
    with container() as built:
        released = pairing.unpair_code(built.services, operator(built, org), code)
    typer.echo(f"code {released.token} unpaired")


def register(app: typer.Typer) -> None:
    batches_cli.register(codes_app)
    app.add_typer(codes_app, name="codes")
    app.command()(pair)
    app.command()(unpair)
