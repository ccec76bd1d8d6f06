"""The back office's batch enrollment (SPEC C7): a page to upload a list of devices (CSV or
JSON lines), every row or only the valid ones, into chosen departments, and the report of
what was enrolled and what was rejected, row by row."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from onboard.domain.access import Actor
from onboard.domain.documents import file_too_large
from onboard.domain.enrollment import require_enroll
from onboard.domain.enrollment_import import MAX_LIST_BYTES, ImportMode, ListFormat
from onboard.domain.errors import DomainError, FileTooLarge, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.uploads import FORM_OVERHEAD, media_type
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.rendering import FormErrors, form_errors, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.enrollment_import import (
    EnrollmentImportRefused,
    EnrollmentImportReport,
    import_enrollments,
)
from onboard.services.list_import import Progress
from onboard.services.ports import Services

router = web_router()

# Rows of the report the page shows; the CLI and the API give them all.
SHOWN = 1_000
ND_JSON = "application/x-ndjson"
# Seconds between two progress lines to the page.
PROGRESS_EVERY = 0.25
logger = logging.getLogger(__name__)
MAX_FIELDS = 50


@dataclass
class ListForm:
    """The upload form as it came: the list spooled to a temporary file (the parser's), the
    choices, or why it could not be read."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file: UploadFile | None = None
    error: DomainError | None = None

    def text(self, name: str) -> str:
        return (self.fields.get(name) or [""])[0]


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise file_too_large(MAX_LIST_BYTES)
        yield chunk


async def _list_form(request: Request) -> ListForm:
    """The multipart form, its file spooled to disk by the parser as it comes (a list of a
    million rows never lands in memory), refused over MAX_LIST_BYTES."""
    if media_type(request) != "multipart/form-data":
        return ListForm(error=Invalid("Choose a file to import.", fields={"file": "required"}))
    parser = MultiPartParser(
        request.headers,
        _limited(request, MAX_LIST_BYTES + FORM_OVERHEAD),
        max_files=1,
        max_fields=MAX_FIELDS,
    )
    try:
        form = await parser.parse()
    except FileTooLarge as error:
        return ListForm(error=error)
    except MultiPartException as exc:
        return ListForm(error=Invalid(f"The form cannot be read: {exc.message}"))
    found = ListForm()
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name == "file" and value.filename:
                found.file = value
        else:
            found.fields.setdefault(name, []).append(value)
    return found


ListUpload = Annotated[ListForm, Depends(_list_form)]


def _form(
    request: Request,
    svc: Services,
    actor: Actor,
    *,
    mode: str = ImportMode.ALL.value,
    chosen: tuple[str, ...] = (),
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "enrollments/import.html",
        {
            "area": "enrollments",
            "mode": mode,
            "chosen": chosen,
            "departments": all_departments(svc, actor),
            "max_megabytes": MAX_LIST_BYTES // (1024 * 1024),
        },
        errors=errors or FormErrors(),
        status=status,
    )


def _report(request: Request, report: EnrollmentImportReport, *, refused: bool) -> Response:
    with report:
        context: dict[str, Any] = {
            "area": "enrollments",
            "report": report,
            "refused": refused,
            "rejections": list(report.rejections(SHOWN)),
            "shown": SHOWN,
        }
        return render(
            request, "enrollments/import_report.html", context, status=422 if refused else None
        )


@router.get("/enrollments/import")
def import_page(request: Request, svc: Svc, actor: MemberActor) -> Response:
    """C7, C8: the upload form, for members who may enroll."""
    require_enroll(actor)
    return _form(request, svc, actor)


def _format(upload: UploadFile) -> ListFormat:
    named = ListFormat.of_name(upload.filename or "")
    if named is not None:
        return named
    sent = (upload.content_type or "").split(";")[0].strip().lower()
    return (
        ListFormat.JSONL
        if sent in ("application/x-ndjson", "application/jsonl")
        else (ListFormat.CSV)
    )


@router.post("/enrollments/import")
def import_list(request: Request, svc: Svc, actor: MemberActor, upload: ListUpload) -> Response:
    """Import the list and show the report; a list that cannot be read, or a refusal
    before any row was read, shows the form again with the reason. The page's script asks
    for ``application/x-ndjson``: it then gets the import's progress as JSON lines while
    the import runs, and last a line with the page to show."""
    require_enroll(actor)
    if ND_JSON in request.headers.get("accept", ""):
        return StreamingResponse(
            progress_lines(lambda tell: _imported(request, svc, actor, upload, tell)),
            media_type=ND_JSON,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    return _imported(request, svc, actor, upload, None)


def _imported(
    request: Request,
    svc: Services,
    actor: Actor,
    upload: ListForm,
    tell: Progress | None,
) -> Response:
    mode = upload.text("mode") or ImportMode.ALL.value
    chosen = tuple(d for d in upload.fields.get("departments", []) if d)
    try:
        if upload.error is not None:
            raise upload.error
        http.check_csrf(request, upload.text(http.CSRF_FIELD))
        if upload.file is None:
            raise Invalid("Choose a file to import.", fields={"file": "required"})
        try:
            wanted = ImportMode(mode)
        except ValueError:
            raise Invalid("Choose a mode.", fields={"mode": "all or valid"}) from None
        report = import_enrollments(
            svc, actor, upload.file.file, format=_format(upload.file),
            mode=wanted, departments=list(chosen) or None, progress=tell,
        )  # fmt: skip
    except EnrollmentImportRefused as refused:
        return _report(request, refused.report, refused=True)
    except (Invalid, FileTooLarge) as error:
        return _form(
            request, svc, actor, mode=mode, chosen=chosen, errors=form_errors(error),
            status=status_of(error),
        )  # fmt: skip
    finally:
        if upload.file is not None:
            upload.file.file.close()
    return _report(request, report, refused=False)


def progress_lines(run: Callable[[Progress], Response]) -> Iterator[bytes]:
    """``run`` in a thread of its own, told how far it has come; yields that progress as
    JSON lines (at most a few a second) and, last, the page it rendered with its status.
    A client that leaves does not stop the import: it ends, committed or not, as it would
    have."""
    lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    said = [0.0]

    def tell(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - said[0] >= PROGRESS_EVERY or (total and done >= total):
            said[0] = now
            lines.put(_line({"phase": phase, "done": done, "total": total}))

    def work() -> None:
        try:
            page = run(tell)
            lines.put(_line({"status": page.status_code, "page": bytes(page.body).decode()}))
        except Exception:  # the page is an error page; the log has the cause
            logger.exception("batch enrollment from the back office failed")
            lines.put(_line({"status": 500, "page": None}))
        finally:
            lines.put(None)

    threading.Thread(target=work, name="enrollment-import", daemon=True).start()
    while (line := lines.get()) is not None:
        yield line


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"
