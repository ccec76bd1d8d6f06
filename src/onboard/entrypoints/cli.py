"""The `onboard` command line: serve, migrate, set up organizations, tokens, settings, and
what people do in bulk: codes, devices and their imports, pairing (SPEC §5)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from onboard.bootstrap import Container, build
from onboard.config import SettingsError, get_settings
from onboard.domain.access import Actor
from onboard.domain.codes import Code, code_url
from onboard.domain.devices import FieldType, Location, Template
from onboard.domain.errors import DomainError, Invalid
from onboard.services import (
    codes,
    customers,
    departments,
    devices,
    organizations,
    pairing,
    templates,
    tokens,
)
from onboard.services.common import OPERATOR, operator_in
from onboard.services.devices import DeviceInput
from onboard.services.ports import CodeFilter, Page, PageRequest, Services, UnitOfWork

T = TypeVar("T")

app = typer.Typer(help="onboard: devices from the factory to the field.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
codes_app = typer.Typer(help="Access codes: the QR stickers (SPEC A1, A2).", no_args_is_help=True)
devices_app = typer.Typer(help="Devices: the digital twins (SPEC A3).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
app.add_typer(config_app, name="config")
app.add_typer(codes_app, name="codes")
app.add_typer(devices_app, name="devices")

OrgOption = Annotated[str, typer.Option("--org", help="Organization id or name.")]

DEMO_ORGANIZATION = "Demo"
DEMO_ADMIN = "admin@example.com"


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


@app.command()
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


@app.command()
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


@app.command()
def demo() -> None:
    """Create the demo organization and Administrator once; say how to sign in."""
    with container() as built:
        credentials = built.settings.var_dir / "demo-admin.txt"
        exists = organizations.organization_exists(built.services, DEMO_ORGANIZATION)
        if not exists:
            result = organizations.init_organization(
                built.services, name=DEMO_ORGANIZATION, admin_email=DEMO_ADMIN
            )
            _write_private(credentials, f"{DEMO_ADMIN}\n{result.password}\n")
        url = built.settings.public_url
    typer.echo(f"Sign in at {url}/login as {DEMO_ADMIN} with the password in {credentials}")
    if not exists:
        typer.echo(f"  (first run: the password is {result.password})")


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


def _operator(built: Container, org: str) -> Actor:
    """The operator acting inside the organization named by --org (id or name)."""
    return operator_in(organizations.find_organization(built.services, org).id)


def _every(fetch: Callable[[PageRequest], Page[T]], *, limit: int | None = None) -> list[T]:
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


class _Names:
    """Ids of one kind of record by id or by name, as people write them in a file."""

    def __init__(self, kind: str, field: str, records: Iterable[tuple[str, str]]) -> None:
        self.kind = kind
        self.field = field
        self.ids: dict[str, str] = {}
        for ident, name in records:
            self.ids[ident] = ident
            self.ids.setdefault(name, ident)
            self.ids.setdefault(name.casefold(), ident)

    def __call__(self, raw: str) -> str:
        found = self.ids.get(raw) or self.ids.get(raw.casefold())
        if found is None:
            raise Invalid(
                f"No {self.kind} {raw!r} here.", fields={self.field: f"unknown {self.kind}"}
            )
        return found


def _template_names(svc: Services, actor: Actor) -> tuple[_Names, dict[str, Template]]:
    found = _every(lambda page: templates.list_templates(svc, actor, page))
    return _Names("template", "template", ((t.id, t.name) for t in found)), {t.id: t for t in found}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """Columns padded to their widest cell; the last one is not padded."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        yield "  ".join([*cells, row[-1]])


@codes_app.command("create")
def codes_create(
    org: OrgOption,
    count: Annotated[int, typer.Option(min=1, help="How many codes.")],
    batch: Annotated[str | None, typer.Option(help="Batch name, to find them again.")] = None,
    label: Annotated[str | None, typer.Option(help="Text printed under each QR.")] = None,
    pin: Annotated[str | None, typer.Option(help="PIN (4-8 digits) for every code.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print a summary only.")] = False,
) -> None:
    """Create unpaired codes in one go; print each token and URL (tab-separated)."""
    with container() as built:
        actor = _operator(built, org)
        created = codes.create_codes(
            built.services, actor, count=count, batch=batch, label=label, pin=pin
        )
        public_url = built.services.public_url
    if quiet:
        where = f" in batch {created[0].batch!r}" if created[0].batch else ""
        typer.echo(f"{len(created)} code(s) created{where}")
        return
    for code in created:
        typer.echo(f"{code.token}\t{code_url(public_url, code.token)}")


def _code_row(code: Code, public_url: str) -> list[str]:
    return [
        code.token,
        code_url(public_url, code.token),
        code.batch or "-",
        code.label or "-",
        "yes" if code.active else "no",
        "yes" if code.pin_protected else "no",
        code.device_id or "-",
    ]


@codes_app.command("list")
def codes_list(
    org: OrgOption,
    batch: Annotated[str | None, typer.Option(help="Only this batch.")] = None,
    paired: Annotated[
        bool | None, typer.Option("--paired/--unpaired", help="Only paired or unpaired codes.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="At most this many.")] = 100,
) -> None:
    """List codes, oldest first: token, URL, batch, label, active, PIN, device id."""
    with container() as built:
        actor = _operator(built, org)
        svc = built.services
        filters = CodeFilter(paired=paired, batch=batch)
        found = _every(lambda page: codes.list_codes(svc, actor, filters, page), limit=limit + 1)
    if not found:
        typer.echo("no codes")
        return
    header = ["TOKEN", "URL", "BATCH", "LABEL", "ACTIVE", "PIN", "DEVICE"]
    for line in _table(header, [_code_row(c, svc.public_url) for c in found[:limit]]):
        typer.echo(line)
    if len(found) > limit:
        typer.echo(f"(more than {limit}; raise --limit to see them)", err=True)


@devices_app.command("create")
def devices_create(
    org: OrgOption,
    name: Annotated[str, typer.Option(help="Name of the device.")],
    serial: Annotated[str | None, typer.Option(help="Serial number.")] = None,
    template: Annotated[str | None, typer.Option(help="Template id or name.")] = None,
) -> None:
    """Create a device (from a template: its defaults apply); print its id."""
    with container() as built:
        actor = _operator(built, org)
        template_id = _template_names(built.services, actor)[0](template) if template else None
        device = devices.create_device(
            built.services, actor, DeviceInput(name=name, serial=serial, template_id=template_id)
        )
    typer.echo(device.id)
    typer.echo(f"device {device.name!r} created", err=True)


IMPORT_COLUMNS = ("name", "serial", "template", "customer", "location", "departments")
ATTRIBUTE_PREFIX = "attr:"
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class _Row:
    number: int
    cells: dict[str, str]
    overlong: bool = False
    """More cells than the header has columns: a shifted row, never guessed at."""


@dataclass
class _Importer:
    """Turns the rows of a devices file into the use case's input, resolving templates,
    customers and departments by id or name; the rules themselves stay in the use case."""

    template_ids: _Names
    template_by_id: dict[str, Template]
    customer_ids: _Names
    department_ids: _Names

    @classmethod
    def load(cls, svc: Services, actor: Actor) -> _Importer:
        names, by_id = _template_names(svc, actor)
        found_customers = _every(lambda page: customers.list_customers(svc, actor, page))
        found_departments = _every(lambda page: departments.list_departments(svc, actor, page))
        return cls(
            names,
            by_id,
            _Names("customer", "customer", ((c.id, c.name) for c in found_customers)),
            _Names("department", "departments", ((d.id, d.name) for d in found_departments)),
        )

    def device_input(self, row: _Row) -> DeviceInput:
        cells = row.cells
        template = (
            self.template_by_id[self.template_ids(cells["template"])]
            if cells.get("template")
            else None
        )
        chosen = [d.strip() for d in cells.get("departments", "").split(";") if d.strip()]
        attributes = {
            column.removeprefix(ATTRIBUTE_PREFIX): _attribute(template, column, value)
            for column, value in cells.items()
            if column.startswith(ATTRIBUTE_PREFIX) and value.strip()
        }
        return DeviceInput(
            name=cells.get("name", ""),
            serial=cells.get("serial") or None,
            template_id=template.id if template else None,
            attributes=attributes,
            departments=[self.department_ids(d) for d in chosen] if chosen else None,
            customer_id=self.customer_ids(cells["customer"]) if cells.get("customer") else None,
            location=Location(cells.get("location") or None),
        )


def _attribute(template: Template | None, column: str, raw: str) -> Any:
    """A cell in its field's type; what does not read as that type is passed on as text
    for the template's rule to refuse with its own message (A4)."""
    field = template.field(column.removeprefix(ATTRIBUTE_PREFIX)) if template else None
    value = raw.strip()
    if field is not None and field.type is FieldType.NUMBER:
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    if field is not None and field.type is FieldType.BOOLEAN:
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    return value


def _read_rows(path: Path) -> list[_Row]:
    """The data rows, numbered as in a spreadsheet (the header is row 1); blank rows are
    skipped. A header with an unknown or repeated column refuses the whole file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            records = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f"cannot read {path}: {exc}", status=2) from None
    if not records:
        raise fail(f"{path} is empty; it needs a header row", status=2)
    header = [_column(cell) for cell in records[0]]
    unknown = [c for c in header if c not in IMPORT_COLUMNS and not _is_attribute(c)]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if "name" not in header or unknown or repeated:
        allowed = ",".join(IMPORT_COLUMNS)
        problem = (
            f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown
            else f"repeated column(s) {', '.join(map(repr, repeated))}" if repeated
            else "no 'name' column"
        )  # fmt: skip
        raise fail(f"{path}: {problem}; columns are {allowed} and attr:<field>", status=2)
    rows: list[_Row] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = dict(zip(header, record, strict=False))
        rows.append(_Row(number, cells, overlong=len(record) > len(header)))
    return rows


def _column(cell: str) -> str:
    name = cell.strip()
    if name.lower().startswith(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + name[len(ATTRIBUTE_PREFIX) :].strip()
    return name.lower()


def _is_attribute(column: str) -> bool:
    return column.startswith(ATTRIBUTE_PREFIX) and len(column) > len(ATTRIBUTE_PREFIX)


def _check_row(
    svc: Services, uow: UnitOfWork, actor: Actor, importer: _Importer, row: _Row
) -> None:
    if row.overlong:
        raise Invalid("The row has more cells than the header has columns.")
    devices.add_device(svc, uow, actor, importer.device_input(row))


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
    rows = _read_rows(file)
    if not rows:
        raise fail(f"{file} has no rows to import", status=2)
    with container() as built:
        svc = built.services
        actor = _operator(built, org)
        importer = _Importer.load(svc, actor)
        good: list[_Row] = []
        # Check every row by the use case's own rules in one transaction that is never
        # committed, so the report is what the import would do and nothing is written.
        with svc.uow() as uow:
            for row in rows:
                try:
                    _check_row(svc, uow, actor, importer, row)
                except DomainError as error:
                    typer.echo(f"row {row.number}: {error.code}: {error.detail}")
                    continue
                good.append(row)
                typer.echo(f"row {row.number}: ok")
        refused = len(rows) - len(good)
        if not good or (refused and not valid_only):
            raise fail(
                f"{refused} of {len(rows)} row(s) refused; nothing imported"
                + ("" if valid_only else " (--valid-only imports the good rows)"),
                status=2,
            )
        # All good rows in one transaction: an interrupted import leaves nothing behind (§7).
        with svc.uow() as uow:
            for row in good:
                devices.add_device(svc, uow, actor, importer.device_input(row))
            uow.commit()
    skipped = f"; {refused} row(s) skipped" if refused else ""
    typer.echo(f"imported {len(good)} device(s){skipped}")


@app.command()
def pair(
    org: OrgOption,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code's token.")],
    device_id: Annotated[str, typer.Argument(metavar="DEVICE_ID", help="The device's id.")],
) -> None:
    """Pair an unpaired, active code with a device (SPEC A6)."""
    with container() as built:
        actor = _operator(built, org)
        paired = pairing.pair_code(built.services, actor, code, device_id)
        device = devices.get_device(built.services, actor, device_id)
    typer.echo(f"code {paired.token} paired with device {device.name!r} ({device.id})")


@app.command()
def unpair(
    org: OrgOption,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code's token.")],
) -> None:
    """Unpair a code: the link goes, the code and the device stay (SPEC A9)."""
    with container() as built:
        released = pairing.unpair_code(built.services, _operator(built, org), code)
    typer.echo(f"code {released.token} unpaired")


def main() -> None:
    app(prog_name="onboard")


if __name__ == "__main__":
    main()
