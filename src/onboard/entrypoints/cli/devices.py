"""Devices from the command line: one at a time, or imported from a CSV file (SPEC A3);
a provisioned device moved (D6) or given new hardware (D7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onboard.domain.device_import import read_rows
from onboard.domain.errors import Invalid
from onboard.entrypoints.cli.common import OrgOption, container, fail, operator
from onboard.services import devices, imports, organizations, templates
from onboard.services.devices import DeviceInput
from onboard.services.provisioning import replacement, reprovisioning

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


@devices_app.command("replace")
def devices_replace(
    org: OrgOption,
    device: Annotated[str, typer.Argument(help="The device's id.")],
    serial: Annotated[str, typer.Option(help="The new hardware's serial.")],
    group: Annotated[
        str | None,
        typer.Option(help="The new hardware's provisioning group; default: the old one's."),
    ] = None,
) -> None:
    """Swap a provisioned device's hardware for new hardware with its own serial (SPEC D7):
    the twin keeps everything, the old serial's credential stops at once, and the new
    hardware activates into the twin (`onboard device activate`)."""
    with container() as built:
        replaced = replacement.replace_device(
            built.services, operator(built, org), device, serial=serial, group=group
        )
    typer.echo(
        f"device {replaced.id} is now serial {replaced.serial!r}; the old hardware's "
        "credential has stopped. Activate the new hardware to bring it in."
    )


@devices_app.command("reprovision")
def devices_reprovision(
    org: OrgOption,
    device: Annotated[str, typer.Argument(help="The device's id.")],
    environment: Annotated[
        str | None,
        typer.Option(help="One of its group's environments; default: its own while up."),
    ] = None,
    to_org: Annotated[
        str | None, typer.Option("--to-org", help="Another organization (id or name).")
    ] = None,
) -> None:
    """Move a provisioned device to another environment and/or organization (SPEC D6), as
    the operator. The group's reprovision policy keeps its twin (migrate), starts a new
    one (reset) or refuses (never); the device learns it at its next check-in."""
    with container() as built:
        target = organizations.find_organization(built.services, to_org).id if to_org else None
        moved = reprovisioning.reprovision_device(
            built.services, operator(built, org), device, environment=environment,
            organization=target,
        )  # fmt: skip
    where = moved.environment.name if moved.environment else "no environment"
    typer.echo(
        f"device {moved.device_id} ({moved.policy.value}) is now in organization "
        f"{moved.organization_id}, {where}; it is told at its next check-in."
    )


def _print_rows(report: imports.ImportReport) -> None:
    for row in report.rows:
        outcome = f"{row.error.code}: {row.error.detail}" if row.error else "ok"
        typer.echo(f"row {row.number}: {outcome}")


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
