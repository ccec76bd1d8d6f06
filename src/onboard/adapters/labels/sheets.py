"""A batch of labels as one vector PDF on label stock, written page by page to a stream:
memory stays the same for ten labels or a million (issue 5 item 3).

fpdf2 keeps every page in memory until it writes the file, so the sheets have their own
small PDF writer: pages are written as they are filled, and only the byte offset of each
object is kept for the cross-reference table at the end. Text uses the standard
Helvetica and Courier-Bold fonts, which every PDF reader has, so nothing is embedded."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from onboard.adapters.labels.single import MM_PER_PT, Label, Layout, layout
from onboard.adapters.labels.symbol import ErrorCorrection

PT_PER_MM = 1 / MM_PER_PT


class StockName(StrEnum):
    A4_24 = "a4-24"
    A4_65 = "a4-65"
    LETTER_30 = "letter-30"
    ROLL_50X30 = "roll-50x30"
    ROLL_62X29 = "roll-62x29"


@dataclass(frozen=True)
class Stock:
    """Label stock: the page, the label, and the grid the labels sit in (all in mm)."""

    name: StockName
    title: str
    page_width: float
    page_height: float
    label_width: float
    label_height: float
    columns: int = 1
    rows: int = 1
    left: float = 0.0
    top: float = 0.0
    column_gap: float = 0.0
    row_gap: float = 0.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def position(self, index: int) -> tuple[float, float]:
        """Top-left corner of the ``index``-th label of a page, filled row by row."""
        row, column = divmod(index, self.columns)
        return (
            self.left + column * (self.label_width + self.column_gap),
            self.top + row * (self.label_height + self.row_gap),
        )


STOCKS: dict[StockName, Stock] = {
    s.name: s
    for s in (
        # Sheet sizes as the common stock (Avery L7159, L7651, 5160) has them, centred.
        Stock(StockName.A4_24, "A4, 24 labels of 63.5 x 33.9 mm", 210, 297, 63.5, 33.9,
              3, 8, 7.25, 12.9, 2.5),
        Stock(StockName.A4_65, "A4, 65 labels of 38.1 x 21.2 mm", 210, 297, 38.1, 21.2,
              5, 13, 4.75, 10.7, 2.5),
        Stock(StockName.LETTER_30, "US Letter, 30 labels of 2.625 x 1 in", 215.9, 279.4,
              66.675, 25.4, 3, 10, 4.7625, 12.7, 3.175),
        Stock(StockName.ROLL_50X30, "Roll, 50 x 30 mm", 50, 30, 50, 30),
        Stock(StockName.ROLL_62X29, "Roll, 62 x 29 mm", 62, 29, 62, 29),
    )
}  # fmt: skip

_FONTS = b"<< /Font << /F1 4 0 R /F2 5 0 R >> >>"


def _pdf_text(text: str) -> bytes:
    """A PDF string literal in the fonts' Latin-1 encoding."""
    raw = text.encode("latin-1", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _label_content(shown: Layout, left: float, top: float, page_height: float) -> bytes:
    """The drawing operators of one label at (``left``, ``top``) mm from the page's top
    left; PDF measures in points from the bottom left."""
    m = shown.module * PT_PER_MM
    x0 = (left + shown.qr_x) * PT_PER_MM
    y0 = (page_height - top - shown.qr_y) * PT_PER_MM
    # In module units with y downwards (the cm below): whole numbers, quick to write.
    parts = [b"q 0 g %.4f 0 0 %.4f %.3f %.3f cm" % (m, -m, x0, y0)]
    parts += [b"%d %d %d 1 re" % run for run in shown.symbol.dark_runs()]
    parts.append(b"f Q")
    for line in shown.lines:
        font = b"/F2" if line.mono else b"/F1"
        x = (left + line.x) * PT_PER_MM
        y = (page_height - top - line.y) * PT_PER_MM
        parts.append(
            b"BT %s %.2f Tf %.3f %.3f Td %s Tj ET" % (font, line.size, x, y, _pdf_text(line.text))
        )
    return b"\n".join(parts)


class _Writer:
    """Objects out as they are made; their offsets kept for the cross-reference table."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.position = 0
        self.offsets: dict[int, int] = {}

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def add(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.position
        self.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def stream(self, number: int, data: bytes) -> None:
        packed = zlib.compress(data, 6)
        head = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
        self.add(number, head + packed + b"\nendstream")


def sheet_pdf(
    labels: Iterable[Label],
    stock: Stock,
    out: BinaryIO,
    *,
    error: ErrorCorrection = ErrorCorrection.M,
    on_page: Callable[[int], None] | None = None,
) -> int:
    """Write ``labels`` onto ``stock`` as a PDF to ``out``, a page at a time; call
    ``on_page`` with the number of labels done after each page. Returns the label count."""
    pdf = _Writer(out)
    pdf.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    pdf.add(4, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    pdf.add(
        5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>"
    )
    media = b"[0 0 %.3f %.3f]" % (stock.page_width * PT_PER_MM, stock.page_height * PT_PER_MM)
    pages: list[int] = []
    content: list[bytes] = []
    done = 0
    number = 6

    def finish_page() -> None:
        nonlocal number
        pdf.stream(number + 1, b"\n".join(content))
        pdf.add(
            number,
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources %s /Contents %d 0 R >>"
            % (media, _FONTS, number + 1),
        )
        pages.append(number)
        number += 2
        content.clear()
        if on_page is not None:
            on_page(done)

    for label in labels:
        left, top = stock.position(done % stock.per_page)
        shown = layout(label, width=stock.label_width, height=stock.label_height, error=error)
        content.append(_label_content(shown, left, top, stock.page_height))
        done += 1
        if done % stock.per_page == 0:
            finish_page()
    if content or not pages:
        finish_page()
    kids = b" ".join(b"%d 0 R" % p for p in pages)
    pdf.add(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    pdf.add(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    xref = pdf.position
    count = max(pdf.offsets) + 1
    table = [b"xref\n0 %d\n0000000000 65535 f \n" % count]
    table += [
        b"%010d 00000 n \n" % pdf.offsets[n] if n in pdf.offsets else b"0000000000 65535 f \n"
        for n in range(1, count)
    ]
    pdf.write(b"".join(table))
    pdf.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref))
    return done
