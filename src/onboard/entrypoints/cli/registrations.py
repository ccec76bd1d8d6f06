"""Registrations of serials in a provisioning group from the command line (SPEC D3, D4): a
list of serials registered in one transaction with a progress bar and a per-row report,
one registration disabled or enabled again, the group's registrations listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from onboard.domain.enrollment_import import ImportMode, ListFormat
from onboard.domain.provisioning import Registration
from onboard.entrypoints.cli.common import OrgOption, container, every, fail, operator, table
from onboard.entrypoints.cli.list_import import phases, print_report
from onboard.services.provisioning import registrations
from onboard.services.provisioning.registrations import RegistrationImportRefused

registrations_app = typer.Typer(
    help="Serials registered in a provisioning group before their devices exist (SPEC D3).",
    no_args_is_help=True,
)

GroupOption = Annotated[
    str, typer.Option("--group", help="The group's public group id or its record id.")
]
SerialArgument = Annotated[str, typer.Argument(metavar="SERIAL", help="The device's serial.")]

_LABELS = {
    "reading": "Reading and checking rows",
    "checking": "Checking the list",
    "applying": "Registering",
}


@registrations_app.command("import")
def registrations_import(
    org: OrgOption,
    group: GroupOption,
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
        bool, typer.Option("--valid-only", help="Register the valid rows, report the others.")
    ] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Write every rejected row to this CSV file."),
    ] = None,
) -> None:
    """Register the serials of a list in the group (CSV with a serial column and a column
    for each attribute, empty cells left out; or JSON lines {"serial": ..., "attributes":
    {...}}) in one transaction. Every row is checked first; if one is rejected nothing is
    registered (exit 2) unless --valid-only. Rows are numbered from the first data row
    (CSV) or by line (JSON lines). Safe to run again: serials registered already are
    reported already_registered."""
    list_format = kind or ListFormat.of_name(file.name)
    if list_format is None:
        raise fail(f"cannot tell the format of {file.name}: give --format csv or jsonl", status=2)
    mode = ImportMode.VALID if valid_only else ImportMode.ALL
    with container() as built, file.open("rb") as source:
        actor = operator(built, org)
        try:
            with phases(_LABELS) as progress:
                report = registrations.register_serials(
                    built.services, actor, group, source, format=list_format, mode=mode,
                    progress=progress,
                )  # fmt: skip
        except RegistrationImportRefused as refused:
            with refused.report:
                print_report(refused.report, report_file)
            raise fail(
                f"{refused.detail} (--valid-only registers the valid rows)", status=2
            ) from None
    with report:
        print_report(report, report_file)


def _set_disabled(org: str, group: str, serial: str, *, disabled: bool) -> None:
    with container() as built:
        actor = operator(built, org)
        found = registrations.set_registration_disabled(
            built.services, actor, group, serial, disabled=disabled
        )
    typer.echo(f"registration of {found.serial} {'disabled' if disabled else 'enabled'}")


@registrations_app.command("disable")
def registrations_disable(org: OrgOption, group: GroupOption, serial: SerialArgument) -> None:
    """Disable one registration: its device's activation is refused (registration_disabled,
    SPEC D4); the group and its other devices are untouched."""
    _set_disabled(org, group, serial, disabled=True)


@registrations_app.command("enable")
def registrations_enable(org: OrgOption, group: GroupOption, serial: SerialArgument) -> None:
    """Enable a disabled registration again: its device activates again (SPEC D4)."""
    _set_disabled(org, group, serial, disabled=False)


def _row(r: Registration) -> list[str]:
    return [
        r.serial,
        "disabled" if r.disabled else "enabled",
        r.device_id or "-",
        r.activated_at.strftime("%Y-%m-%d %H:%M") if r.activated_at else "-",
        json.dumps(r.attributes, ensure_ascii=False) if r.attributes else "-",
    ]


@registrations_app.command("list")
def registrations_list(
    org: OrgOption,
    group: GroupOption,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="At most this many.")] = 100,
) -> None:
    """List the group's registrations by serial: serial, state, device, activation,
    attributes."""
    with container() as built:
        actor = operator(built, org)
        svc = built.services
        found = every(
            lambda page: registrations.list_registrations(svc, actor, group, page),
            limit=limit + 1,
        )
    if not found:
        typer.echo("no registrations")
        return
    header = ["SERIAL", "STATE", "DEVICE", "ACTIVATED", "ATTRIBUTES"]
    for line in table(header, [_row(r) for r in found[:limit]]):
        typer.echo(line)
    if len(found) > limit:
        typer.echo(f"(more than {limit}; raise --limit to see them)", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(registrations_app, name="registrations")
