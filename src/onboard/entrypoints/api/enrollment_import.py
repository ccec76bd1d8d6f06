"""/api/v1/enrollments/batch: a list of devices enrolled in one transaction, checked as a
whole first with a per-row report (SPEC C7, C8, §5.1).

The body (text/csv or application/x-ndjson) is spooled to a temporary file as it comes,
within MAX_LIST_BYTES, and the import reads it from there in constant memory; the answer
is streamed from the report's spill, so neither holds a million rows in memory."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO, Literal, cast

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from onboard.domain.documents import file_too_large
from onboard.domain.enrollment_import import MAX_LIST_BYTES, ImportMode, ListFormat
from onboard.entrypoints.api.deps import CurrentActor, Svc
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.files import TOO_LARGE_RESPONSES
from onboard.entrypoints.api.schemas import Problem
from onboard.entrypoints.uploads import media_type
from onboard.services.enrollment_import import (
    EnrollmentImportRefused,
    EnrollmentImportReport,
    import_enrollments,
)

router = APIRouter(prefix="/enrollments", tags=["enrollment"])

# What of the body stays in memory before the spool goes to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024
FORMATS = {"text/csv": ListFormat.CSV, "application/x-ndjson": ListFormat.JSONL}
LIST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
        "description": "The list, at most 256 MiB: CSV with the header "
        "`serial,access_key,kind,gateway_id,name,location` (gateway_id, name and location may "
        "be left out), or JSON lines, one object with those keys per line.",
    }
}


class RejectedRow(BaseModel):
    row: int
    code: Literal["malformed", "duplicate_in_list", "already_enrolled", "unknown_gateway"]
    detail: str


class EnrollmentBatchReport(BaseModel):
    accepted: int
    rejected: list[RejectedRow]


class ImportRefusedProblem(Problem):
    rejected: list[RejectedRow]


async def _spooled(request: Request) -> BinaryIO:
    """The body in a temporary file, refused (413 ``file_too_large``) as soon as it is
    declared or comes over MAX_LIST_BYTES."""
    refusal = file_too_large(MAX_LIST_BYTES)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_LIST_BYTES:
        raise refusal
    spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))  # noqa: SIM115
    try:
        async for chunk in request.stream():
            if spool.tell() + len(chunk) > MAX_LIST_BYTES:
                raise refusal
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def _answer(report: EnrollmentImportReport, head: dict[str, Any]) -> Iterator[bytes]:
    """``head`` and the report's rejected rows as one JSON object, a row at a time."""
    try:
        yield json.dumps(head)[:-1].encode() + b', "rejected": ['
        for index, r in enumerate(report.rejections()):
            row = {"row": r.row, "code": r.code.value, "detail": r.detail}
            yield (b", " if index else b"") + json.dumps(row).encode()
        yield b"]}"
    finally:
        report.close()


@router.post(
    "/batch",
    response_model=EnrollmentBatchReport,
    openapi_extra=LIST_BODY,
    responses={
        **TOO_LARGE_RESPONSES,
        415: {
            "description": "The body is neither text/csv nor application/x-ndjson",
            "content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}},
        },
        422: {
            "description": "The list cannot be read (malformed), or rows were rejected in "
            "mode all (import_refused: nothing enrolled, every rejected row listed)",
            "model": ImportRefusedProblem,
            "content": {PROBLEM_TYPE: {"schema": ImportRefusedProblem.model_json_schema()}},
        },
    },
)
async def import_batch(
    request: Request,
    svc: Svc,
    actor: CurrentActor,
    mode: Annotated[
        ImportMode, Query(description="`all`: every row or none; `valid`: the valid rows.")
    ] = ImportMode.ALL,
) -> StreamingResponse:
    """C7: every row is checked first (`malformed`, `duplicate_in_list`,
    `already_enrolled`, `unknown_gateway`), then the valid ones are enrolled in one
    transaction as pending enrollments. In mode `all` one rejected row enrolls nothing
    (422 `import_refused` listing them). Rows are numbered from the first data row in CSV,
    by line in JSON lines. Only Administrators, or members both Device Manager and IoT
    Manager, import (403 `enrollment_forbidden`). Running the same list again is safe:
    rows enrolled already are reported `already_enrolled`."""
    list_format = FORMATS.get(media_type(request))
    if list_format is None:
        raise HTTPException(415, "Send the list as text/csv or application/x-ndjson.")
    source = await _spooled(request)
    try:
        report = await run_in_threadpool(
            import_enrollments, svc, actor, source, format=list_format, mode=mode
        )
    except EnrollmentImportRefused as error:
        head = {
            "type": f"urn:onboard:problem:{error.code}", "title": error.title, "status": 422,
            "detail": error.detail, "code": error.code,
        }  # fmt: skip
        return StreamingResponse(
            _answer(error.report, head), status_code=422, media_type=PROBLEM_TYPE
        )
    finally:
        source.close()
    return StreamingResponse(
        _answer(report, {"accepted": report.accepted}), media_type="application/json"
    )
