"""/api/v1/templates: device types with typed attribute fields (SPEC A4)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.files import (
    DOCUMENT_BODY,
    DOCUMENT_FILE,
    UPLOAD_RESPONSES,
    DocumentUpload,
    file_response,
)
from onboard.services import documents, templates

router = APIRouter(prefix="/templates", tags=["templates"])


@router.post("", status_code=201, response_model=s.TemplatePublic)
def create(body: s.TemplateCreate, svc: Svc, actor: CurrentActor) -> s.TemplatePublic:
    created = templates.create_template(
        svc,
        actor,
        name=body.name,
        fields=[f.model_dump() for f in body.fields],
        departments=body.departments,
        gtin=body.gtin,
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
    """Only the fields sent change; devices keep their attributes until next edited.
    ``gtin: null`` removes the GTIN; a GTIN another template has is 409 ``gtin_taken``."""
    updated = templates.update_template(
        svc,
        actor,
        template_id,
        name=body.name,
        fields=[f.model_dump() for f in body.fields] if body.fields is not None else None,
        departments=body.departments,
        change_departments="departments" in body.model_fields_set,
        gtin=body.gtin,
        change_gtin="gtin" in body.model_fields_set,
    )
    return present.template(updated)


@router.delete("/{template_id}", status_code=204)
def delete(template_id: PathId, svc: Svc, actor: CurrentActor) -> Response:
    """A template that devices were made from stays (409 ``in_use``)."""
    templates.delete_template(svc, actor, template_id)
    return Response(status_code=204)


# --- default documents (A4) --------------------------------------------------------------


@router.post(
    "/{template_id}/documents",
    status_code=201,
    response_model=s.DocumentPublic,
    openapi_extra=DOCUMENT_BODY,
    responses=UPLOAD_RESPONSES,
)
def add_document(
    template_id: PathId, svc: Svc, actor: CurrentActor, given: DocumentUpload
) -> s.DocumentPublic:
    """A default document, as for a device: devices created from the template from now on
    get it (a file is shared, not copied)."""
    return present.document(documents.add_template_document(svc, actor, template_id, given))


@router.get("/{template_id}/documents", response_model=s.PageOf[s.DocumentPublic])
def list_documents(
    template_id: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.DocumentPublic]:
    page = documents.list_template_documents(svc, actor, template_id, paging)
    return s.PageOf(items=[present.document(d) for d in page.items], next_cursor=next_cursor(page))


@router.get(
    "/{template_id}/documents/{document_id}/content",
    response_class=Response,
    responses=DOCUMENT_FILE,
)
def document_content(
    template_id: PathId, document_id: PathId, svc: Svc, actor: CurrentActor
) -> Response:
    document, stored = documents.template_document_file(svc, actor, template_id, document_id)
    return file_response(stored, filename=document.file_name)


@router.delete("/{template_id}/documents/{document_id}", status_code=204)
def delete_document(
    template_id: PathId, document_id: PathId, svc: Svc, actor: CurrentActor
) -> Response:
    """Devices made from the template keep their copies."""
    documents.delete_template_document(svc, actor, template_id, document_id)
    return Response(status_code=204)
