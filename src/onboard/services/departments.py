"""Departments: named units of an organization that scope what members see (SPEC P3, P5)."""

from __future__ import annotations

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.errors import InUse, NameTaken
from onboard.domain.identity import Department
from onboard.domain.values import require_name
from onboard.services.common import not_found
from onboard.services.ports import Page, PageRequest, Services


def create_department(svc: Services, actor: Actor, *, name: str) -> Department:
    """Only an unrestricted Administrator creates departments: a restricted one could not
    see what they made."""
    scope = actor.require_unrestricted(Permission.MANAGE_DEPARTMENTS)
    name = require_name(name)
    with svc.uow() as uow:
        if uow.departments.get_by_name(scope.organization_id, name) is not None:
            raise NameTaken(
                f"A department named {name!r} exists already.", fields={"name": "already taken"}
            )
        department = Department(svc.ids.new(), scope.organization_id, name, svc.clock.now())
        uow.departments.add(department)
        uow.record(
            actor,
            Change(
                "department.created",
                Target("department", department.id, department.departments),
                after={"name": name},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return department


def list_departments(svc: Services, actor: Actor, page: PageRequest) -> Page[Department]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.departments.list_page(scope, page)


def get_department(svc: Services, actor: Actor, department_id: str) -> Department:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        department = uow.departments.get(scope, department_id)
    if department is None:
        raise not_found("department", department_id)
    return department


def rename_department(svc: Services, actor: Actor, department_id: str, *, name: str) -> Department:
    """Departments are the organization's to name: only an unrestricted Administrator
    renames them, as only one creates and deletes them."""
    scope = actor.require_unrestricted(Permission.MANAGE_DEPARTMENTS)
    name = require_name(name)
    with svc.uow() as uow:
        department = uow.departments.get(scope, department_id)
        if department is None:
            raise not_found("department", department_id)
        clash = uow.departments.get_by_name(scope.organization_id, name)
        if clash is not None and clash.id != department.id:
            raise NameTaken(
                f"A department named {name!r} exists already.", fields={"name": "already taken"}
            )
        uow.departments.rename(department.id, name)
        uow.record(
            actor,
            Change(
                "department.renamed",
                Target("department", department.id, department.departments),
                before={"name": department.name},
                after={"name": name},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return Department(department.id, department.organization_id, name, department.created_at)


def delete_department(svc: Services, actor: Actor, department_id: str) -> None:
    """A department still given to members, customers or other records is not deleted:
    taking it away could widen or empty what those records' members see."""
    scope = actor.require_unrestricted(Permission.MANAGE_DEPARTMENTS)
    with svc.uow() as uow:
        department = uow.departments.get(scope, department_id)
        if department is None:
            raise not_found("department", department_id)
        used = uow.departments.usage(department.id)
        if used:
            raise InUse(f"The department {department.name!r} is still used by {used} record(s).")
        uow.departments.delete(department.id)
        uow.record(
            actor,
            Change(
                "department.deleted",
                Target("department", department.id, department.departments),
                before={"name": department.name},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
