"""Back-office pages of code batches and label downloads (SPEC A1, A2, A11, issue 5): the
list of batches with their progress, making a batch, a batch's page with its progress and
the form that prints its labels (a PDF on label stock, ZPL or CSV, streamed as a
download), and one code's label as SVG, PNG or PDF."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import Form, Request, Response
from fastapi.responses import StreamingResponse

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.adapters.labels.single import INSTRUCTION
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.domain.access import Actor, Permission
from onboard.domain.errors import BatchNumberTaken, Conflict, DepartmentForbidden, Invalid
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.labels import (
    MAX_INSTRUCTION,
    MEDIA_TYPES,
    BatchFormat,
    CodeFormat,
    LabelOptions,
    batch_filename,
    clean_instruction,
    code_label,
    download_run,
)
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor, Text, with_query
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import batches
from onboard.services.batches import BatchView
from onboard.services.common import not_found
from onboard.services.ports import Services

router = web_router()

# The back office makes batches of up to this many codes; the command line and the API
# make them up to a million (MAX_BATCH_SIZE).
MAX_BATCH_HERE = 100_000
LARGER_BATCHES = "onboard codes create --count N --batch B"

_FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)

Choice = Annotated[str, Form(max_length=40)]
Ticked = Annotated[str, Form(max_length=10)]

FORMATS: tuple[tuple[str, str, str], ...] = (
    (BatchFormat.PDF.value, "PDF", "a vector PDF on the label stock below, for office printers"),
    (BatchFormat.ZPL.value, "ZPL", "for Zebra thermal printers; the printer draws the QR"),
    (BatchFormat.CSV.value, "CSV", "token, URL and batch of each code, for a print shop"),
)
ERROR_LEVELS: tuple[tuple[str, str], ...] = (
    (ErrorCorrection.L.value, "L, 7 %"),
    (ErrorCorrection.M.value, "M, 15 %"),
    (ErrorCorrection.Q.value, "Q, 25 %"),
    (ErrorCorrection.H.value, "H, 30 %"),
)


def _batch_path(view: BatchView) -> str:
    return f"/batches/{view.batch.id}"


def _download(content: bytes | Iterator[bytes], kind: str, filename: str) -> Response:
    """A file the browser saves rather than shows: never sniffed, framed or cached."""
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "Cache-Control": "no-store",
    }
    if isinstance(content, bytes):
        return Response(content, media_type=MEDIA_TYPES[kind], headers=headers)
    return StreamingResponse(content, media_type=MEDIA_TYPES[kind], headers=headers)


# --- the list -----------------------------------------------------------------------------


@router.get("/batches")
def list_(request: Request, svc: Svc, actor: MemberActor, paging: Cursor) -> Response:
    """The organization's batches, newest first, each with how far its codes have come."""
    page = batches.list_batches(svc, actor, paging)
    return render(
        request,
        "batches/list.html",
        {
            "area": "batches",
            "page": page,
            "paged": paging.after is not None,
            "can_manage": actor.can(Permission.MANAGE_CODES),
        },
    )


# --- making a batch -----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchDraft:
    """The new-batch form as sent, to show again after a refusal."""

    count: str = ""
    number: str = ""
    name: str = ""
    label: str = ""
    pin: str = ""
    chosen: tuple[str, ...] = ()


def _count(raw: str) -> int:
    """How many codes: a whole number the back office makes at once."""
    try:
        count = int(raw.strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_BATCH_HERE:
        raise Invalid(
            f"A batch made here holds 1 to {MAX_BATCH_HERE:,} codes; make larger ones (up "
            f"to a million) with the command line ({LARGER_BATCHES}) or the API.",
            fields={"count": f"a whole number from 1 to {MAX_BATCH_HERE:,}"},
        )
    return count


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    draft: BatchDraft,
    *,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "batches/new.html",
        {
            "area": "batches",
            "draft": draft,
            "departments": all_departments(svc, actor),
            "max_batch": MAX_BATCH_HERE,
            "larger_batches": LARGER_BATCHES,
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/batches/new")
def new_form(request: Request, svc: Svc, actor: MemberActor) -> Response:
    actor.require(Permission.MANAGE_CODES)
    return _new_form(request, svc, actor, BatchDraft())


def _creation_errors(error: Exception) -> FormErrors:
    """The batch number is the batch's ``number`` here and a code's ``batch`` to the
    rules; a number in use is said next to its field."""
    if isinstance(error, BatchNumberTaken):
        return FormErrors(error.detail, {"number": "in use by another batch"})
    assert isinstance(error, _FORM_ERRORS)
    return form_errors(error, fields={"batch": "number"})


@router.post("/batches")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    count: Text = "",
    number: Text = "",
    name: Text = "",
    label: Text = "",
    pin: Text = "",
    departments: Choices = None,
) -> Response:
    """Make a numbered batch of unpaired codes in one transaction; without a number it gets
    the next automatic one (B0001, ...), and with a PIN every code opens with it (A11)."""
    http.check_csrf(request, csrf)
    chosen = [d for d in departments or [] if d]
    try:
        made = batches.create_batch(
            svc,
            actor,
            count=_count(count),
            number=number.strip() or None,
            name=name or None,
            label=label or None,
            departments=chosen or None,
            pin=pin.strip() or None,
            maximum=MAX_BATCH_HERE,
        )
    except _FORM_ERRORS as error:
        draft = BatchDraft(count, number, name, label, pin, tuple(chosen))
        return _new_form(
            request, svc, actor, draft, errors=_creation_errors(error), status=status_of(error)
        )
    created = made.progress.codes
    return redirect(
        request,
        _batch_path(made),
        notice=f"Batch {made.batch.number} created with {created:,} code"
        f"{'' if created == 1 else 's'}.",
    )


# --- a batch and its labels ---------------------------------------------------------------


@dataclass(frozen=True)
class PrintForm:
    """The print form as sent: what the labels become and what they show."""

    format: str = BatchFormat.PDF.value
    layout: str = StockName.A4_24.value
    error: str = ErrorCorrection.M.value
    organization: bool = True
    instruction: str = INSTRUCTION
    unprinted: bool = False

    def parsed(self) -> tuple[BatchFormat, LabelOptions]:
        """The output and its options; every choice not offered is named at once."""
        problems: dict[str, str] = {}
        kind = _pick(
            BatchFormat, self.format.lower(), "format", "choose one of the formats", problems
        )
        stock = _pick(StockName, self.layout, "layout", "choose one of the label stocks", problems)
        level = _pick(
            ErrorCorrection, self.error.upper(), "error", "choose one of the levels", problems
        )
        if len(" ".join(self.instruction.split())) > MAX_INSTRUCTION:
            problems["instruction"] = f"at most {MAX_INSTRUCTION} characters"
        if kind is None or stock is None or level is None or problems:
            raise Invalid("Some choices of the print form are not possible.", fields=problems)
        options = LabelOptions(stock, level, self.organization, clean_instruction(self.instruction))
        return kind, options


Offered = TypeVar("Offered", bound=StrEnum)


def _pick(
    kind: type[Offered], raw: str, field: str, problem: str, problems: dict[str, str]
) -> Offered | None:
    """The choice as one of those offered; otherwise None, and the field's problem noted."""
    try:
        return kind(raw.strip())
    except ValueError:
        problems[field] = problem
        return None


def _detail(
    request: Request,
    actor: Actor,
    view: BatchView,
    *,
    form: PrintForm | None = None,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "batches/detail.html",
        {
            "area": "batches",
            "batch": view.batch,
            "progress": view.progress,
            "codes_url": with_query("/codes", batch=view.batch.number),
            "can_print": actor.can(Permission.MANAGE_CODES),
            "form": form or PrintForm(),
            "formats": FORMATS,
            "stocks": list(STOCKS.values()),
            "error_levels": ERROR_LEVELS,
            "max_instruction": MAX_INSTRUCTION,
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/batches/{batch_id}")
def detail(request: Request, svc: Svc, actor: MemberActor, batch_id: str) -> Response:
    """A batch: its facts, how many of its codes are printed and paired, and the print
    form for those who manage codes."""
    return _detail(request, actor, batches.get_batch(svc, actor, batch_id))


@router.post("/batches/{batch_id}/labels")
def print_labels(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    batch_id: str,
    csrf: CsrfField = "",
    output: Annotated[str, Form(alias="format", max_length=40)] = BatchFormat.PDF.value,
    layout: Choice = StockName.A4_24.value,
    error: Choice = ErrorCorrection.M.value,
    organization: Ticked = "",
    instruction: Text = "",
    unprinted: Ticked = "",
) -> Response:
    """The batch's labels as a download, written while they are sent (constant memory).
    Its codes count as printed only once the whole file was written; a refused choice
    shows the page again with the reason next to the field, and nothing is printed."""
    http.check_csrf(request, csrf)
    view = batches.get_batch(svc, actor, batch_id)
    actor.require(Permission.MANAGE_CODES)
    form = PrintForm(output, layout, error, bool(organization), instruction, bool(unprinted))
    try:
        kind, options = form.parsed()
        run = batches.start_print(svc, actor, view.batch.id, unprinted_only=form.unprinted)
        if run.total == 0:
            raise Invalid(
                "Every code of this batch you can see has been printed already; untick "
                "“Only codes not printed yet” to print them again."
                if form.unprinted
                else "This batch has no codes you can see to print.",
                fields={"unprinted": "nothing left to print"} if form.unprinted else {},
            )
    except Invalid as refused:
        return _detail(request, actor, view, form=form, errors=form_errors(refused), status=422)

    filename = batch_filename(view.batch.number, kind, options)
    return _download(download_run(svc, run, kind, options), kind.value, filename)


@router.get("/codes/{token}/label.{kind}")
def download_code_label(
    request: Request, svc: Svc, actor: MemberActor, token: str, kind: str
) -> Response:
    """One code's label, to print or reprint it on its own: the size of a label of A4
    24-up stock, error correction M."""
    text = batches.code_label(svc, actor, token)
    try:
        chosen = CodeFormat(kind.lower())
    except ValueError:
        raise not_found("label format", kind) from None
    options = LabelOptions(layout=StockName.A4_24, error=ErrorCorrection.M)
    content = code_label(text, chosen, options)
    return _download(content, chosen.value, f"label-{text.token}.{chosen.value}")
