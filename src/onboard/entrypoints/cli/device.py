"""`onboard device`: the reference device client from the command line (SPEC §5): pair
with a scanned code (B5), enroll with an access key (C3), activate with a burned device
key (D4), and check in (B8, B9, C6)."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

import onboard
from onboard.device import client, enrollment, provisioning
from onboard.device.client import DeviceApiError
from onboard.device.enrollment import NotCompleted
from onboard.device.hardware import local_capabilities, local_hardware_id
from onboard.device.store import StateFileError
from onboard.entrypoints.cli.common import fail

device_app = typer.Typer(
    help="Act as a device: pair with a scanned code as a product's client does, enroll "
    "with the access key printed on it, or activate with the device key burned into it; "
    "then check in (SPEC B5, B8, B9, C3, C6, D4).",
    no_args_is_help=True,
)

# Where `pair` and `enroll` keep the credential.
NewStateFile = Annotated[
    Path | None,
    typer.Option(
        metavar="PATH",
        help="Where to keep the credential (written 0600). "
        "Default: device.json in the user's onboard folder (~/.config/onboard).",
        dir_okay=False,
    ),
]

# What the person can do about a refused enrollment (§6 problem codes).
ENROLL_HINTS = {
    "invalid_signature": "The access key does not match this serial: check the key on the "
    "device's label.",
    "signature_expired": "This machine's clock is too far from the server's: set it right "
    "(NTP) and try again.",
    "not_enrolled": "No enrollment waits for this serial: ask an Administrator (or a Device "
    "Manager who is also an IoT Manager) to create one first.",
    "not_registered": "The serial is not registered in this provisioning group (or the group "
    "id is wrong): ask the group's IoT Manager to register it.",
    "registration_disabled": "This serial's registration is disabled: ask the group's IoT "
    "Manager why.",
}


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
    state_file: NewStateFile = None,
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


def parse_capabilities(given: list[str]) -> dict[str, Any]:
    """``key=value`` pairs as an object; a value that reads as JSON (``2``, ``true``,
    ``[1,2]``, ``{"a": 1}``) is kept as such, any other is text."""
    found: dict[str, Any] = {}
    for pair in given:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise fail(f"--capability {pair!r} is not key=value.", status=2)
        if key in found:
            raise fail(f"--capability {key} is given twice.", status=2)
        try:
            found[key] = json.loads(value)
        except ValueError:
            found[key] = value
    return found


def explain(exc: DeviceApiError) -> str:
    """The server's detail and problem code, and what to do about it when that is known."""
    code = f" ({exc.code})" if exc.code else ""
    hint = ENROLL_HINTS.get(exc.code or "")
    return f"{exc.detail}{code}" + (f"\n{hint}" if hint else "")


@device_app.command("enroll")
def device_enroll(
    server: Annotated[str, typer.Option(metavar="URL", help="The onboard server.")],
    serial: Annotated[str, typer.Option(metavar="S", help="This device's serial number.")],
    access_key: Annotated[
        str,
        typer.Option(
            metavar="K",
            help="The access key on the device's label; '-' reads it from standard input "
            "(it then stays out of the shell's history).",
        ),
    ],
    state_file: NewStateFile = None,
    capability: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="A capability to report, repeatable; values that read as JSON stay numbers, "
            "booleans, lists or objects. Default: this machine's hardware id, OS and "
            "architecture.",
        ),
    ] = None,
) -> None:
    """Enroll this machine as the device with this serial (SPEC C3, §6): prove it holds the
    access key, keep the credential in the state file, and report its capabilities. A
    gateway enrolls the same way before `onboard gateway run`. Prints the device and
    enrollment ids, never the credential."""
    state_file = state_file or default_state_file()
    if access_key == "-":
        access_key = sys.stdin.readline()
    if not serial.strip() or not access_key.strip():
        raise fail("Give the serial and the access key; neither may be empty.", status=2)
    capabilities = parse_capabilities(capability or []) or {
        **local_capabilities(),
        "client": f"onboard {onboard.__version__}",
    }
    try:
        state = enrollment.enroll(
            server, serial, access_key, state_file=state_file, capabilities=capabilities
        )
    except NotCompleted as exc:
        raise fail(
            f"Enrolled as device {exc.state.device_id} (credential stored in {state_file}), "
            f"but the server did not take the capabilities: {explain(exc)}\n"
            "Run the same command again to finish."
        ) from None
    except DeviceApiError as exc:
        raise fail(explain(exc), status=2 if exc.status == 422 else 1) from None
    except OSError as exc:
        raise fail(f"The credential cannot be stored in {state_file}: {exc}") from None
    typer.echo(f"Enrolled as device {state.device_id} (enrollment {state.enrollment_id}).")
    typer.echo(f"Capabilities reported: {', '.join(sorted(capabilities)) or 'none'}.")
    typer.echo(f"Credential stored in {state_file}.")


@device_app.command("activate")
def device_activate(
    server: Annotated[str, typer.Option(metavar="URL", help="The onboard server.")],
    group: Annotated[
        str, typer.Option(metavar="G", help="The provisioning group id burned into the device.")
    ],
    serial: Annotated[str, typer.Option(metavar="S", help="This device's serial number.")],
    device_key: Annotated[
        str,
        typer.Option(
            metavar="K",
            help="The device key burned into the device (`onboard groups derive-keys` makes "
            "them); '-' reads it from standard input.",
        ),
    ],
    state_file: NewStateFile = None,
) -> None:
    """Activate this machine as the device with this group id, serial and device key (SPEC
    D4, §6): prove it holds the key and keep the credential, environment, configuration
    and attributes in the state file. Activating again keeps the twin and replaces the
    credential. Prints the device id and environment, never the credential."""
    state_file = state_file or default_state_file()
    if device_key == "-":
        device_key = sys.stdin.readline()
    if not group.strip() or not serial.strip() or not device_key.strip():
        raise fail("Give the group id, the serial and the device key; none may be empty.", status=2)
    try:
        state = provisioning.activate(server, group, serial, device_key, state_file=state_file)
    except DeviceApiError as exc:
        raise fail(explain(exc), status=2 if exc.status == 422 else 1) from None
    except OSError as exc:
        raise fail(f"The credential cannot be stored in {state_file}: {exc}") from None
    environment = state.environment or {}
    typer.echo(f"Activated as device {state.device_id}.")
    typer.echo(
        f"Environment: {environment['name']} ({environment.get('api_url')}, "
        f"{environment.get('mqtt_url')})."
        if environment.get("name")
        else "Environment: none is up in this device's group."
    )
    typer.echo(f"Credential stored in {state_file}.")


@device_app.command("run")
def device_run(
    state_file: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="The state file `device pair`, `device enroll` or `device activate` wrote.",
            dir_okay=False,
        ),
    ] = None,
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between check-ins.")] = 30.0,
    once: Annotated[bool, typer.Option("--once", help="Check in once and stop.")] = False,
) -> None:
    """Check in periodically: apply configuration changes; stop once the device was
    removed (its credential is then forgotten) or, for an enrolled device, unenrolled (it
    factory-resets: the state file is deleted)."""
    state_file = state_file or default_state_file()
    try:
        client.run(state_file, interval=interval, rounds=1 if once else None, report=typer.echo)
    except DeviceApiError as exc:
        code = f" ({exc.code})" if exc.code else ""
        raise fail(f"{exc.detail}{code}") from None
    except StateFileError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.add_typer(device_app, name="device")
