"""Environments from the command line: the deployment targets devices are sent to, which
the operator defines for the whole platform (SPEC P2, D4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from onboard.domain.provisioning import MAX_WEIGHT, Environment
from onboard.entrypoints.cli.common import container, table
from onboard.services.provisioning import environments

environments_app = typer.Typer(
    help="Environments devices connect to (SPEC P2): the operator's, for every organization.",
    no_args_is_help=True,
)


class Status(StrEnum):
    UP = "up"
    DOWN = "down"


def _row(environment: Environment) -> list[str]:
    return [
        environment.name,
        environment.region or "-",
        Status.UP if environment.up else Status.DOWN,
        str(environment.weight),
        environment.api_url,
        environment.mqtt_url,
    ]


@environments_app.command("create")
def environments_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Letters, digits, '.', '-' and '_'.")],
    api_url: Annotated[
        str, typer.Option("--api-url", help="The HTTP(S) API endpoint devices use there.")
    ],
    mqtt_url: Annotated[
        str, typer.Option("--mqtt-url", help="The MQTT endpoint (mqtt, mqtts, ws or wss).")
    ],
    region: Annotated[str | None, typer.Option(help="Where it runs, as people say it.")] = None,
    weight: Annotated[
        int,
        typer.Option(
            min=0, max=MAX_WEIGHT, help="Its share under weighted allocation (0: never chosen)."
        ),
    ] = 1,
    down: Annotated[
        bool, typer.Option("--down", help="Create it marked down: no device is sent to it.")
    ] = False,
) -> None:
    """Define an environment; organizations can then send their groups' devices to it."""
    with container() as built:
        made = environments.create_environment(
            built.services, name=name, api_url=api_url, mqtt_url=mqtt_url, region=region,
            weight=weight, up=not down,
        )  # fmt: skip
    state = "up" if made.up else "down"
    typer.echo(f"environment {made.name} created ({state}, weight {made.weight})")


@environments_app.command("list")
def environments_list() -> None:
    """Every environment, by name: region, up or down, weight, API and MQTT endpoints."""
    with container() as built:
        found = environments.list_environments(built.services)
    if not found:
        typer.echo("no environments (onboard environments create NAME ... defines one)")
        return
    header = ["NAME", "REGION", "STATUS", "WEIGHT", "API_URL", "MQTT_URL"]
    for line in table(header, [_row(e) for e in found]):
        typer.echo(line)


@environments_app.command("set-status")
def environments_set_status(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The environment's name.")],
    status: Annotated[Status, typer.Argument(case_sensitive=False, help="up or down.")],
) -> None:
    """Mark an environment up or down (SPEC D4): activations skip one that is down, and
    its devices may ask to be moved elsewhere (D6)."""
    with container() as built:
        changed = environments.set_environment_status(built.services, name, up=status is Status.UP)
    typer.echo(f"environment {changed.name} is {'up' if changed.up else 'down'}")


def register(app: typer.Typer) -> None:
    app.add_typer(environments_app, name="environments")
