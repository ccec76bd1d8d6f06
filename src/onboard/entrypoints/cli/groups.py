"""Provisioning groups from the command line: created with a secret shown once, listed and
shown, their secret rotated, and the device keys a manufacturer burns derived for a list
of serials (SPEC D1, D2)."""

from __future__ import annotations

import csv
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from onboard.domain.errors import NotFound
from onboard.domain.provisioning import (
    AllocationPolicy,
    ProvisioningGroup,
    RegistrationMode,
    ReprovisionPolicy,
)
from onboard.entrypoints.cli.common import OrgOption, container, every, fail, operator, table
from onboard.services import organizations
from onboard.services.ports import Services
from onboard.services.provisioning import environments, groups
from onboard.services.provisioning.groups import GroupInput, InvalidSerial

groups_app = typer.Typer(
    help="Provisioning groups: devices sharing onboarding information (SPEC D1, D2).",
    no_args_is_help=True,
)

GroupArgument = Annotated[
    str, typer.Argument(metavar="GROUP", help="The group's public group id or its record id.")
]
KEYS_HEADER = ("group_id", "serial", "device_key")


def _json_object(option: str, raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"{option} is not JSON: {exc}", status=2) from None
    if not isinstance(value, dict):
        raise fail(f'{option} is a JSON object, like \'{{"color": "red"}}\'', status=2)
    return value


def _organization_ids(svc: Services, given: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for org in given:
        try:
            found.append(organizations.find_organization(svc, org).id)
        except NotFound:
            raise fail(f"--claimant: no organization {org[:100]!r}", status=2) from None
    return tuple(found)


def _describe(svc: Services, group: ProvisioningGroup) -> Iterator[str]:
    """The group's settings, one per line (never its secrets)."""
    names = {e.id: e.name for e in environments.list_environments(svc)}
    defaults = group.defaults
    claims = (
        "any organization"
        if group.open_claims
        else ", ".join(["its own organization", *sorted(group.claimants)])
    )
    rotating = "a secret is held: keys of it activate too, until finish-rotation"
    rows = [
        ("group_id", group.group_id),
        ("id", group.id),
        ("name", group.name),
        ("mode", group.registration_mode.value),
        ("allocation", group.allocation_policy.value),
        ("reprovision", group.reprovision_policy.value),
        ("environments", ", ".join(names.get(e, e) for e in group.environment_ids) or "-"),
        ("template", defaults.template_id or "-"),
        ("departments", ", ".join(sorted(defaults.departments)) or "-"),
        ("attributes", json.dumps(defaults.attributes, sort_keys=True)),
        ("configuration", json.dumps(defaults.configuration, sort_keys=True)),
        ("named config", defaults.configuration_id or "-"),
        ("claimed by", claims),
        ("secondary", rotating if group.rotating else "none"),
        ("created", group.created_at.isoformat(timespec="seconds")),
    ]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        yield f"{label + ':':<{width}} {value}"


@groups_app.command("create")
def groups_create(
    org: OrgOption,
    group_id: Annotated[
        str,
        typer.Argument(
            metavar="GROUP_ID",
            help="Public id burned into the devices: 3-64 of a-z, 0-9 and '-', unique on the "
            "platform.",
        ),
    ],
    name: Annotated[str, typer.Option(help="A name people read.")],
    mode: Annotated[
        RegistrationMode,
        typer.Option(case_sensitive=False, help="Who activates: registered serials, or any."),
    ] = RegistrationMode.PREREGISTERED,
    allocation: Annotated[
        AllocationPolicy,
        typer.Option(case_sensitive=False, help="How a device's environment is chosen."),
    ] = AllocationPolicy.STATIC,
    reprovision: Annotated[
        ReprovisionPolicy,
        typer.Option(case_sensitive=False, help="What moving a device does to its twin's data."),
    ] = ReprovisionPolicy.MIGRATE,
    environment: Annotated[
        list[str] | None,
        typer.Option("--environment", help="An environment (in order); repeat for several."),
    ] = None,
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="Department id new devices get; repeat for several."),
    ] = None,
    template: Annotated[str | None, typer.Option(help="Template id of new devices.")] = None,
    attributes: Annotated[
        str | None, typer.Option(help="Initial attributes of new devices, a JSON object.")
    ] = None,
    configuration: Annotated[
        str | None, typer.Option(help="Configuration of new devices, a JSON object.")
    ] = None,
    configuration_id: Annotated[
        str | None,
        typer.Option(help="Or the id of one of its named configurations (B8), whose body it is."),
    ] = None,
    open_claims: Annotated[
        bool,
        typer.Option("--open-claims", help="Any organization may claim its devices by QR (D5)."),
    ] = False,
    claimant: Annotated[
        list[str] | None,
        typer.Option(
            "--claimant", help="Another organization that may claim its devices; repeatable."
        ),
    ] = None,
) -> None:
    """Create a group and print it with its secret, shown this once: store it now."""
    with container() as built:
        svc = built.services
        actor = operator(built, org)
        given = GroupInput(
            name=name,
            registration_mode=mode.value,
            allocation_policy=allocation.value,
            reprovision_policy=reprovision.value,
            environments=tuple(environment or ()),
            template_id=template,
            configuration=_json_object("--configuration", configuration),
            configuration_id=configuration_id,
            attributes=_json_object("--attributes", attributes),
            departments=tuple(department) if department else None,
            open_claims=open_claims,
            claimants=_organization_ids(svc, claimant or []),
        )
        made = groups.create_group(svc, actor, group_id, given)
        for line in _describe(svc, made.group):
            typer.echo(line)
    typer.echo(f"secret: {made.secret}")
    typer.echo(f"secondary_secret: {made.secondary_secret}")
    typer.secho(
        "Store both secrets now, somewhere safe: they are shown this once and never again. "
        "Device keys are derived from the secret (onboard groups derive-keys); the secondary "
        "one is held for a rotation (keys of either activate).",
        fg=typer.colors.YELLOW,
        err=True,
    )


@groups_app.command("list")
def groups_list(org: OrgOption) -> None:
    """The organization's groups: group id, name, mode, policies, environments."""
    with container() as built:
        svc = built.services
        actor = operator(built, org)
        found = every(lambda page: groups.list_groups(svc, actor, page))
        names = {e.id: e.name for e in environments.list_environments(svc)}
    if not found:
        typer.echo("no provisioning groups")
        return
    header = ["GROUP_ID", "NAME", "MODE", "ALLOCATION", "REPROVISION", "ROTATING", "ENVIRONMENTS"]
    rows = [
        [
            g.group_id,
            g.name,
            g.registration_mode.value,
            g.allocation_policy.value,
            g.reprovision_policy.value,
            "yes" if g.rotating else "no",
            ",".join(names.get(e, e) for e in g.environment_ids) or "-",
        ]
        for g in found
    ]
    for line in table(header, rows):
        typer.echo(line)


@groups_app.command("show")
def groups_show(org: OrgOption, group: GroupArgument) -> None:
    """A group's settings (never its secret)."""
    with container() as built:
        found = groups.find_group_now(built.services, operator(built, org), group)
        for line in _describe(built.services, found):
            typer.echo(line)


@groups_app.command("rotate-secret")
def groups_rotate_secret(org: OrgOption, group: GroupArgument) -> None:
    """Give the group a new secret, printed this once.

    The previous one still activates devices until finish-rotation; keys derived from now
    on use the new one."""
    with container() as built:
        rotated = groups.rotate_group_secret(built.services, operator(built, org), group)
    typer.echo(f"secret: {rotated.secret}")
    typer.secho(
        "Store the new secret now: it is shown this once and never again. Devices with keys of "
        "the previous secret still activate until you run: onboard groups finish-rotation "
        f"--org {shlex.quote(org)} {rotated.group.group_id}",
        fg=typer.colors.YELLOW,
        err=True,
    )


@groups_app.command("finish-rotation")
def groups_finish_rotation(org: OrgOption, group: GroupArgument) -> None:
    """Drop the previous secret: from now on only keys of the current one activate."""
    with container() as built:
        actor = operator(built, org)
        was = groups.find_group_now(built.services, actor, group)
        done = groups.finish_rotation(built.services, actor, group)
    if was.rotating:
        typer.echo(f"rotation of {done.group_id} finished: the previous secret no longer activates")
    else:
        typer.echo(f"{done.group_id} has no rotation under way: nothing changed")


def _serials(path: Path) -> Iterator[str]:
    """The lines of a list of serials, read as they come; bytes that are not UTF-8 stay as
    characters no serial has, so that their line is reported."""
    with path.open("rb") as source:
        for number, raw in enumerate(source, start=1):
            line = raw.decode("utf-8", "surrogateescape")
            yield line.removeprefix("\ufeff") if number == 1 else line


def _tell_invalid(invalid: InvalidSerial) -> None:
    shown = invalid.text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    typer.echo(f"line {invalid.line}: {shown[:120]!r}: {invalid.detail}", err=True)


@contextmanager
def _output(target: Path | None) -> Iterator[IO[str]]:
    """Standard output, or a file written in full or not at all: a temporary file beside
    the target (readable by its owner only: device keys are secrets), renamed onto it
    once every row is written."""
    if target is None:
        yield sys.stdout
        return
    try:
        temporary = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            "w", dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False,
            newline="", encoding="utf-8",
        )  # fmt: skip
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}", status=2) from None
    try:
        with temporary:
            yield temporary
        os.replace(temporary.name, target)
    except BaseException:
        Path(temporary.name).unlink(missing_ok=True)
        raise


@groups_app.command("derive-keys")
def groups_derive_keys(
    org: OrgOption,
    group: Annotated[
        str, typer.Option("--group", help="The group's public group id or its record id.")
    ],
    serials_file: Annotated[
        Path,
        typer.Argument(
            metavar="SERIALS_FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="One serial a line; blank lines are skipped.",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", dir_okay=False, help="Write the CSV here instead of to stdout."
        ),
    ] = None,
) -> None:
    """Write the device keys of a list of serials as CSV, for the manufacturer.

    One row a serial: group_id,serial,device_key (SPEC D2). The list is checked first:
    if a line is not a serial, every such line is listed on stderr and nothing is written
    (exit 2). Any length of list, in constant memory. The keys are secrets: a file written
    with --output is readable by its owner only."""
    with container() as built:
        keys = groups.derive_keys(
            built.services,
            operator(built, org),
            group,
            lambda: _serials(serials_file),
            on_invalid=_tell_invalid,
        )
        count = 0
        with _output(output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(KEYS_HEADER)
            for key in keys:
                writer.writerow((key.group_id, key.serial, key.device_key))
                count += 1
    where = f" to {output}" if output is not None else ""
    typer.echo(f"{count} device key(s) written{where}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(groups_app, name="groups")
