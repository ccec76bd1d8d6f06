"""What every command shares: the configured services, failing with a message and exit
status, the acting operator, reading whole lists, and printing tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer

from onboard.bootstrap import Container, build
from onboard.config import SettingsError, get_settings
from onboard.domain.access import Actor
from onboard.domain.errors import DomainError, Invalid
from onboard.services import organizations
from onboard.services.common import operator_in
from onboard.services.ports import Page, PageRequest

T = TypeVar("T")

OrgOption = Annotated[str, typer.Option("--org", help="Organization id or name.")]


def fail(message: str, *, status: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(status)


@contextmanager
def container() -> Iterator[Container]:
    """The configured services; domain and settings errors become a message and exit 1
    (exit 2 for invalid input)."""
    try:
        built = build(get_settings())
    except SettingsError as exc:
        raise fail(str(exc)) from None
    try:
        yield built
    except DomainError as exc:
        details = "".join(f"\n  {field}: {msg}" for field, msg in exc.fields.items())
        raise fail(f"{exc.detail}{details}", status=2 if isinstance(exc, Invalid) else 1) from None
    finally:
        built.close()


def operator(built: Container, org: str) -> Actor:
    """The operator acting inside the organization named by --org (id or name)."""
    return operator_in(organizations.find_organization(built.services, org).id)


def every(fetch: Callable[[PageRequest], Page[T]], *, limit: int | None = None) -> list[T]:
    """All items of a paginated list (or the first ``limit``), a few hundred per query."""
    found: list[T] = []
    after: str | None = None
    while limit is None or len(found) < limit:
        size = 500 if limit is None else min(500, limit - len(found))
        page = fetch(PageRequest(after, size))
        found.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    return found


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """Columns padded to their widest cell; the last one is not padded."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        yield "  ".join([*cells, row[-1]])
