"""Dynamic-code rules: how an organization recognizes payloads that are not our code URLs
(SPEC A14). Organization-wide, like templates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, insert, select

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import paginate
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.dynamic_codes import DynamicRule, RuleKind
from onboard.services.ports import Page, PageRequest


def _records(rows: Sequence[Row[Any]]) -> list[DynamicRule]:
    return [
        DynamicRule(
            id=r.id,
            organization_id=r.organization_id,
            name=r.name,
            kind=RuleKind(r.kind),
            pattern=r.pattern,
            template_id=r.template_id,
            created_at=r.created_at,
        )
        for r in rows
    ]


class SqlDynamicRules:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, *where: ColumnElement[bool]) -> DynamicRule | None:
        rows = self.conn.execute(select(t.dynamic_code_rules).where(*where)).all()
        return next(iter(_records(rows)), None)

    def add(self, rule: DynamicRule) -> None:
        self.conn.execute(
            insert(t.dynamic_code_rules).values(
                id=rule.id,
                organization_id=rule.organization_id,
                name=rule.name,
                kind=rule.kind.value,
                pattern=rule.pattern,
                template_id=rule.template_id,
                created_at=rule.created_at,
            )
        )

    def get(self, scope: Scope, rule_id: str) -> DynamicRule | None:
        rules = t.dynamic_code_rules
        return self._one(visible(scope, rules), rules.c.id == rule_id)

    def get_by_name(self, organization_id: str, name: str) -> DynamicRule | None:
        c = t.dynamic_code_rules.c
        return self._one(c.organization_id == organization_id, c.name == name)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[DynamicRule]:
        rules = t.dynamic_code_rules
        query = select(rules).where(visible(scope, rules))
        return paginate(self.conn, query, rules.c.id, page, _records)

    def in_order(self, organization_id: str) -> list[DynamicRule]:
        c = t.dynamic_code_rules.c
        rows = self.conn.execute(
            select(t.dynamic_code_rules)
            .where(c.organization_id == organization_id)
            .order_by(c.created_at, c.id)
        ).all()
        return _records(rows)

    def delete(self, rule_id: str) -> None:
        self.conn.execute(delete(t.dynamic_code_rules).where(t.dynamic_code_rules.c.id == rule_id))
