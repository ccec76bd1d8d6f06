"""/api/v1/provisioning-groups/{group}/registrations: serials registered in a provisioning
group before their devices exist, a list at a time with a per-row report (SPEC D3,
§5.1), listed, and one disabled or enabled again (D4). The group is named by its record
id or its public group id.

A list comes as text/csv or application/x-ndjson (spooled to a temporary file, read from
there in constant memory, as /api/v1/enrollments/batch does), or as §5.1's JSON object
``{"serials": [...]}`` of strings or of {serial, attributes}."""

from __future__ import annotations

import json
import tempfile
from typing import Annotated, BinaryIO, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from onboard.domain.enrollment_import import MAX_LIST_BYTES, ImportMode, ListFormat
from onboard.domain.errors import Invalid
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.files import TOO_LARGE_RESPONSES
from onboard.entrypoints.api.list_import import SPOOL_IN_MEMORY, report_body, spooled
from onboard.entrypoints.api.provisioning_schemas import RegistrationPublic
from onboard.entrypoints.uploads import media_type, read_body
from onboard.services.provisioning import registrations
from onboard.services.provisioning.registrations import RegistrationImportRefused

router = APIRouter(prefix="/provisioning-groups", tags=["provisioning"])

FORMATS = {"text/csv": ListFormat.CSV, "application/x-ndjson": ListFormat.JSONL}
JSON = "application/json"
# A JSON body is parsed whole: larger lists go as CSV or JSON lines, which stream.
MAX_JSON_BYTES = 16 * 1024 * 1024
SerialPath = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NO_NUL)]
LIST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            JSON: {
                "schema": {
                    "type": "object",
                    "required": ["serials"],
                    "properties": {
                        "serials": {
                            "type": "array",
                            "items": {
                                "oneOf": [
                                    {"type": "string"},
                                    {
                                        "type": "object",
                                        "required": ["serial"],
                                        "properties": {
                                            "serial": {"type": "string"},
                                            "attributes": {"type": "object"},
                                        },
                                    },
                                ]
                            },
                        }
                    },
                }
            },
        },
        "description": "The serials: CSV with a `serial` column and a column for each "
        "attribute (an empty cell leaves it out), at most 256 MiB; JSON lines, one "
        '`{"serial": ..., "attributes": {...}}` per line, at most 256 MiB; or a JSON object '
        '`{"serials": [...]}` of strings or of such objects, at most 16 MiB. Attributes: at '
        "most 64, names of letters, digits and _, values strings, numbers or booleans.",
    }
}


class RejectedRow(BaseModel):
    row: int = Field(description="CSV: the data record from 1; JSON lines: the line; JSON: "
                     "the position in `serials` from 1.")  # fmt: skip
    code: Literal["malformed", "duplicate_in_list", "already_registered"]
    detail: str


class RegistrationReport(BaseModel):
    registered: int = Field(description="Serials registered by this call.")
    accepted: int = Field(description="The same as `registered`.")
    rejected: list[RejectedRow]


class ImportRefusedProblem(s.Problem):
    rejected: list[RejectedRow]


class RegistrationUpdate(s.Body):
    """One of the two (§5.1 names `enabled`)."""

    enabled: bool | None = None
    disabled: bool | None = None


async def _json_list(request: Request) -> BinaryIO:
    """§5.1's ``{"serials": [...]}`` as JSON lines, one item a line (so its position is its
    row), a string item standing for ``{"serial": it}``."""
    body = await read_body(request, MAX_JSON_BYTES)
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"The body is not JSON: {exc}.", fields={"body": "not JSON"}) from None
    serials = found.get("serials") if isinstance(found, dict) else None
    if not isinstance(serials, list) or set(found) != {"serials"}:
        raise Invalid(
            'The body is {"serials": [...]}: a list of serials, or of {"serial", "attributes"}.',
            fields={"serials": "a list"},
        )
    spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))  # noqa: SIM115
    for item in serials:
        line = {"serial": item} if isinstance(item, str) else item
        spool.write(json.dumps(line).encode() + b"\n")
    spool.seek(0)
    return spool


@router.post(
    "/{group}/registrations",
    response_model=RegistrationReport,
    openapi_extra=LIST_BODY,
    responses={
        **TOO_LARGE_RESPONSES,
        415: {
            "description": "The body is neither text/csv, application/x-ndjson nor JSON",
            "content": {PROBLEM_TYPE: {"schema": s.Problem.model_json_schema()}},
        },
        422: {
            "description": "The list cannot be read (malformed), or rows were rejected in "
            "mode all (import_refused: nothing registered, every rejected row listed)",
            "model": ImportRefusedProblem,
            "content": {PROBLEM_TYPE: {"schema": ImportRefusedProblem.model_json_schema()}},
        },
    },
)
async def register_serials(
    group: PathId,
    request: Request,
    svc: Svc,
    actor: CurrentActor,
    mode: Annotated[
        ImportMode, Query(description="`all`: every row or none; `valid`: the valid rows.")
    ] = ImportMode.ALL,
) -> StreamingResponse:
    """D3: every row is checked first (`malformed`, `duplicate_in_list`,
    `already_registered`), then the valid serials are registered, enabled, in one
    transaction. In mode `all` one rejected row registers nothing (422 `import_refused`
    listing them). Members who manage provisioning (Administrators, IoT Managers) register
    (403 otherwise); 404 for a group not of your organization. Running the same list
    again is safe: serials registered already are reported `already_registered`."""
    sent_as = media_type(request)
    if sent_as == JSON:
        list_format = ListFormat.JSONL
        source = await _json_list(request)
    else:
        found_format = FORMATS.get(sent_as)
        if found_format is None:
            raise HTTPException(
                415, "Send the list as text/csv, application/x-ndjson or application/json."
            )
        list_format = found_format
        source = await spooled(request, MAX_LIST_BYTES)
    try:
        report = await run_in_threadpool(
            registrations.register_serials, svc, actor, group, source, format=list_format,
            mode=mode,
        )  # fmt: skip
    except RegistrationImportRefused as error:
        head = {
            "type": f"urn:onboard:problem:{error.code}", "title": error.title, "status": 422,
            "detail": error.detail, "code": error.code,
        }  # fmt: skip
        return StreamingResponse(
            report_body(error.report, head), status_code=422, media_type=PROBLEM_TYPE
        )
    finally:
        source.close()
    head = {"registered": report.accepted, "accepted": report.accepted}
    return StreamingResponse(report_body(report, head), media_type=JSON)


@router.get("/{group}/registrations", response_model=s.PageOf[RegistrationPublic])
def list_registrations(
    group: PathId, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[RegistrationPublic]:
    """D3: the group's registrations in the order of their serials."""
    page = registrations.list_registrations(svc, actor, group, paging)
    return s.PageOf(
        items=[present.registration(r) for r in page.items], next_cursor=next_cursor(page)
    )


# A serial may hold "/" (sent percent-encoded): the path parameter takes the rest of the path.
@router.patch("/{group}/registrations/{serial:path}", response_model=RegistrationPublic)
def update_registration(
    group: PathId, serial: SerialPath, body: RegistrationUpdate, svc: Svc, actor: CurrentActor
) -> RegistrationPublic:
    """D4: disable one registration (`{"enabled": false}` or `{"disabled": true}`): its
    device's activation is then refused `registration_disabled`, the group and its other
    devices untouched; or enable it again. 404 for a serial not registered in the group."""
    wanted = {body.disabled, None if body.enabled is None else not body.enabled} - {None}
    if len(wanted) != 1:
        raise Invalid(
            "Give enabled or disabled (one of them, or both agreeing).",
            fields={"enabled": "a boolean", "disabled": "a boolean"},
        )
    disabled = bool(wanted.pop())
    return present.registration(
        registrations.set_registration_disabled(svc, actor, group, serial, disabled=disabled)
    )
