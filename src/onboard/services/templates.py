"""Templates: device types with typed attribute fields and default departments (SPEC A4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Template, check_fields
from onboard.domain.dynamic_codes import check_gtin
from onboard.domain.errors import GtinTaken, InUse, Invalid, NameTaken
from onboard.domain.values import require_name
from onboard.services.common import not_found, resolve_departments
from onboard.services.documents import release_files
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


def _snapshot(template: Template) -> dict[str, Any]:
    return {
        "name": template.name,
        "fields": [
            {"name": f.name, "type": f.type.value, "required": f.required, "public": f.public}
            for f in template.fields
        ],
        "departments": sorted(template.departments),
        "gtin": template.gtin,
    }


def _check_gtin_free(
    uow: UnitOfWork, organization_id: str, gtin: str | None, own: str | None
) -> None:
    """A14: a GTIN maps to one template of the organization."""
    clash = uow.templates.get_by_gtin(organization_id, gtin) if gtin is not None else None
    if clash is not None and clash.id != own:
        raise GtinTaken(
            f"The template {clash.name!r} has the GTIN {gtin} already.",
            fields={"gtin": "already taken"},
        )


def _check_name_free(uow: UnitOfWork, organization_id: str, name: str, own: str | None) -> None:
    clash = uow.templates.get_by_name(organization_id, name)
    if clash is not None and clash.id != own:
        raise NameTaken(
            f"A template named {name!r} exists already.", fields={"name": "already taken"}
        )


def create_template(
    svc: Services,
    actor: Actor,
    *,
    name: str,
    fields: list[dict[str, Any]],
    departments: list[str] | None = None,
    gtin: str | None = None,
) -> Template:
    """A device type; with a GTIN, dynamic codes of that GTIN create devices from it (A14)."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    name = require_name(name)
    checked = check_fields(fields)
    gtin = check_gtin(gtin)
    with svc.uow() as uow:
        _check_name_free(uow, scope.organization_id, name, None)
        _check_gtin_free(uow, scope.organization_id, gtin, None)
        defaults = resolve_departments(uow, scope, departments, may_be_empty=True)
        template = Template(
            svc.ids.new(), scope.organization_id, name, checked, defaults or frozenset(),
            svc.clock.now(), gtin,
        )  # fmt: skip
        uow.templates.add(template)
        uow.record(
            actor,
            Change("template.created", Target("template", template.id), after=_snapshot(template)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return template


def list_templates(svc: Services, actor: Actor, page: PageRequest) -> Page[Template]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.templates.list_page(scope, page)


def get_template(svc: Services, actor: Actor, template_id: str) -> Template:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        template = uow.templates.get(scope, template_id)
    if template is None:
        raise not_found("template", template_id)
    return template


def find_template(svc: Services, actor: Actor, reference: str) -> Template:
    """A template by its id or its name, as people type them."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        template = uow.templates.get(scope, reference) or uow.templates.get_by_name(
            scope.organization_id, reference.strip()
        )
    if template is None:
        raise Invalid(f"No template {reference!r} here.", fields={"template": "unknown template"})
    return template


def update_template(
    svc: Services,
    actor: Actor,
    template_id: str,
    *,
    name: str | None = None,
    fields: list[dict[str, Any]] | None = None,
    departments: list[str] | None = None,
    change_departments: bool = False,
    gtin: str | None = None,
    change_gtin: bool = False,
) -> Template:
    """Rename, change fields, default departments or the GTIN (None clears it). Devices keep
    the attributes they have; the new fields apply when a device is next edited."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    with svc.uow() as uow:
        template = uow.templates.get(scope, template_id)
        if template is None:
            raise not_found("template", template_id)
        updated = template
        if name is not None:
            updated = replace(updated, name=require_name(name))
            _check_name_free(uow, scope.organization_id, updated.name, template.id)
        if fields is not None:
            updated = replace(updated, fields=check_fields(fields))
        if change_departments:
            chosen = resolve_departments(uow, scope, departments, may_be_empty=True)
            updated = replace(updated, departments=chosen or frozenset())
        if change_gtin:
            updated = replace(updated, gtin=check_gtin(gtin))
            _check_gtin_free(uow, scope.organization_id, updated.gtin, template.id)
        if updated == template:
            return template
        uow.templates.update(updated)
        uow.record(
            actor,
            Change(
                "template.updated",
                Target("template", template.id),
                before=_snapshot(template),
                after=_snapshot(updated),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return updated


def delete_template(svc: Services, actor: Actor, template_id: str) -> None:
    """A template that devices were made from stays: it types their attributes."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    with svc.uow() as uow:
        template = uow.templates.get(scope, template_id)
        if template is None:
            raise not_found("template", template_id)
        used = uow.templates.usage(template.id)
        if used:
            raise InUse(f"The template {template.name!r} is used by {used} device(s).")
        files = uow.documents.storage_keys(template_id=template.id)
        uow.templates.delete(template.id)
        uow.record(
            actor,
            Change("template.deleted", Target("template", template.id), before=_snapshot(template)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    release_files(svc, files)  # its default documents went with it
