"""Running and setting up a server: serve, migrations, organizations, the demo, tokens,
settings (SPEC §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onboard.config import SettingsError, get_settings
from onboard.entrypoints.cli.common import container, fail
from onboard.services import organizations, tokens
from onboard.services.common import OPERATOR, member_actor
from onboard.services.demo import DEMO_BATCH, DEMO_LICENSES, DEMO_PRODUCT, fill_demo

DEMO_ORGANIZATION = "Demo"
DEMO_ADMIN = "admin@example.com"

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)


def serve(
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server processes.")] = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Listen port.")] = None,
) -> None:
    """Serve the API, back office and mobile app."""
    import uvicorn

    try:
        settings = get_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None
    uvicorn.run(
        "onboard.entrypoints.asgi:app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the schema migrations (to the newest by default)."""
    from onboard.adapters.db.migrate import current_revision, upgrade

    with container() as built:
        upgrade(built.engine, revision)
        typer.echo(f"database at revision {current_revision(built.engine)}")


def init(
    org: Annotated[str, typer.Option(help="Name of the new organization.")],
    admin: Annotated[str, typer.Option(help="Email of its first Administrator.")],
) -> None:
    """Create an organization and its first Administrator; print a one-time password."""
    with container() as built:
        result = organizations.init_organization(built.services, name=org, admin_email=admin)
    typer.echo(f"organization {result.organization.name!r} created ({result.organization.id})")
    if result.password:
        typer.echo(f"administrator {result.member.email}, one-time password: {result.password}")
    else:
        typer.echo(f"{result.member.email} already had an account: sign in with its password")


def demo() -> None:
    """Create the demo organization, its Administrator and its starting content once (a
    template, devices and a batch of stickers); say how to sign in."""
    with container() as built:
        credentials = built.settings.var_dir / "demo-admin.txt"
        exists = organizations.organization_exists(built.services, DEMO_ORGANIZATION)
        if not exists:
            result = organizations.init_organization(
                built.services, name=DEMO_ORGANIZATION, admin_email=DEMO_ADMIN
            )
            _write_private(credentials, f"{DEMO_ADMIN}\n{result.password}\n")
            content = fill_demo(built.services, member_actor(result.member))
        url = built.settings.public_url
    typer.echo(f"Sign in at {url}/login as {DEMO_ADMIN} with the password in {credentials}")
    if not exists:
        typer.echo(f"  (first run: the password is {result.password})")
        typer.echo(
            f"  Demo content: a template, {len(content.device_ids)} devices and "
            f"{len(content.tokens)} stickers in batch {DEMO_BATCH}, the first paired; "
            f"the mobile app is at {url}/m"
        )
        typer.echo(
            f"  Licenses: {DEMO_LICENSES} free licenses of {DEMO_PRODUCT!r} at {url}/products; "
            "pair a client device with: onboard device pair <the pairing link>"
        )


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


@tokens_app.command("create")
def tokens_create(
    email: Annotated[str, typer.Option(help="Email of the member.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    org: Annotated[str | None, typer.Option(help="Organization id or name, if several.")] = None,
) -> None:
    """Print a new personal API token for a member (shown once)."""
    with container() as built:
        issued = tokens.create_token_for(
            built.services, OPERATOR, email=email, organization=org, name=name
        )
    typer.echo(issued.secret)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings, secrets masked."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None
    for name, value in settings.masked().items():
        typer.echo(f"ONBOARD_{name.upper()}={value}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(db_app, name="db")
    app.command()(init)
    app.command()(demo)
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(config_app, name="config")
