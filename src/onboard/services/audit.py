"""Reading the audit log: filtered, paginated and exportable, never edited (SPEC P8)."""

from __future__ import annotations

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import AuditEntry
from onboard.services.ports import AuditFilter, Page, PageRequest, Services


def list_audit(
    svc: Services, actor: Actor, filters: AuditFilter, page: PageRequest
) -> Page[AuditEntry]:
    scope = actor.require(Permission.READ_AUDIT)
    with svc.uow() as uow:
        return uow.audit.list_page(scope, filters, page)
