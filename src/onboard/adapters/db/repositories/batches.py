"""Code batches: numbered runs of codes, seen organization-wide (issue 5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, insert, select

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import count, paginate
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.batches import Batch
from onboard.services.ports import Page, PageRequest


class SqlBatches:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Batch]:
        return [
            Batch(r.id, r.organization_id, r.number, r.name, r.pin_hash, r.created_at) for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> Batch | None:
        rows = self.conn.execute(select(t.code_batches).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(self, batch: Batch) -> None:
        self.conn.execute(
            insert(t.code_batches).values(
                id=batch.id,
                organization_id=batch.organization_id,
                number=batch.number,
                name=batch.name,
                pin_hash=batch.pin_hash,
                created_at=batch.created_at,
            )
        )

    def get(self, scope: Scope, batch_id: str) -> Batch | None:
        return self._one(visible(scope, t.code_batches), t.code_batches.c.id == batch_id)

    def get_by_number(self, organization_id: str, number: str) -> Batch | None:
        b = t.code_batches.c
        return self._one(b.organization_id == organization_id, b.number == number)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Batch]:
        query = select(t.code_batches).where(visible(scope, t.code_batches))
        return paginate(
            self.conn, query, t.code_batches.c.id, page, self._records, newest_first=True
        )

    def count(self, organization_id: str) -> int:
        return count(self.conn, t.code_batches, t.code_batches.c.organization_id == organization_id)
