"""/api/v1/batches: numbered runs of codes, their progress, and their labels printed as a
PDF on label stock, ZPL or CSV, streamed (SPEC A1, A2, A11, P5, issue 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from onboard.adapters.labels.sheets import StockName
from onboard.adapters.labels.single import INSTRUCTION
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.domain.batches import MAX_BATCH_SIZE, MAX_NAME_LENGTH
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.labels import (
    MAX_INSTRUCTION,
    MEDIA_TYPES,
    BatchFormat,
    LabelOptions,
    batch_filename,
    clean_instruction,
    download_run,
)
from onboard.services import batches

router = APIRouter(prefix="/batches", tags=["batches"])


class BatchCreate(s.Body):
    count: int = Field(ge=1, le=MAX_BATCH_SIZE, description="How many codes the batch holds.")
    number: s.Batch | None = Field(
        None, description="The batch number printed on its labels; default: the next B0001, ..."
    )
    name: Annotated[str, Field(max_length=MAX_NAME_LENGTH, pattern=s.NO_NUL)] | None = None
    label: s.Label | None = Field(None, description="The label text of every code (A1).")
    departments: s.DepartmentIds | None = Field(
        None, description="The codes' departments; default: your own (P5)."
    )
    pin: s.Pin | None = Field(None, description="The PIN every code of the batch opens with (A11).")


class ProgressPublic(BaseModel):
    codes: int
    printed: int = Field(description="Codes whose label was printed in a complete print run.")
    paired: int


class BatchPublic(BaseModel):
    """A batch and how far the codes you see (P5) have come."""

    id: str
    number: str
    name: str | None
    pin_protected: bool
    created_at: datetime
    progress: ProgressPublic


Instruction = Annotated[str, Field(max_length=MAX_INSTRUCTION, pattern=s.NO_NUL)]


class LabelsRequest(s.Body):
    """How a batch's labels are printed."""

    format: BatchFormat = Field(
        BatchFormat.PDF,
        description="pdf on label stock, zpl for Zebra printers, csv for print shops.",
    )
    layout: StockName = Field(StockName.A4_24, description="The label stock (and label size).")
    error: ErrorCorrection = Field(ErrorCorrection.M, description="The QR's error correction.")
    organization: bool = Field(True, description="Print the organization's name on each label.")
    instruction: Instruction | None = Field(
        INSTRUCTION, description="The one-line instruction under the QR; null or blank: none."
    )
    unprinted_only: bool = Field(
        False, description="Only the codes never printed (after a printer jam, say)."
    )


def _answer(view: batches.BatchView) -> BatchPublic:
    progress = view.progress
    return BatchPublic(
        id=view.batch.id,
        number=view.batch.number,
        name=view.batch.name,
        pin_protected=view.batch.pin_protected,
        created_at=view.batch.created_at,
        progress=ProgressPublic(
            codes=progress.codes, printed=progress.printed, paired=progress.paired
        ),
    )


DEFAULT_LABELS = LabelsRequest()
_BINARY = {"type": "string", "format": "binary"}
LABEL_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The labels, streamed as they are made; the codes count as printed "
        "once the whole file was written.",
        "content": {
            MEDIA_TYPES["pdf"]: {"schema": _BINARY},
            MEDIA_TYPES["zpl"]: {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post("", status_code=201, response_model=BatchPublic)
def create(body: BatchCreate, svc: Svc, actor: CurrentActor) -> BatchPublic:
    """``count`` new unpaired codes in one transaction: all of them, or none. 409
    ``batch_number_taken`` when another batch has the number."""
    made = batches.create_batch(
        svc, actor, count=body.count, number=body.number, name=body.name, label=body.label,
        departments=body.departments, pin=body.pin,
    )  # fmt: skip
    return _answer(made)


@router.get("", response_model=s.PageOf[BatchPublic])
def list_(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[BatchPublic]:
    """Newest first."""
    page = batches.list_batches(svc, actor, paging)
    return s.PageOf(items=[_answer(v) for v in page.items], next_cursor=next_cursor(page))


@router.get("/{batch_id}", response_model=BatchPublic)
def get(batch_id: PathId, svc: Svc, actor: CurrentActor) -> BatchPublic:
    return _answer(batches.get_batch(svc, actor, batch_id))


@router.post("/{batch_id}/labels", response_class=StreamingResponse, responses=LABEL_FILES)
def labels(
    batch_id: PathId, svc: Svc, actor: CurrentActor, body: LabelsRequest = DEFAULT_LABELS
) -> StreamingResponse:
    """The labels of the batch's codes you see (P5), in creation order, as a download made
    while it is sent, in constant memory. Those who only read (viewers) get 403."""
    options = LabelOptions(
        layout=body.layout,
        error=body.error,
        organization=body.organization,
        instruction=clean_instruction(body.instruction),
    )
    kind = body.format
    # Started here, so that a batch not found or not allowed is an ordinary error answer.
    run = batches.start_print(svc, actor, batch_id, unprinted_only=body.unprinted_only)

    filename = batch_filename(run.view.batch.number, kind, options)
    return StreamingResponse(
        download_run(svc, run, kind, options),
        media_type=MEDIA_TYPES[kind.value],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
