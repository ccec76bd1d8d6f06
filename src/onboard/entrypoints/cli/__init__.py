"""The `onboard` command line: serve, migrate, set up organizations, tokens, settings, and
what people do in bulk: codes, devices and their imports, pairing; and the reference
device client (SPEC §5)."""

from __future__ import annotations

import typer

from onboard.entrypoints.cli import (
    codes,
    device,
    devices,
    enrollments,
    environments,
    gateway,
    groups,
    keys,
    onboarding,
    registrations,
    server,
)

app = typer.Typer(help="onboard: devices from the factory to the field.", no_args_is_help=True)
for _module in (server, codes, devices, device, enrollments, gateway, keys, environments, groups):
    _module.register(app)
registrations.register(app)
onboarding.register(app)


def main() -> None:
    app(prog_name="onboard")
