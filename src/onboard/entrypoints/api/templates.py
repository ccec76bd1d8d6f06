"""/api/v1/templates: device types with typed attribute fields (SPEC A4)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.services import templates

router = APIRouter(prefix="/templates", tags=["templates"])


@router.post("", status_code=201, response_model=s.TemplatePublic)
def create(body: s.TemplateCreate, svc: Svc, actor: CurrentActor) -> s.TemplatePublic:
    created = templates.create_template(
        svc,
        actor,
        name=body.name,
        fields=[f.model_dump() for f in body.fields],
        departments=body.departments,
    )
    return present.template(created)


@router.get("", response_model=s.PageOf[s.TemplatePublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[s.TemplatePublic]:
    page = templates.list_templates(svc, actor, paging)
    return s.PageOf(items=[present.template(t) for t in page.items], next_cursor=next_cursor(page))


@router.get("/{template_id}", response_model=s.TemplatePublic)
def get(template_id: PathId, svc: Svc, actor: CurrentActor) -> s.TemplatePublic:
    return present.template(templates.get_template(svc, actor, template_id))


@router.patch("/{template_id}", response_model=s.TemplatePublic)
def update(
    template_id: PathId, body: s.TemplateUpdate, svc: Svc, actor: CurrentActor
) -> s.TemplatePublic:
    """Only the fields sent change; devices keep their attributes until next edited."""
    updated = templates.update_template(
        svc,
        actor,
        template_id,
        name=body.name,
        fields=[f.model_dump() for f in body.fields] if body.fields is not None else None,
        departments=body.departments,
        change_departments="departments" in body.model_fields_set,
    )
    return present.template(updated)


@router.delete("/{template_id}", status_code=204)
def delete(template_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    """A template that devices were made from stays (409 ``in_use``)."""
    templates.delete_template(svc, actor, template_id)
    return Response(status_code=204)
