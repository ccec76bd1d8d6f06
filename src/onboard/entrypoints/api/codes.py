"""/api/v1/codes: QR access codes, pairing from the code's side, notifications (SPEC A1,
A2, A5-A11, A13, A16)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from onboard.adapters.labels.sheets import StockName
from onboard.adapters.labels.single import INSTRUCTION
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.domain.access import Actor
from onboard.domain.codes import Code
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.devices import device_input
from onboard.entrypoints.api.schemas import NO_NUL
from onboard.entrypoints.labels import (
    MAX_INSTRUCTION,
    MEDIA_TYPES,
    CodeFormat,
    LabelOptions,
    clean_instruction,
    code_label,
)
from onboard.services import batches, codes, pairing
from onboard.services.ports import CodeFilter, Services

router = APIRouter(prefix="/codes", tags=["codes"])

Token = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="The code's token, in any letter case (A2).",
    ),
]
TextFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)]
_BINARY = {"type": "string", "format": "binary"}
LABEL_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The code's label, the size of one label of the chosen stock",
        "content": {
            MEDIA_TYPES["svg"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["png"]: {"schema": _BINARY},
            MEDIA_TYPES["pdf"]: {"schema": _BINARY},
        },
    }
}


def answers(svc: Services, actor: Actor, found: Sequence[Code]) -> list[s.CodePublic]:
    """Codes with their effective departments (A8), read in one query for the page."""
    departments = codes.effective_departments(svc, found)
    return [
        present.code(
            code, public_url=svc.public_url, departments=departments[code.id], seen_by=actor
        )
        for code in found
    ]


def answer(svc: Services, actor: Actor, code: Code) -> s.CodePublic:
    (one,) = answers(svc, actor, [code])
    return one


@router.post(
    "",
    status_code=201,
    response_model=s.CodePublic | s.CodeBatchPublic,
    responses={201: {"description": "One code, or {items: [...]} when count > 1"}},
)
def create(body: s.CodeCreate, svc: Svc, actor: CurrentActor) -> s.CodePublic | s.CodeBatchPublic:
    """Create unpaired codes in one transaction; a batch shares its label and PIN."""
    created = codes.create_codes(
        svc, actor, count=body.count, batch=body.batch, label=body.label,
        departments=body.departments, pin=body.pin,
    )  # fmt: skip
    if body.count == 1:
        return answer(svc, actor, created[0])
    return s.CodeBatchPublic(items=answers(svc, actor, created))


@router.get("", response_model=s.PageOf[s.CodePublic])
def list_(
    svc: Svc,
    actor: CurrentActor,
    paging: Paging,
    paired: bool | None = None,
    active: bool | None = None,
    pin: Annotated[bool | None, Query(description="true: only PIN-protected codes")] = None,
    printed: Annotated[
        bool | None, Query(description="true: only codes whose label was printed (issue 5)")
    ] = None,
    department: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=NO_NUL, description="Effective (A8)"),
    ] = None,
    batch: TextFilter = None,
    q: TextFilter = None,
) -> s.PageOf[s.CodePublic]:
    """A16: filters combine; ``q`` searches token, label and batch."""
    filters = CodeFilter(
        paired=paired, active=active, pin=pin, printed=printed, department=department,
        batch=batch, q=q,
    )  # fmt: skip
    page = codes.list_codes(svc, actor, filters, paging)
    return s.PageOf(items=answers(svc, actor, page.items), next_cursor=next_cursor(page))


@router.get("/{token}", response_model=s.CodePublic)
def get(token: Token, svc: Svc, actor: CurrentActor) -> s.CodePublic:
    return answer(svc, actor, codes.get_code(svc, actor, token))


@router.get("/{token}/label", response_class=Response, responses=LABEL_FILE)
def label(
    token: Token,
    svc: Svc,
    actor: CurrentActor,
    format: CodeFormat = CodeFormat.SVG,
    layout: Annotated[StockName, Query(description="Its size: one label of this stock")] = (
        StockName.A4_24
    ),
    error: Annotated[ErrorCorrection, Query(description="The QR's error correction")] = (
        ErrorCorrection.M
    ),
    organization: Annotated[bool, Query(description="Print the organization's name")] = True,
    instruction: Annotated[
        str,
        Query(
            max_length=MAX_INSTRUCTION,
            pattern=NO_NUL,
            description="The line under the QR; empty for none",
        ),
    ] = INSTRUCTION,
) -> Response:
    """One code's label, to print or reprint it on its own (issue 5): its QR holds the
    uppercase URL (A2), with the token, batch and organization beside it."""
    text = batches.code_label(svc, actor, token)
    options = LabelOptions(
        layout=layout,
        error=error,
        organization=organization,
        instruction=clean_instruction(instruction),
    )
    return Response(
        code_label(text, format, options),
        media_type=MEDIA_TYPES[format.value],
        headers={
            "Content-Disposition": f'inline; filename="label-{text.token}.{format.value}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.patch("/{token}", response_model=s.CodePublic)
def update(token: Token, body: s.CodeUpdate, svc: Svc, actor: CurrentActor) -> s.CodePublic:
    """Only the fields sent change; ``pin: null`` removes the PIN."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    return answer(svc, actor, codes.update_code(svc, actor, token, changes))


@router.delete("/{token}", status_code=204)
def delete(token: Token, svc: Svc, actor: CurrentActor) -> Response:
    """A5: a paired code is unpaired first; its device stays."""
    codes.delete_code(svc, actor, token)
    return Response(status_code=204)


@router.post("/{token}/pair", response_model=s.CodePublic)
def pair(token: Token, body: s.CodePair, svc: Svc, actor: CurrentActor) -> s.CodePublic:
    """A7 from a code: pair it with an existing device, or with a new one (from a
    template) created in the same transaction. 409 ``code_already_paired`` or
    ``code_deactivated`` when the code cannot be paired (A6)."""
    if body.new_device is not None:
        paired, device = pairing.pair_with_new_device(
            svc, actor, token, device_input(body.new_device)
        )
        return present.code(
            paired, public_url=svc.public_url, departments=device.departments, seen_by=actor
        )
    return answer(svc, actor, pairing.pair_code(svc, actor, token, body.device_id or ""))


@router.post("/{token}/unpair", response_model=s.CodePublic)
def unpair(token: Token, svc: Svc, actor: CurrentActor) -> s.CodePublic:
    """A9: the link goes, with the code's notification history; nothing is deleted."""
    return answer(svc, actor, pairing.unpair_code(svc, actor, token))


@router.get("/{token}/notifications", response_model=s.PageOf[s.NotificationPublic])
def list_notifications(
    token: Token, svc: Svc, actor: CurrentActor, paging: Paging
) -> s.PageOf[s.NotificationPublic]:
    """Newest first."""
    page = codes.list_notifications(svc, actor, token, paging)
    return s.PageOf(
        items=[present.notification(n) for n in page.items], next_cursor=next_cursor(page)
    )


@router.delete("/{token}/notifications", status_code=204)
def delete_notifications(token: Token, svc: Svc, actor: CurrentActor) -> Response:
    """All of the code's notifications; the device keeps its interactions (A13)."""
    codes.delete_notifications(svc, actor, token)
    return Response(status_code=204)


@router.delete("/{token}/notifications/{notification_id}", status_code=204)
def delete_notification(
    token: Token, notification_id: PathId, svc: Svc, actor: CurrentActor
) -> Response:
    codes.delete_notifications(svc, actor, token, notification_id)
    return Response(status_code=204)
