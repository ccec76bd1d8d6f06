"""Department isolation (SPEC P5) as SQL: the one clause every scoped query applies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, and_, exists, select, true

from onboard.adapters.db.tables import DEPARTMENT_LINKS
from onboard.domain.access import Scope


def visible(scope: Scope, table: Table) -> ColumnElement[bool]:
    """Rows of ``table`` the scope may see: its organization and, for a restricted scope,
    rows linked to at least one of its departments. Rows with no department link are
    seen only by unrestricted scopes."""
    in_organization = table.c.organization_id == scope.organization_id
    if scope.departments is None:
        return in_organization
    if table.name == "departments":
        return and_(in_organization, table.c.id.in_(sorted(scope.departments)))
    links, owner_column = DEPARTMENT_LINKS[table.name]
    linked = exists(
        select(true()).where(
            links.c[owner_column] == table.c.id,
            links.c.department_id.in_(sorted(scope.departments)),
        )
    )
    return and_(in_organization, linked)
