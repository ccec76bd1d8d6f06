"""What every repository shares: keyset pagination, counting, department links."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from onboard.services.ports import Page, PageRequest

T = TypeVar("T")


def paginate(
    conn: Connection,
    query: Select[Any],
    id_column: ColumnElement[str],
    page: PageRequest,
    to_record: Callable[[Sequence[Row[Any]]], list[T]],
    *,
    newest_first: bool = False,
) -> Page[T]:
    """Keyset pagination on the time-ordered id: stable under inserts, fast at any depth."""
    if page.after is not None:
        query = query.where(id_column < page.after if newest_first else id_column > page.after)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = conn.execute(query.order_by(order).limit(page.limit + 1)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    items = to_record(rows)
    return Page(items, rows[-1].id if more and rows else None)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows of plain values (text, numbers, booleans, times) in this transaction:
    PostgreSQL's COPY, which takes a million rows in seconds where INSERT statements take a
    minute; an executemany elsewhere. Every row has the keys of the first."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    raw: Any = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        # As SQLAlchemy reports a clash for its own statements: the unit of work turns it
        # into the domain's Conflict.
        raise IntegrityError(statement, None, exc) from exc


def count(conn: Connection, table: Table, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


class Linked:
    """Department links of a scoped table: read in one query per page, replaced on change."""

    def __init__(self, conn: Connection, links: Table, owner: str) -> None:
        self.conn = conn
        self.links = links
        self.owner = links.c[owner]

    def of(self, ids: Iterable[str]) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        id_list = list(ids)
        if id_list:
            query = select(self.owner, self.links.c.department_id).where(self.owner.in_(id_list))
            for owner_id, department_id in self.conn.execute(query):
                found[owner_id].add(department_id)
        return {owner_id: frozenset(found.get(owner_id, ())) for owner_id in id_list}

    def replace(self, owner_id: str, departments: frozenset[str] | None) -> None:
        self.conn.execute(delete(self.links).where(self.owner == owner_id))
        self.add(owner_id, departments)

    def add(self, owner_id: str, departments: frozenset[str] | None) -> None:
        """The links of a new owner (which has none yet: nothing to delete first)."""
        if departments:
            self.conn.execute(
                insert(self.links),
                [{self.owner.name: owner_id, "department_id": d} for d in sorted(departments)],
            )
