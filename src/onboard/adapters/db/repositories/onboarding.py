"""QR onboarding (SPEC D5): a provisioning group's numbered batches of onboarding labels,
the registrations each labels and how far they have come, and a registration given the
twin a member onboarded it into."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from onboard.adapters.db import tables as t
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.services.ports import OnboardingBatch, OnboardingTally

_batch = t.onboarding_batches.c
_reg = t.registrations.c


def _batch_of(row: Row[Any]) -> OnboardingBatch:
    return OnboardingBatch(
        row.id, row.organization_id, row.group_ref, row.number, row.size, row.created_at
    )


class SqlOnboardingBatches:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def hold_group(self, group_ref: str) -> None:
        # SQLite's BEGIN IMMEDIATE holds the whole database already.
        if self.conn.dialect.name == "postgresql":
            g = t.provisioning_groups.c
            self.conn.execute(select(g.id).where(g.id == group_ref).with_for_update())

    def next_number(self, group_ref: str) -> int:
        found = self.conn.execute(
            select(func.max(_batch.number)).where(_batch.group_ref == group_ref)
        ).scalar_one()
        return int(found or 0) + 1

    def add(self, batch: OnboardingBatch) -> None:
        self.conn.execute(
            insert(t.onboarding_batches).values(
                id=batch.id,
                organization_id=batch.organization_id,
                group_ref=batch.group_ref,
                number=batch.number,
                size=batch.size,
                created_at=batch.created_at,
            )
        )

    def fill(self, batch_id: str, group_ref: str, count: int) -> int:
        """One statement, so a batch of a hundred thousand costs one round trip."""
        chosen = (
            select(_reg.id)
            .where(
                _reg.group_ref == group_ref,
                _reg.batch_id.is_(None),
                _reg.disabled.is_(False),
            )
            .order_by(_reg.serial)
            .limit(count)
        )
        done = self.conn.execute(
            update(t.registrations)
            .where(_reg.id.in_(chosen.scalar_subquery()))
            .values(batch_id=batch_id)
        )
        return int(done.rowcount)

    def set_size(self, batch_id: str, size: int) -> None:
        self.conn.execute(
            update(t.onboarding_batches).where(_batch.id == batch_id).values(size=size)
        )

    def get(self, scope: Scope, group_ref: str, number: int) -> OnboardingBatch | None:
        row = self.conn.execute(
            select(t.onboarding_batches).where(
                visible(scope, t.onboarding_batches),
                _batch.group_ref == group_ref,
                _batch.number == number,
            )
        ).first()
        return None if row is None else _batch_of(row)

    def of_group(self, scope: Scope, group_ref: str) -> list[OnboardingBatch]:
        rows = self.conn.execute(
            select(t.onboarding_batches)
            .where(visible(scope, t.onboarding_batches), _batch.group_ref == group_ref)
            .order_by(_batch.number.desc())
        )
        return [_batch_of(r) for r in rows]

    def tally(self, group_ref: str) -> dict[str, OnboardingTally]:
        rows = self.conn.execute(
            select(
                _reg.batch_id,
                func.count(_reg.device_id),
                func.count(_reg.activated_at),
            )
            .where(_reg.group_ref == group_ref, _reg.batch_id.is_not(None))
            .group_by(_reg.batch_id)
        )
        return {r[0]: OnboardingTally(int(r[1]), int(r[2])) for r in rows}

    def serials_page(
        self, group_ref: str, batch_id: str, after: str | None, limit: int
    ) -> list[str]:
        """Along the group's serial index, which also serves the paging."""
        query = select(_reg.serial).where(_reg.group_ref == group_ref, _reg.batch_id == batch_id)
        if after is not None:
            query = query.where(_reg.serial > after)
        return list(self.conn.execute(query.order_by(_reg.serial).limit(limit)).scalars())

    def claim(self, registration_id: str, device_id: str, at: datetime) -> bool:
        done = self.conn.execute(
            update(t.registrations)
            .where(_reg.id == registration_id, _reg.device_id.is_(None))
            .values(device_id=device_id, updated_at=at)
        )
        return int(done.rowcount) == 1
