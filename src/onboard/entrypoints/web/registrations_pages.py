"""Back-office pages of a provisioning group's registrations (SPEC D3, D4): disabling one
serial's registration (its device's activation is then refused) or enabling it again,
each after confirmation, and uploading a list of serials (CSV or JSON lines) with the
report of what was registered and what was rejected, row by row."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from starlette.datastructures import UploadFile

from onboard.domain.access import Actor, Permission
from onboard.domain.enrollment_import import MAX_LIST_BYTES, ImportMode, ListFormat
from onboard.domain.errors import FileTooLarge, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.enrollment_import import SHOWN, ListForm, ListUpload
from onboard.entrypoints.web.forms import CsrfField, with_query
from onboard.entrypoints.web.provisioning_groups import group_path
from onboard.entrypoints.web.rendering import FormErrors, form_errors, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.ports import Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.registrations import (
    RegistrationImportRefused,
    RegistrationImportReport,
    register_serials,
    set_registration_disabled,
)

router = web_router()

SerialQuery = Annotated[str, Query(max_length=200)]


# --- disabling and enabling one registration (D4) ----------------------------------------------


def _switch_context(
    svc: Services, actor: Actor, group_ref: str, serial: str, *, disable: bool
) -> dict[str, Any]:
    group = groups.find_group_now(svc, actor, group_ref)
    actor.require(Permission.MANAGE_PROVISIONING)
    verb = "disable" if disable else "enable"
    text = (
        "Its device is refused the next time it activates (registration_disabled); a device "
        "activated already keeps working until then. The group and its other devices are "
        "not affected. You can enable it again."
        if disable
        else "Its device may activate again with its key."
    )
    return {
        "area": "provisioning",
        "group": group,
        "confirm_title": f"{verb.capitalize()} the registration of {serial}?",
        "confirm_text": text,
        "confirm_action": with_query(f"{group_path(group.id)}/registrations/{verb}", serial=serial),
        "confirm_button": f"{verb.capitalize()} registration",
        "cancel_url": group_path(group.id),
    }


def _switch(
    request: Request,
    svc: Services,
    actor: Actor,
    group_ref: str,
    serial: str,
    csrf: str,
    *,
    disable: bool,
) -> Response:
    return confirmed(
        request,
        csrf,
        template="provisioning/confirm.html",
        context=_switch_context(svc, actor, group_ref, serial, disable=disable),
        action=lambda: set_registration_disabled(svc, actor, group_ref, serial, disabled=disable),
        back=group_path(group_ref),
        notice=f"Registration of {serial} {'disabled' if disable else 'enabled'}.",
    )


@router.get("/provisioning/{group_ref}/registrations/disable")
def disable_form(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, serial: SerialQuery = ""
) -> Response:
    context = _switch_context(svc, actor, group_ref, serial, disable=True)
    return render(request, "provisioning/confirm.html", context)


@router.post("/provisioning/{group_ref}/registrations/disable")
def disable(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    group_ref: str,
    serial: SerialQuery = "",
    csrf: CsrfField = "",
) -> Response:
    """D4, after confirmation: the serial's device is refused activation."""
    return _switch(request, svc, actor, group_ref, serial, csrf, disable=True)


@router.get("/provisioning/{group_ref}/registrations/enable")
def enable_form(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, serial: SerialQuery = ""
) -> Response:
    context = _switch_context(svc, actor, group_ref, serial, disable=False)
    return render(request, "provisioning/confirm.html", context)


@router.post("/provisioning/{group_ref}/registrations/enable")
def enable(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    group_ref: str,
    serial: SerialQuery = "",
    csrf: CsrfField = "",
) -> Response:
    """D4, after confirmation: the serial's device may activate again."""
    return _switch(request, svc, actor, group_ref, serial, csrf, disable=False)


# --- uploading a list of serials (D3) ------------------------------------------------------


def _form(
    request: Request,
    svc: Services,
    actor: Actor,
    group_ref: str,
    *,
    mode: str = ImportMode.ALL.value,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    group = groups.find_group_now(svc, actor, group_ref)
    return render(
        request,
        "provisioning/import.html",
        {
            "area": "provisioning",
            "group": group,
            "base": group_path(group.id),
            "mode": mode,
            "max_megabytes": MAX_LIST_BYTES // (1024 * 1024),
        },
        errors=errors or FormErrors(),
        status=status,
    )


def _report(
    request: Request,
    svc: Services,
    actor: Actor,
    group_ref: str,
    report: RegistrationImportReport,
    *,
    refused: bool,
) -> Response:
    group = groups.find_group_now(svc, actor, group_ref)
    with report:
        context: dict[str, Any] = {
            "area": "provisioning",
            "group": group,
            "base": group_path(group.id),
            "report": report,
            "refused": refused,
            "rejections": list(report.rejections(SHOWN)),
            "shown": SHOWN,
        }
        return render(
            request, "provisioning/import_report.html", context, status=422 if refused else None
        )


@router.get("/provisioning/{group_ref}/registrations/import")
def import_page(request: Request, svc: Svc, actor: MemberActor, group_ref: str) -> Response:
    """D3: the upload form, for members who manage provisioning."""
    actor.require(Permission.MANAGE_PROVISIONING)
    return _form(request, svc, actor, group_ref)


def _format(upload: UploadFile) -> ListFormat:
    named = ListFormat.of_name(upload.filename or "")
    if named is not None:
        return named
    sent = (upload.content_type or "").split(";")[0].strip().lower()
    return (
        ListFormat.JSONL
        if sent in ("application/x-ndjson", "application/jsonl")
        else ListFormat.CSV
    )


@router.post("/provisioning/{group_ref}/registrations/import")
def import_list(
    request: Request, svc: Svc, actor: MemberActor, group_ref: str, upload: ListUpload
) -> Response:
    """D3: register the list's serials and show the report; a list that cannot be read
    shows the form again with the reason."""
    return _imported(request, svc, actor, group_ref, upload)


def _imported(
    request: Request, svc: Services, actor: Actor, group_ref: str, upload: ListForm
) -> Response:
    mode = upload.text("mode") or ImportMode.ALL.value
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
        if upload.file is None:
            raise Invalid("Choose a file to upload.", fields={"file": "required"})
        try:
            wanted = ImportMode(mode)
        except ValueError:
            raise Invalid("Choose a mode.", fields={"mode": "all or valid"}) from None
        report = register_serials(
            svc, actor, group_ref, upload.file.file, format=_format(upload.file), mode=wanted
        )
    except RegistrationImportRefused as refused:
        return _report(request, svc, actor, group_ref, refused.report, refused=True)
    except (Invalid, FileTooLarge) as error:
        return _form(
            request, svc, actor, group_ref, mode=mode, errors=form_errors(error),
            status=status_of(error),
        )  # fmt: skip
    finally:
        if upload.file is not None:
            upload.file.file.close()
    return _report(request, svc, actor, group_ref, report, refused=False)
