"""Codes in bulk and pairing from the command line (SPEC A1, A2, A6, A9)."""

from __future__ import annotations

from typing import Annotated

import typer

from onboard.domain.codes import Code, code_url
from onboard.entrypoints.cli.common import OrgOption, container, every, operator, table
from onboard.services import codes, devices, pairing
from onboard.services.ports import CodeFilter

codes_app = typer.Typer(help="Access codes: the QR stickers (SPEC A1, A2).", no_args_is_help=True)


@codes_app.command("create")
def codes_create(
    org: OrgOption,
    count: Annotated[int, typer.Option(min=1, help="How many codes.")],
    batch: Annotated[str | None, typer.Option(help="Batch name, to find them again.")] = None,
    label: Annotated[str | None, typer.Option(help="Text printed under each QR.")] = None,
    pin: Annotated[str | None, typer.Option(help="PIN (4-8 digits) for every code.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print a summary only.")] = False,
) -> None:
    """Create unpaired codes in one go; print each token and URL (tab-separated)."""
    with container() as built:
        actor = operator(built, org)
        created = codes.create_codes(
            built.services, actor, count=count, batch=batch, label=label, pin=pin
        )
        public_url = built.services.public_url
    if quiet:
        where = f" in batch {created[0].batch!r}" if created[0].batch else ""
        typer.echo(f"{len(created)} code(s) created{where}")
        return
    for code in created:
        typer.echo(f"{code.token}\t{code_url(public_url, code.token)}")


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
    app.add_typer(codes_app, name="codes")
    app.command()(pair)
    app.command()(unpair)
