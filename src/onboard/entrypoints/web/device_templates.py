"""Back-office pages of templates (device types): list, create, edit name, GTIN, default
departments and attribute fields, default documents, delete after confirmation (SPEC A4).

The fields editor works without JavaScript: the form carries the existing fields and empty
rows for new ones; "Add another field" shows the form again with one more row, a row with
an empty name (or ticked "Remove") is left out when saving."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import zip_longest
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.devices import MAX_FIELDS, FieldType, Template
from onboard.domain.documents import Document
from onboard.domain.errors import (
    Conflict,
    DepartmentForbidden,
    DomainError,
    FileTooLarge,
    Invalid,
    UnsupportedFileType,
)
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.uploads import read_page_upload
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.device_views import document_kind
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor, Text
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import documents, templates
from onboard.services.documents import DocumentInput
from onboard.services.ports import PageRequest, Services

router = web_router()

# Errors a template form shows next to its fields rather than on a page of their own.
_FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)
_DOCUMENT_ERRORS = (Invalid, FileTooLarge, UnsupportedFileType)

NEW_ROWS = 3  # empty field rows of a new template
DOCUMENTS_SHOWN = 100
_DOCUMENT_FIELDS = frozenset({http.CSRF_FIELD, "title", "url", "public"})

FIELD_TYPES: tuple[tuple[str, str], ...] = (
    (FieldType.STRING.value, "Text"),
    (FieldType.NUMBER.value, "Number"),
    (FieldType.BOOLEAN.value, "Yes / no"),
    (FieldType.DATE.value, "Date"),
)
TYPE_LABELS = dict(FIELD_TYPES)

Gtin = Annotated[str, Form(max_length=100)]
Intent = Annotated[str, Form(max_length=20)]
# One entry per row of the fields editor; the checkboxes send the numbers of ticked rows.
RowValues = Annotated[list[str] | None, Form(max_length=MAX_FIELDS + 50)]


@dataclass(frozen=True)
class FieldRow:
    """One row of the fields editor, as shown and as sent."""

    name: str = ""
    type: str = FieldType.STRING.value
    required: bool = False
    public: bool = False
    remove: bool = False


@dataclass(frozen=True)
class TemplateForm:
    """What the template form sent: name, GTIN, default departments and field rows."""

    name: str
    gtin: str
    departments: list[str]
    rows: list[FieldRow]
    # False when the form did not offer the departments (see _departments_editable).
    change_departments: bool = True

    @classmethod
    def of(cls, template: Template) -> TemplateForm:
        rows = [FieldRow(f.name, f.type.value, f.required, f.public) for f in template.fields]
        return cls(template.name, template.gtin or "", sorted(template.departments), rows)

    def fields(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The fields for the use case, and how its field numbers map back to the rows
        (rows left out shift the numbers)."""
        kept: list[dict[str, Any]] = []
        renamed: dict[str, str] = {}
        for row_number, row in enumerate(self.rows):
            name = row.name.strip()
            if not name or row.remove:
                continue
            index = len(kept)
            renamed[f"fields.{index}.name"] = f"fields.{row_number}.name"
            renamed[f"fields.{index}.type"] = f"fields.{row_number}.type"
            kept.append(
                {"name": name, "type": row.type, "required": row.required, "public": row.public}
            )
        return kept, renamed

    def with_rows(self, extra: int) -> TemplateForm:
        room = max(0, MAX_FIELDS - len(self.rows))
        rows = [*self.rows, *(FieldRow() for _ in range(min(extra, room)))]
        return replace(self, rows=rows)


def _template_form(
    name: Text = "",
    gtin: Gtin = "",
    departments: Choices = None,
    departments_shown: Annotated[str, Form(max_length=10)] = "",
    field_name: RowValues = None,
    field_type: RowValues = None,
    field_required: RowValues = None,
    field_public: RowValues = None,
    field_remove: RowValues = None,
) -> TemplateForm:
    """The rows as sent: names and types in order, ticked boxes by row number."""
    required, public = set(field_required or ()), set(field_public or ())
    remove = set(field_remove or ())
    rows: list[FieldRow] = []
    for number, (row_name, row_type) in enumerate(zip_longest(field_name or [], field_type or [])):
        if row_name is None:
            break
        key = str(number)
        rows.append(
            FieldRow(
                row_name,
                row_type or FieldType.STRING.value,
                key in required,
                key in public,
                key in remove,
            )
        )
    chosen = [d for d in departments or () if d]
    return TemplateForm(name, gtin, chosen, rows, change_departments=bool(departments_shown))


SentTemplate = Annotated[TemplateForm, Depends(_template_form)]


def _context(svc: Services, actor: Actor, template: Template | None = None) -> dict[str, Any]:
    known = all_departments(svc, actor)
    return {
        "area": "templates",
        "departments": known,
        "departments_editable": _departments_editable(template, {d.id for d in known}),
        "department_names": {d.id: d.name for d in known},
        "can_manage": actor.can(Permission.MANAGE_TEMPLATES),
        "field_types": FIELD_TYPES,
        "type_labels": TYPE_LABELS,
        "max_fields": MAX_FIELDS,
    }


def _departments_editable(template: Template | None, visible: set[str]) -> bool:
    """A member offered only the departments they see would drop the others from the
    template's defaults by saving; they see the defaults without a choice instead (P5)."""
    return template is None or template.departments <= visible


# --- list and create ---------------------------------------------------------------------


@router.get("/templates")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    page = templates.list_templates(svc, actor, paging)
    return render(
        request,
        "device_templates/list.html",
        {**_context(svc, actor), "page": page, "paged": paging.after is not None},
    )


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    form: TemplateForm,
    *,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "device_templates/new.html",
        {**_context(svc, actor), "form": form},
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/templates/new")
def new_form(request: Request, svc: Svc, actor: MemberActor) -> Response:
    actor.require(Permission.MANAGE_TEMPLATES)
    empty = TemplateForm("", "", [], []).with_rows(NEW_ROWS)
    return _new_form(request, svc, actor, empty)


@router.post("/templates")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    form: SentTemplate,
    csrf: CsrfField = "",
    intent: Intent = "save",
) -> Response:
    """Create a template; "Add another field" shows the form again with one more row."""
    http.check_csrf(request, csrf)
    if intent == "add_field":
        return _new_form(request, svc, actor, form.with_rows(1))
    fields, renamed = form.fields()
    try:
        created = templates.create_template(
            svc,
            actor,
            name=form.name,
            fields=fields,
            departments=form.departments,
            gtin=form.gtin,
        )
    except _FORM_ERRORS as error:
        return _new_form(
            request,
            svc,
            actor,
            form,
            errors=form_errors(error, fields=renamed),
            status=status_of(error),
        )
    return redirect(request, f"/templates/{created.id}", notice=f"Template {created.name} created.")


# --- detail and edit ---------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentDraft:
    """The default-document form as last sent, to show again after a refusal."""

    title: str = ""
    url: str = ""
    public: bool = False


def _document_href(template: Template, document: Document) -> str:
    if document.url is not None:
        return document.url
    return f"/api/v1/templates/{template.id}/documents/{document.id}/content"


def _detail(
    request: Request,
    svc: Services,
    actor: Actor,
    template_id: str,
    *,
    form: TemplateForm | None = None,
    draft: DocumentDraft | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    template = templates.get_template(svc, actor, template_id)
    listed = documents.list_template_documents(
        svc, actor, template.id, PageRequest(None, DOCUMENTS_SHOWN)
    )
    shown = form or TemplateForm.of(template).with_rows(1)
    return render(
        request,
        "device_templates/detail.html",
        {
            **_context(svc, actor, template),
            "template": template,
            "form": shown,
            "documents": listed.items,
            "more_documents": listed.next_after is not None,
            "document_href": lambda d: _document_href(template, d),
            "document_kind": document_kind,
            "draft": draft or DocumentDraft(),
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/templates/{template_id}")
def detail(request: Request, svc: Svc, actor: MemberActor, template_id: str) -> Response:
    return _detail(request, svc, actor, template_id)


@router.post("/templates/{template_id}")
def update(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    template_id: str,
    form: SentTemplate,
    csrf: CsrfField = "",
    intent: Intent = "save",
) -> Response:
    """Save name, GTIN, default departments and fields at once; devices keep the
    attributes they have (A4)."""
    http.check_csrf(request, csrf)
    if intent == "add_field":
        return _detail(request, svc, actor, template_id, form=form.with_rows(1))
    fields, renamed = form.fields()
    try:
        updated = templates.update_template(
            svc,
            actor,
            template_id,
            name=form.name,
            fields=fields,
            departments=form.departments,
            change_departments=form.change_departments,
            gtin=form.gtin,
            change_gtin=True,
        )
    except _FORM_ERRORS as error:
        return _detail(
            request,
            svc,
            actor,
            template_id,
            form=form,
            errors=form_errors(error, fields=renamed),
            status=status_of(error),
        )
    return redirect(request, f"/templates/{template_id}", notice=f"Template {updated.name} saved.")


# --- delete ------------------------------------------------------------------------------


@router.get("/templates/{template_id}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, template_id: str) -> Response:
    template = templates.get_template(svc, actor, template_id)
    return render(
        request, "device_templates/delete.html", {"area": "templates", "template": template}
    )


@router.post("/templates/{template_id}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, template_id: str, csrf: CsrfField = ""
) -> Response:
    """A template devices were made from stays; the confirmation page says so (A4)."""
    template = templates.get_template(svc, actor, template_id)
    return confirmed(
        request,
        csrf,
        template="device_templates/delete.html",
        context={"area": "templates", "template": template},
        action=lambda: templates.delete_template(svc, actor, template_id),
        back="/templates",
        notice=f"Template {template.name} deleted.",
    )


# --- default documents (A4) --------------------------------------------------------------


@dataclass(frozen=True)
class DocumentForm:
    """The default-document form: a file or a link, its title and whether code users see
    it; ``error`` when the upload itself was refused (too large, malformed)."""

    csrf: str = ""
    title: str = ""
    url: str = ""
    public: bool = False
    content: bytes | None = None
    error: DomainError | None = None

    @property
    def draft(self) -> DocumentDraft:
        return DocumentDraft(self.title, self.url, self.public)


async def _document_form(request: Request, svc: Svc) -> DocumentForm:
    upload = await read_page_upload(request, svc.upload_max_bytes, fields=_DOCUMENT_FIELDS)
    if upload.error is not None:
        return DocumentForm(error=upload.error)
    return DocumentForm(
        csrf=upload.text(http.CSRF_FIELD),
        title=upload.text("title"),
        url=upload.text("url").strip(),
        public=bool(upload.text("public")),
        content=upload.content,
    )


SentDocument = Annotated[DocumentForm, Depends(_document_form)]


@router.post("/templates/{template_id}/documents")
def add_document(
    request: Request, svc: Svc, actor: MemberActor, template_id: str, sent: SentDocument
) -> Response:
    """A default document: devices created from the template from now on get it (A4)."""
    if sent.error is not None:  # nothing is done: show the form again with the reason
        return _detail(
            request, svc, actor, template_id, draft=sent.draft,
            errors=form_errors(sent.error), status=status_of(sent.error),
        )  # fmt: skip
    http.check_csrf(request, sent.csrf)
    given = DocumentInput(
        title=sent.title, public=sent.public, url=sent.url or None, content=sent.content
    )
    try:
        added = documents.add_template_document(svc, actor, template_id, given)
    except _DOCUMENT_ERRORS as error:
        return _detail(
            request, svc, actor, template_id, draft=sent.draft,
            errors=form_errors(error), status=status_of(error),
        )  # fmt: skip
    return redirect(
        request, f"/templates/{template_id}", notice=f"Default document {added.title} added."
    )


def _document_context(
    svc: Services, actor: Actor, template_id: str, document_id: str
) -> dict[str, Any]:
    template = templates.get_template(svc, actor, template_id)
    document = documents.read_template_document(svc, actor, template.id, document_id)
    return {"area": "templates", "template": template, "document": document}


@router.get("/templates/{template_id}/documents/{document_id}/delete")
def delete_document_form(
    request: Request, svc: Svc, actor: MemberActor, template_id: str, document_id: str
) -> Response:
    context = _document_context(svc, actor, template_id, document_id)
    return render(request, "device_templates/delete_document.html", context)


@router.post("/templates/{template_id}/documents/{document_id}/delete")
def delete_document(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    template_id: str,
    document_id: str,
    csrf: CsrfField = "",
) -> Response:
    """Devices already made from the template keep their copies."""
    context = _document_context(svc, actor, template_id, document_id)
    return confirmed(
        request,
        csrf,
        template="device_templates/delete_document.html",
        context=context,
        action=lambda: documents.delete_template_document(svc, actor, template_id, document_id),
        back=f"/templates/{template_id}",
        notice=f"Default document {context['document'].title} deleted.",
    )
