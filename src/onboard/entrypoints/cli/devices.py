"""Devices from the command line: one at a time, or imported from a CSV file (SPEC A3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onboard.domain.device_import import read_rows
from onboard.domain.errors import Invalid
from onboard.entrypoints.cli.common import OrgOption, container, fail, operator
from onboard.services import devices, imports, templates
from onboard.services.devices import DeviceInput

devices_app = typer.Typer(help="Devices: the digital twins (SPEC A3).", no_args_is_help=True)


@devices_app.command("create")
def devices_create(
    org: OrgOption,
    name: Annotated[str, typer.Option(help="Name of the device.")],
    serial: Annotated[str | None, typer.Option(help="Serial number.")] = None,
    template: Annotated[str | None, typer.Option(help="Template id or name.")] = None,
) -> None:
    """Create a device (from a template: its defaults apply); print its id."""
    with container() as built:
        actor = operator(built, org)
        template_id = (
            templates.find_template(built.services, actor, template).id if template else None
        )
        device = devices.create_device(
            built.services, actor, DeviceInput(name=name, serial=serial, template_id=template_id)
        )
    typer.echo(device.id)
    typer.echo(f"device {device.name!r} created", err=True)


@devices_app.command("import")
def devices_import(
    org: OrgOption,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A CSV file.")
    ],
    valid_only: Annotated[
        bool, typer.Option("--valid-only", help="Import the good rows, skip the bad ones.")
    ] = False,
) -> None:
    """Create devices from a CSV file with the header name,serial,template,customer,
    location,departments (any of them but name may be left out) and attr:<field> columns;
    templates, customers and departments by id or name, departments separated by ";".
    Every row is checked first and reported; nothing is imported if one is bad, unless
    --valid-only. Exit 0 when imported, 2 when refused."""
    try:
        rows = read_rows(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}", status=2) from None
    except Invalid as exc:
        raise fail(f"{file}: {exc.detail}", status=2) from None
    with container() as built:
        try:
            report = imports.import_devices(
                built.services, operator(built, org), rows, valid_only=valid_only
            )
        except imports.ImportRefused as refused:
            _print_rows(refused.report)
            hint = "" if valid_only else " (--valid-only imports the good rows)"
            raise fail(f"{refused.detail.rstrip('.')}{hint}", status=2) from None
    _print_rows(report)
    skipped = f"; {report.refused} row(s) skipped" if report.refused else ""
    typer.echo(f"imported {report.imported} device(s){skipped}")


def _print_rows(report: imports.ImportReport) -> None:
    for row in report.rows:
        outcome = f"{row.error.code}: {row.error.detail}" if row.error else "ok"
        typer.echo(f"row {row.number}: {outcome}")


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
