"""The keys that seal device secrets at rest (SPEC C1, D1, §7 security): a new key for
ONBOARD_DATA_KEYS, and the rotation that re-seals every stored secret under the current
key while servers keep running."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Annotated

import typer

from onboard.adapters.keyring import Keyring, KeyringError, new_key_entry
from onboard.config import SettingsError, get_settings
from onboard.entrypoints.cli.batches import progress_bar
from onboard.entrypoints.cli.common import container, fail
from onboard.services import keys
from onboard.services.keys import DEFAULT_BATCH, MAX_BATCH, RotationReport

keys_app = typer.Typer(
    help="Keys that encrypt device secrets at rest (ONBOARD_DATA_KEYS).", no_args_is_help=True
)


@keys_app.command("new")
def keys_new(
    key_id: Annotated[
        str, typer.Argument(metavar="ID", help="Its id: 1 to 20 letters, digits, '-' or '_'.")
    ],
) -> None:
    """Print a new key entry, ID:base64 of 32 random bytes, and how to put it to use."""
    try:
        entry = new_key_entry(key_id)
    except KeyringError as exc:
        raise fail(str(exc), status=2) from None
    held, where = _configured()
    if key_id in held:
        raise fail(f"the keyring holds a key {key_id!r} already; choose another id", status=2)
    typer.echo(entry)
    typer.echo(
        f"Put it first in ONBOARD_DATA_KEYS on every server ({key_id}:...,<the keys there now>; "
        f"in development first in {where}), restart them, then run: onboard keys rotate",
        err=True,
    )


@keys_app.command("rotate")
def keys_rotate(
    batch: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Rows re-sealed per transaction.")
    ] = DEFAULT_BATCH,
) -> None:
    """Re-seal every stored secret under the current (first) key of ONBOARD_DATA_KEYS.

    A batch of rows per short transaction, while servers keep running; a value changed
    meanwhile is never overwritten. Before: put the new key first on every server and
    restart them. After: once this reports every value under the new key, the old key can
    be dropped. Exit 0 when done; 1 when some values are sealed under a key the keyring
    does not hold (they are left as they are)."""
    # A keyring setting that cannot be used is refused when the services are built.
    with container() as built, _rotation_bar() as progress:
        report = keys.rotate_secrets(built.services, batch, progress)
        current = Keyring.parse(built.settings.data_keys.get_secret_value()).current_id
    _summary(report, current)
    if report.refused:
        for unopened in report.unopened:
            left = f"{unopened.count:,} of the {unopened.label} left as they are"
            typer.secho(f"error: {left}: {unopened.reason}", fg=typer.colors.RED, err=True)
        raise fail(
            f"{report.refused:,} value(s) cannot be opened: add the key(s) they are sealed "
            "under to ONBOARD_DATA_KEYS, after the current one, and run again"
        )


def _summary(report: RotationReport, current: str) -> None:
    typer.echo(
        f"re-sealed {report.resealed:,} value(s) under key {current}; "
        f"{report.current:,} already under it"
    )
    if report.changed:
        typer.echo(
            f"{report.changed:,} value(s) changed by others meanwhile were left as written; "
            "run it again to re-seal any not under the current key"
        )


@contextmanager
def _rotation_bar() -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr once there is something to re-seal; none otherwise."""
    with ExitStack() as stack:
        advance: Callable[[int], None] | None = None

        def report(done: int, total: int) -> None:
            nonlocal advance
            if advance is None:
                if not total:
                    return
                bar = progress_bar(total, f"Re-sealing {total:,} secret(s)")
                advance = stack.enter_context(bar)
            advance(done)

        yield report


def _configured() -> tuple[set[str], str]:
    """The ids of the keys configured now (none when the settings cannot be read), and
    where the development keyring lives."""
    try:
        settings = get_settings()
    except (SettingsError, ValueError):
        return set(), "var/data_keys"
    setting = settings.data_keys.get_secret_value()
    ids = {entry.strip().partition(":")[0] for entry in setting.split(",")}
    return ids, str(settings.var_dir / "data_keys")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
