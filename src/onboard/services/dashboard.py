"""The counts on the back-office dashboard, as the actor may see them."""

from __future__ import annotations

from onboard.domain.access import Actor, Permission
from onboard.services.ports import Services


def dashboard_counts(svc: Services, actor: Actor) -> dict[str, int]:
    """Counts by area (``codes``, ``devices``, ``members``, ``departments``, ``customers``,
    ``audit_entries``)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        counts = {
            "codes": uow.codes.count(scope),
            "devices": uow.devices.count(scope),
            "members": uow.members.count(scope),
            "departments": uow.departments.count(scope),
            "customers": uow.customers.count(scope),
        }
        if actor.can(Permission.READ_AUDIT):
            counts["audit_entries"] = uow.audit.count(scope)
    return counts
