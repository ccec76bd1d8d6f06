"""Labels for the API, the pages and the CLI alike (issue 5): the options a person picks,
one code's label as SVG, PNG or PDF, and a batch's print run written as a PDF on label
stock, ZPL or CSV, either to a file or streamed to an HTTP client in constant memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from onboard.adapters.labels.listing import labels_csv
from onboard.adapters.labels.sheets import STOCKS, Stock, StockName, sheet_pdf
from onboard.adapters.labels.single import (
    INSTRUCTION,
    Label,
    label_pdf,
    label_png,
    label_svg,
    layout,
)
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.adapters.labels.zpl import labels_zpl
from onboard.services.batches import LabelText, PrintRun, finish_print
from onboard.services.ports import Services

MAX_INSTRUCTION = 80


class BatchFormat(StrEnum):
    """What a batch's print run becomes."""

    PDF = "pdf"  # vector PDF on the chosen label stock
    ZPL = "zpl"  # Zebra thermal printers: the printer draws the QR
    CSV = "csv"  # token, URL and batch for a print shop


class CodeFormat(StrEnum):
    """What one code's label becomes."""

    SVG = "svg"
    PNG = "png"
    PDF = "pdf"


MEDIA_TYPES = {
    "pdf": "application/pdf",
    "zpl": "application/vnd.zebra-zpl",
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}


@dataclass(frozen=True)
class LabelOptions:
    """What a label shows and how its QR is made; the stock sets its size."""

    layout: StockName = StockName.A4_24
    error: ErrorCorrection = ErrorCorrection.M
    organization: bool = True
    instruction: str | None = INSTRUCTION

    @property
    def stock(self) -> Stock:
        return STOCKS[self.layout]

    def label(self, text: LabelText) -> Label:
        return Label(
            text.url,
            text.token,
            batch=text.batch,
            organization=text.organization if self.organization else None,
            instruction=self.instruction,
        )


def clean_instruction(raw: str | None) -> str | None:
    """The one-line instruction as typed: blank means none, long ones are cut."""
    if raw is None:
        return None
    line = " ".join(raw.split())[:MAX_INSTRUCTION]
    return line or None


def code_label(text: LabelText, kind: CodeFormat, options: LabelOptions) -> bytes:
    """One code's label at the size of a label of the chosen stock."""
    stock = options.stock
    shown = layout(
        options.label(text),
        width=stock.label_width,
        height=stock.label_height,
        error=options.error,
    )
    if kind is CodeFormat.SVG:
        return label_svg(shown).encode("utf-8")
    if kind is CodeFormat.PNG:
        return label_png(shown)
    return label_pdf(shown)


def batch_filename(number: str, kind: BatchFormat, options: LabelOptions) -> str:
    """A file name a download can carry: the batch number in safe characters."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in number).strip("-") or "batch"
    middle = f"-{options.layout.value}" if kind is BatchFormat.PDF else ""
    return f"labels-{safe}{middle}.{kind.value}"


def write_run(
    run: PrintRun,
    kind: BatchFormat,
    options: LabelOptions,
    out: BinaryIO,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Every label of the run into ``out``; ``on_progress`` hears how many are done from
    time to time. Returns how many labels were written."""
    labels = (options.label(text) for text in run.labels())
    if kind is BatchFormat.PDF:
        return sheet_pdf(labels, options.stock, out, error=options.error, on_page=on_progress)
    stock = options.stock
    chunks: Iterator[str]
    if kind is BatchFormat.ZPL:
        chunks = labels_zpl(
            labels, width=stock.label_width, height=stock.label_height, error=options.error
        )
    else:
        chunks = labels_csv(labels)
    reported = 0
    for chunk in chunks:
        out.write(chunk.encode("utf-8"))
        if on_progress is not None and run.printed - reported >= stock.per_page:
            reported = run.printed
            on_progress(reported)
    if on_progress is not None:
        on_progress(run.printed)
    return run.printed


def download_run(
    svc: Services, run: PrintRun, kind: BatchFormat, options: LabelOptions
) -> Iterator[bytes]:
    """A print run as the body of an HTTP download: drawn while it is sent, and noted as
    printed only once the whole file has gone out."""
    return streamed(
        lambda out: write_run(run, kind, options, out),
        on_complete=lambda: finish_print(svc, run, output=f"{kind.value} {options.layout.value}"),
    )


class _Stopped(Exception):
    """The client went away: the writer stops where it is."""


class _Pipe:
    """The write end the producer thread writes into: full chunks go to a bounded queue,
    so the producer waits while the client is slow and memory stays flat."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None], size: int) -> None:
        self.chunks = chunks
        self.size = size
        self.buffer = bytearray()
        self.stopped = threading.Event()

    def write(self, data: bytes) -> int:
        if self.stopped.is_set():
            raise _Stopped
        self.buffer += data
        if len(self.buffer) >= self.size:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Stopped


def streamed(
    produce: Callable[[BinaryIO], object],
    *,
    on_complete: Callable[[], object] | None = None,
    chunk_size: int = 64 * 1024,
    depth: int = 16,
) -> Iterator[bytes]:
    """The bytes ``produce`` writes to its file, as an iterator an HTTP response can send
    while they are being made. ``produce`` runs in a thread of its own; if the client goes
    away (the iterator is closed), the next write stops it. An error in ``produce`` is
    raised here. ``on_complete`` runs once every chunk has been taken by the response
    (the server has sent all but its own buffer), never for a download cut short."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
    pipe = _Pipe(chunks, chunk_size)

    def run() -> None:
        try:
            produce(pipe)  # type: ignore[arg-type]
            pipe.flush()
            pipe._put(None)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                pipe._put(exc)
            except _Stopped:
                return

    producer = threading.Thread(target=run, name="label-stream", daemon=True)
    producer.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                if on_complete is not None:
                    on_complete()
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        pipe.stopped.set()
        producer.join(timeout=30)
