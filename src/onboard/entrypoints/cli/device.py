"""`onboard device`: the reference device client from the command line (SPEC §5, B5)."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Annotated

import typer

import onboard
from onboard.device import client
from onboard.device.client import DeviceApiError
from onboard.device.hardware import local_hardware_id
from onboard.entrypoints.cli.common import fail

device_app = typer.Typer(
    help="Act as a device running a product's client: pair with a scanned code and check "
    "in (SPEC B5, B8, B9).",
    no_args_is_help=True,
)


def default_state_file() -> Path:
    """The state file in the user's application folder (~/.config/onboard on Linux)."""
    return Path(typer.get_app_dir("onboard")) / "device.json"


@device_app.command("pair")
def device_pair(
    scanned: Annotated[
        str,
        typer.Argument(metavar="SCANNED", help="What the QR holds: the pairing link or code."),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="The onboard server. Default: the scheme, host and port of the pairing link.",
        ),
    ] = None,
    hardware_id: Annotated[
        str | None,
        typer.Option(metavar="ID", help="This device's hardware id. Default: the machine id."),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Where to keep the credential (written 0600). "
            "Default: device.json in the user's onboard folder (~/.config/onboard).",
            dir_okay=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Device model to report.")] = None,
) -> None:
    """Pair this machine with the organization whose code was scanned, and keep its
    credential in the state file. Prints the device id and where the credential is kept,
    never the credential itself."""
    state_file = state_file or default_state_file()
    target = server or client.server_of(scanned)
    if target is None:
        raise fail("A bare code does not say which server issued it: give --server.", status=2)
    try:
        state = client.pair(
            target,
            scanned,
            hardware_id or local_hardware_id(),
            state_file=state_file,
            model=model,
            os_name=f"{platform.system()} {platform.release()}"[:100],
            app_version=f"onboard {onboard.__version__}",
        )
    except DeviceApiError as exc:
        code = f" ({exc.code})" if exc.code else ""
        raise fail(f"{exc.detail}{code}", status=2 if exc.status == 422 else 1) from None
    except OSError as exc:
        raise fail(f"The credential cannot be stored in {state_file}: {exc}") from None
    typer.echo(f"Paired as device {state.device_id} (license {state.license_id}).")
    if state.configuration is not None:
        typer.echo(f"Configuration {state.configuration.get('id')} received.")
    typer.echo(f"Credential stored in {state_file}.")


@device_app.command("run")
def device_run(
    state_file: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="The state file `device pair` wrote.", dir_okay=False),
    ] = None,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between check-ins.")] = 30.0,
    once: Annotated[bool, typer.Option("--once", help="Check in once and stop.")] = False,
) -> None:
    """Check in periodically: apply configuration changes, and stop once the device was
    removed (its credential is then forgotten)."""
    state_file = state_file or default_state_file()
    try:
        client.run(state_file, interval=interval, rounds=1 if once else None, report=typer.echo)
    except DeviceApiError as exc:
        code = f" ({exc.code})" if exc.code else ""
        raise fail(f"{exc.detail}{code}") from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.add_typer(device_app, name="device")
