"""Domain records as API bodies."""

from __future__ import annotations

from onboard.domain.audit import AuditEntry
from onboard.domain.identity import ApiToken, Customer, CustomerUser, Department, Member
from onboard.entrypoints.api import schemas as s


def departments_of(departments: frozenset[str] | None) -> list[str] | None:
    return None if departments is None else sorted(departments)


def department(d: Department) -> s.DepartmentPublic:
    return s.DepartmentPublic(id=d.id, name=d.name, created_at=d.created_at)


def member(m: Member, one_time_password: str | None = None) -> s.MemberPublic:
    return s.MemberPublic(
        id=m.id,
        email=m.email,
        roles=sorted(r.value for r in m.roles),
        departments=departments_of(m.departments),
        created_at=m.created_at,
        one_time_password=one_time_password,
    )


def token(t: ApiToken) -> s.TokenPublic:
    return s.TokenPublic(
        id=t.id, name=t.name, prefix=t.prefix, created_at=t.created_at, last_used_at=t.last_used_at
    )


def customer(c: Customer) -> s.CustomerPublic:
    return s.CustomerPublic(
        id=c.id, name=c.name, departments=sorted(c.departments or ()), created_at=c.created_at
    )


def customer_user(u: CustomerUser, one_time_password: str | None = None) -> s.CustomerUserPublic:
    return s.CustomerUserPublic(
        id=u.id,
        customer_id=u.customer_id,
        email=u.email,
        created_at=u.created_at,
        one_time_password=one_time_password,
    )


def audit_entry(e: AuditEntry) -> s.AuditEntryPublic:
    return s.AuditEntryPublic(
        id=e.id,
        at=e.at,
        actor={"kind": e.actor_kind, "id": e.actor_id, "label": e.actor_label},
        action=e.action,
        target={"type": e.target_type, "id": e.target_id},
        before=e.before,
        after=e.after,
        source_ip=e.source_ip,
    )
