"""Department isolation (SPEC P5) as SQL: the one clause every scoped query applies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, exists, select, true

from onboard.adapters.db import tables as t
from onboard.domain.access import Scope


def visible(scope: Scope, table: Table) -> ColumnElement[bool]:
    """Rows of ``table`` the scope may see: its organization and, for a restricted scope,
    rows linked to at least one of its departments. Rows with no department link are
    seen only by unrestricted scopes."""
    in_organization = table.c.organization_id == scope.organization_id
    if scope.departments is None:
        return in_organization
    wanted = sorted(scope.departments)
    if table.name in t.ORGANIZATION_WIDE:
        return in_organization
    if table.name == "departments":
        return and_(in_organization, table.c.id.in_(wanted))
    links, owner_column = t.DEPARTMENT_LINKS[table.name]
    return and_(in_organization, _linked(links, links.c[owner_column] == table.c.id, wanted))


def _linked(links: Table, owner: ColumnElement[bool], wanted: list[str]) -> ColumnElement[bool]:
    return exists(select(true()).where(owner, links.c.department_id.in_(wanted)))
