"""`onboard gateway`: the reference gateway from the command line (SPEC C4, C6): enroll
nodes simulated by a nodes file, report what it sees nearby, obey its own unenrollment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onboard.device import gateway
from onboard.device.client import DeviceApiError
from onboard.device.gateway import NodesFileError
from onboard.device.store import StateFileError
from onboard.entrypoints.cli.common import fail
from onboard.entrypoints.cli.device import default_state_file

gateway_app = typer.Typer(
    help="Act as a gateway enrolled with `onboard device enroll`: enroll its nodes and "
    "report the serials it sees (SPEC C4, C6).",
    no_args_is_help=True,
)


@gateway_app.command("run")
def gateway_run(
    nodes: Annotated[
        Path,
        typer.Option(
            metavar="NODES_FILE",
            help="The simulated radio neighbourhood, read again each round: one node a line, "
            "CSV 'serial,access_key,rssi[,capabilities JSON]' or a JSON object with those "
            "fields.",
            dir_okay=False,
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="The onboard server. Default: the one the gateway enrolled with."
        ),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="The state file `onboard device enroll` wrote for the gateway. "
            "Default: device.json in the user's onboard folder (~/.config/onboard).",
            dir_okay=False,
        ),
    ] = None,
    interval: Annotated[float, typer.Option(min=0.0, help="Seconds between rounds.")] = 30.0,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rounds. Default: run on.")
    ] = None,
) -> None:
    """Each round: report the nodes in range as nearby, enroll or unenroll the nodes the
    server's jobs name and report each result, then check in; stop once the gateway itself
    is unenrolled (its state file is then deleted). An unreachable or failing server is
    tried again next round."""
    state_file = state_file or default_state_file()
    try:
        gateway.run(
            state_file,
            nodes,
            interval=interval,
            rounds=rounds,
            server=server.rstrip("/") if server else None,
            report=typer.echo,
        )
    except NodesFileError as exc:
        raise fail(str(exc), status=2) from None
    except DeviceApiError as exc:
        code = f" ({exc.code})" if exc.code else ""
        hint = ""
        if exc.status == 404:
            hint = f"\nThe device of {state_file} is not enrolled as a gateway."
        elif exc.status == 401:
            hint = "\nThe gateway's credential is not valid any more: enroll it again."
        raise fail(f"{exc.detail}{code}{hint}") from None
    except StateFileError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.add_typer(gateway_app, name="gateway")
