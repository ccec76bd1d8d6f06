"""The tabs of a device in the back office besides its overview and codes: documents,
service history, customer interactions and the lifecycle timeline (SPEC A3, A13)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response

from onboard.domain.access import Actor
from onboard.domain.devices import InteractionKind
from onboard.domain.errors import DomainError, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.device_forms import UPLOAD_ERRORS, DeviceUpload
from onboard.entrypoints.web.device_views import (
    device_context,
    document_kind,
    tab_page,
    timeline_sentence,
)
from onboard.entrypoints.web.forms import CsrfField, Cursor, Text, parse_time
from onboard.entrypoints.web.rendering import redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices, documents, pairing, records
from onboard.services.documents import DocumentInput
from onboard.services.ports import PageRequest, Services

router = web_router()

LongText = Annotated[str, Form(max_length=20_000)]


# --- documents (A3) ------------------------------------------------------------------------


def _documents_tab(
    request: Request,
    svc: Services,
    actor: Actor,
    device_id: str,
    paging: PageRequest,
    *,
    values: dict[str, str] | None = None,
    error: DomainError | None = None,
    fields: dict[str, str] | None = None,
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    found = documents.list_documents(svc, actor, device.id, paging)
    context = device_context(
        svc,
        actor,
        device,
        "documents",
        documents=found,
        kinds={d.id: document_kind(d) for d in found.items},
        paged=paging.after is not None,
        values=values or {},
        max_mb=max(1, svc.upload_max_bytes // (1024 * 1024)),
    )
    return tab_page(request, "devices/documents.html", context, error, fields=fields)


@router.get("/devices/{device_id}/documents")
def documents_tab(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor
) -> Response:
    return _documents_tab(request, svc, actor, device_id, paging)


@router.post("/devices/{device_id}/documents/file")
def add_file(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, upload: DeviceUpload
) -> Response:
    """A manual or other file: PDF, image or plain text, its type read from its bytes."""
    if upload.error is None:
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
    device = devices.get_device(svc, actor, device_id)
    title, public = upload.text("file_title"), upload.flag("public")
    try:
        if upload.error is not None:
            raise upload.error
        if upload.content is None:
            raise Invalid("Choose the file to upload.", fields={"file": "choose a file"})
        added = documents.add_document(
            svc, actor, device.id, DocumentInput(title=title, public=public, content=upload.content)
        )
    except UPLOAD_ERRORS as error:
        values = {"file_title": title, "file_public": "yes" if public else ""}
        return _documents_tab(
            request,
            svc,
            actor,
            device.id,
            PageRequest(),
            values=values,
            error=error,
            fields={"title": "file_title"},
        )
    return redirect(
        request, f"/devices/{device.id}/documents", notice=f"Document {added.title} added."
    )


@router.post("/devices/{device_id}/documents/link")
def add_link(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    link_title: Text = "",
    url: Annotated[str, Form(max_length=4000)] = "",
    public: Text = "",
) -> Response:
    """A link to a manual kept elsewhere (http or https)."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    shown = public.strip().lower() == "yes"
    try:
        added = documents.add_document(
            svc, actor, device.id, DocumentInput(title=link_title, public=shown, url=url)
        )
    except Invalid as error:
        values = {"link_title": link_title, "url": url, "link_public": "yes" if shown else ""}
        return _documents_tab(
            request,
            svc,
            actor,
            device.id,
            PageRequest(),
            values=values,
            error=error,
            fields={"title": "link_title"},
        )
    return redirect(request, f"/devices/{device.id}/documents", notice=f"Link {added.title} added.")


@router.post("/devices/{device_id}/documents/{document_id}/public")
def set_public(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    document_id: str,
    csrf: CsrfField = "",
    public: Text = "",
) -> Response:
    """Show the document to code users (A12), or keep it internal."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    changed = documents.set_document_public(
        svc, actor, device.id, document_id, public=public.strip().lower() == "yes"
    )
    where = "now shown to code users" if changed.public else "now internal"
    return redirect(
        request, f"/devices/{device.id}/documents", notice=f"{changed.title} is {where}."
    )


def _document_context(
    svc: Services, actor: Actor, device_id: str, document_id: str
) -> dict[str, Any]:
    device = devices.get_device(svc, actor, device_id)
    document = documents.read_document(svc, actor, device.id, document_id)
    return device_context(svc, actor, device, "documents", document=document)


@router.get("/devices/{device_id}/documents/{document_id}/delete")
def delete_document_form(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, document_id: str
) -> Response:
    context = _document_context(svc, actor, device_id, document_id)
    return render(request, "devices/delete_document.html", context)


@router.post("/devices/{device_id}/documents/{document_id}/delete")
def delete_document(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    document_id: str,
    csrf: CsrfField = "",
) -> Response:
    context = _document_context(svc, actor, device_id, document_id)
    device, document = context["device"], context["document"]
    return confirmed(
        request,
        csrf,
        template="devices/delete_document.html",
        context=context,
        action=lambda: documents.delete_document(svc, actor, device.id, document.id),
        back=f"/devices/{device.id}/documents",
        notice=f"Document {document.title} deleted.",
    )


# --- service history and interactions (A3, A13) --------------------------------------------


def _service_tab(
    request: Request,
    svc: Services,
    actor: Actor,
    device_id: str,
    paging: PageRequest,
    *,
    values: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    found = records.list_service_records(svc, actor, device.id, paging)
    today = svc.clock.now().date().isoformat()
    context = device_context(
        svc,
        actor,
        device,
        "service",
        records=found,
        paged=paging.after is not None,
        values=values or {"performed_on": today, "text": ""},
        today=today,
    )
    fields = {"performed_at": "performed_on"}
    return tab_page(request, "devices/service.html", context, error, fields=fields)


@router.get("/devices/{device_id}/service")
def service_tab(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor
) -> Response:
    return _service_tab(request, svc, actor, device_id, paging)


@router.post("/devices/{device_id}/service")
def add_service_record(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    performed_on: Text = "",
    text: LongText = "",
) -> Response:
    """A dated entry of the service history; without a date it is today's."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    text = text.replace("\r\n", "\n")
    try:
        performed_at = parse_time(performed_on, field="performed_on")
        records.add_service_record(svc, actor, device.id, text=text, performed_at=performed_at)
    except Invalid as error:
        values = {"performed_on": performed_on, "text": text}
        return _service_tab(
            request, svc, actor, device.id, PageRequest(), values=values, error=error
        )
    return redirect(request, f"/devices/{device.id}/service", notice="Service record added.")


def _interactions_tab(
    request: Request,
    svc: Services,
    actor: Actor,
    device_id: str,
    paging: PageRequest,
    *,
    values: dict[str, str] | None = None,
    error: DomainError | None = None,
) -> Response:
    device = devices.get_device(svc, actor, device_id)
    found = records.list_interactions(svc, actor, device.id, paging)
    context = device_context(
        svc,
        actor,
        device,
        "interactions",
        interactions=found,
        paged=paging.after is not None,
        values=values or {"kind": InteractionKind.NOTE.value, "text": ""},
        kinds=[InteractionKind.NOTE.value, InteractionKind.MESSAGE.value],
    )
    return tab_page(request, "devices/interactions.html", context, error)


@router.get("/devices/{device_id}/interactions")
def interactions_tab(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor
) -> Response:
    return _interactions_tab(request, svc, actor, device_id, paging)


@router.post("/devices/{device_id}/interactions")
def add_interaction(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    kind: Text = InteractionKind.NOTE.value,
    text: LongText = "",
) -> Response:
    """A note, or a message to or from the customer; code users' notifications come in
    by themselves (A13)."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    text = text.replace("\r\n", "\n")
    try:
        added = records.add_interaction(svc, actor, device.id, kind=kind, text=text)
    except Invalid as error:
        values = {"kind": kind, "text": text}
        return _interactions_tab(
            request, svc, actor, device.id, PageRequest(), values=values, error=error
        )
    noun = "Message" if added.kind is InteractionKind.MESSAGE else "Note"
    return redirect(request, f"/devices/{device.id}/interactions", notice=f"{noun} added.")


# --- the lifecycle timeline (A3) -----------------------------------------------------------


@router.get("/devices/{device_id}/timeline")
def timeline_tab(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, paging: Cursor
) -> Response:
    """Everything that happened to the device, newest first, each told as a sentence."""
    device = devices.get_device(svc, actor, device_id)
    found = records.device_timeline(svc, actor, device.id, paging)
    tokens = {c.id: c.token for c in pairing.codes_of_device(svc, actor, device.id)}
    context = device_context(
        svc,
        actor,
        device,
        "timeline",
        entries=found,
        sentences={e.id: timeline_sentence(e, tokens) for e in found.items},
        paged=paging.after is not None,
    )
    return render(request, "devices/timeline.html", context)
