"""Importing devices from a spreadsheet: every row checked by the rules of `add_device`,
reported row by row, imported all together or not at all (SPEC A3, A4, A5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.device_import import ImportRow
from onboard.domain.devices import Location, Template
from onboard.domain.errors import DomainError, Invalid
from onboard.services.devices import DeviceInput, add_device
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class RowResult:
    number: int
    error: DomainError | None = None


@dataclass(frozen=True)
class ImportReport:
    rows: Sequence[RowResult]
    imported: int

    @property
    def refused(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)


class ImportRefused(Invalid):
    """Some rows were refused and the import was all-or-nothing: nothing was imported."""

    code = "import_refused"

    def __init__(self, report: ImportReport) -> None:
        total = len(report.rows)
        super().__init__(
            f"{report.refused} of {total} row(s) refused; nothing imported.",
            fields={
                f"rows.{row.number}": f"{row.error.code}: {row.error.detail}"
                for row in report.rows
                if row.error is not None
            },
        )
        self.report = report


def _every(fetch: Callable[[PageRequest], Page[T]]) -> list[T]:
    found: list[T] = []
    after: str | None = None
    while True:
        page = fetch(PageRequest(after, 500))
        found.extend(page.items)
        if page.next_after is None:
            return found
        after = page.next_after


class _Names:
    """Ids of one kind of record by id or by name (any case), as people write them."""

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


class _Reader:
    """Turns rows into the use case's input, resolving templates, customers and departments
    the actor sees by id or name; the rules themselves stay in `add_device`."""

    def __init__(self, uow: UnitOfWork, scope: Scope) -> None:
        found = _every(lambda page: uow.templates.list_page(scope, page))
        self.templates: dict[str, Template] = {t.id: t for t in found}
        self.template_ids = _Names("template", "template", ((t.id, t.name) for t in found))
        self.customer_ids = _Names(
            "customer",
            "customer",
            ((c.id, c.name) for c in _every(lambda page: uow.customers.list_page(scope, page))),
        )
        self.department_ids = _Names(
            "department",
            "departments",
            ((d.id, d.name) for d in _every(lambda page: uow.departments.list_page(scope, page))),
        )

    def device_input(self, row: ImportRow) -> DeviceInput:
        if row.overlong:
            raise Invalid("The row has more cells than the header has columns.")
        template_name = row.text("template")
        template = self.templates[self.template_ids(template_name)] if template_name else None
        chosen = row.departments()
        customer = row.text("customer")
        return DeviceInput(
            name=row.cells.get("name", ""),
            serial=row.text("serial") or None,
            template_id=template.id if template else None,
            attributes=row.attributes(template),
            departments=[self.department_ids(d) for d in chosen] if chosen else None,
            customer_id=self.customer_ids(customer) if customer else None,
            location=Location(row.text("location") or None),
        )


def import_devices(
    svc: Services, actor: Actor, rows: Sequence[ImportRow], *, valid_only: bool = False
) -> ImportReport:
    """Check every row first, in a transaction that is never committed, so the report is
    what the import does; then create the good rows in one transaction, or raise
    ImportRefused (nothing written) when a row is bad and ``valid_only`` is not set."""
    scope = actor.require(Permission.EDIT_DEVICES)
    results: list[RowResult] = []
    with svc.uow() as uow:
        reader = _Reader(uow, scope)
        for row in rows:
            try:
                add_device(svc, uow, actor, reader.device_input(row))
            except DomainError as error:
                results.append(RowResult(row.number, error))
            else:
                results.append(RowResult(row.number))
    good = [row for row, result in zip(rows, results, strict=True) if result.error is None]
    report = ImportReport(results, imported=0)
    if not good or (report.refused and not valid_only):
        raise ImportRefused(report)
    # All good rows in one transaction: an interrupted import leaves nothing behind.
    with svc.uow() as uow:
        reader = _Reader(uow, scope)
        for row in good:
            add_device(svc, uow, actor, reader.device_input(row))
        uow.commit()
    return ImportReport(results, imported=len(good))
