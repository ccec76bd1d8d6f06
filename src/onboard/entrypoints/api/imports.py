"""/api/v1/devices/import: devices from a CSV file, checked row by row, imported all
together or not at all (SPEC A3, A4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from onboard.domain.device_import import read_rows
from onboard.domain.errors import Invalid
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Svc
from onboard.entrypoints.api.files import TOO_LARGE_RESPONSES
from onboard.entrypoints.uploads import read_body
from onboard.services import imports

router = APIRouter(prefix="/devices", tags=["devices"])

MAX_FILE_BYTES = 20 * 1024 * 1024
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "A header row (name,serial,template,customer,location,departments, "
        "attr:<field>) and one row per device.",
    }
}


async def _csv_text(request: Request) -> str:
    """The body as UTF-8 text, read up to the size limit (413 ``file_too_large`` over it)."""
    body = await read_body(request, MAX_FILE_BYTES)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text.", fields={"file": "not UTF-8"}) from None


@router.post(
    "/import",
    status_code=201,
    response_model=s.ImportReportPublic,
    openapi_extra=CSV_BODY,
    responses=TOO_LARGE_RESPONSES,
)
async def import_devices(
    request: Request,
    svc: Svc,
    actor: CurrentActor,
    valid_only: Annotated[bool, Query(description="Import the good rows, skip bad ones.")] = False,
) -> s.ImportReportPublic:
    """Every row is checked first; with a bad row nothing is imported (422 `import_refused`,
    each refused row in `errors` as `rows.<number>`) unless `valid_only`."""
    rows = read_rows(await _csv_text(request))
    report = await run_in_threadpool(
        imports.import_devices, svc, actor, rows, valid_only=valid_only
    )
    return s.ImportReportPublic(
        imported=report.imported,
        rows=[
            s.ImportRowPublic(
                row=row.number,
                ok=row.error is None,
                code=row.error.code if row.error else None,
                detail=row.error.detail if row.error else None,
            )
            for row in report.rows
        ],
    )
