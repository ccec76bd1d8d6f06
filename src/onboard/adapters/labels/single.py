"""One code's label as SVG, PNG or PDF: the QR with its quiet zone on the left, and on the
right the token as printed under the sticker, the batch number, the organization and a
one-line instruction. One layout, measured once, drawn by each format."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from onboard.adapters.labels.symbol import ErrorCorrection, Symbol, code_symbol

MM_PER_PT = 25.4 / 72
MARGIN_MM = 1.5
GAP_MM = 2.0
LINE_GAP = 1.35  # line height as a multiple of the font size
INSTRUCTION = "Scan for service and information"


@dataclass(frozen=True)
class Label:
    """What one label shows (issue 5): the URL is what the QR holds."""

    url: str
    token: str
    batch: str | None = None
    organization: str | None = None
    instruction: str | None = INSTRUCTION


@dataclass(frozen=True)
class Line:
    """A line of text: baseline position in mm from the label's top left, size in points."""

    text: str
    x: float
    y: float
    size: float
    mono: bool


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    symbol: Symbol
    qr_x: float
    qr_y: float
    qr_side: float
    lines: tuple[Line, ...]

    @property
    def module(self) -> float:
        return self.qr_side / self.symbol.size


_local = threading.local()


def _measure() -> FPDF:
    """A document only for measuring text with the core fonts' metrics, one per thread
    (measuring sets its font), made once rather than per label."""
    found: FPDF | None = getattr(_local, "measure", None)
    if found is None:
        found = _local.measure = FPDF(unit="mm")
    return found


def _printable(text: str) -> str:
    """PDF core fonts know Latin-1 only; anything else prints as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


SMALLEST_PT = 4.0  # below this a printed line is no longer legible


@lru_cache(maxsize=1024)
def _fitted(text: str, *, mono: bool, largest: float, width: float) -> tuple[str, float]:
    """``text`` at the largest font size up to ``largest`` at which it fits ``width`` mm;
    what does not fit even at the smallest size is cut short with "...". Remembered: the
    batch, organization and instruction lines are the same on every label of a run."""
    measure = _measure()
    measure.set_font("Courier" if mono else "Helvetica", "B" if mono else "", largest)
    wide = measure.get_string_width(text)
    if wide <= width:
        return text, largest
    size = largest * width / wide
    if size >= SMALLEST_PT:
        return text, size
    measure.set_font_size(SMALLEST_PT)
    while text and measure.get_string_width(text.rstrip() + "...") > width:
        text = text[:-1]
    return text.rstrip() + "...", SMALLEST_PT


def layout(
    label: Label,
    *,
    width: float = 50.0,
    height: float = 30.0,
    error: ErrorCorrection = ErrorCorrection.M,
) -> Layout:
    """Where everything goes on a label ``width`` by ``height`` mm."""
    symbol = code_symbol(label.url, error)
    side = min(height, width) - 2 * MARGIN_MM
    text_x = MARGIN_MM + side + GAP_MM
    text_width = width - text_x - MARGIN_MM
    wanted = [(_printable(label.token), True, 9.0)]
    for extra in (
        f"Batch {label.batch}" if label.batch else None,
        label.organization,
        label.instruction,
    ):
        if extra:
            wanted.append((_printable(extra.strip()), False, 6.5))
    lines: list[Line] = []
    y = MARGIN_MM + 1.0
    for text, mono, largest in wanted:
        text, size = _fitted(text, mono=mono, largest=largest, width=text_width)
        y += size * MM_PER_PT * (LINE_GAP if lines else 1.0)
        lines.append(Line(text, text_x, y, size, mono))
    return Layout(width, height, symbol, MARGIN_MM, (height - side) / 2, side, tuple(lines))


def _svg_text(line: Line) -> str:
    family = "Courier, monospace" if line.mono else "Helvetica, Arial, sans-serif"
    weight = ' font-weight="bold"' if line.mono else ""
    return (
        f'<text x="{line.x:.2f}" y="{line.y:.2f}" font-size="{line.size * MM_PER_PT:.3f}" '
        f'font-family="{family}"{weight}>{escape(line.text)}</text>'
    )


def label_svg(shown: Layout) -> str:
    """The label as an SVG document in millimetres: the QR as one path of module runs."""
    m = shown.module
    path = "".join(
        f"M{shown.qr_x + x * m:.3f} {shown.qr_y + y * m:.3f}h{n * m:.3f}v{m:.3f}h{-n * m:.3f}z"
        for x, y, n in shown.symbol.dark_runs()
    )
    texts = "".join(_svg_text(line) for line in shown.lines)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{shown.width}mm" '
        f'height="{shown.height}mm" viewBox="0 0 {shown.width} {shown.height}">'
        f"<title>{escape(shown.symbol.payload)}</title>"
        f'<rect width="{shown.width}" height="{shown.height}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/>{texts}</svg>'
    )


def draw_pdf(pdf: FPDF, shown: Layout, *, left: float = 0.0, top: float = 0.0) -> None:
    """Draw the label at (``left``, ``top``) mm on the current page of ``pdf``: vector
    rectangles for the QR, core fonts for the text."""
    m = shown.module
    pdf.set_fill_color(0, 0, 0)
    for x, y, n in shown.symbol.dark_runs():
        pdf.rect(left + shown.qr_x + x * m, top + shown.qr_y + y * m, n * m, m, style="F")
    for line in shown.lines:
        pdf.set_font("Courier" if line.mono else "Helvetica", "B" if line.mono else "", line.size)
        pdf.text(left + line.x, top + line.y, line.text)


def label_pdf(shown: Layout) -> bytes:
    """The label as a one-page PDF of exactly its size."""
    pdf = FPDF(unit="mm", format=(shown.width, shown.height))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.add_page()
    draw_pdf(pdf, shown)
    return bytes(pdf.output())


def label_png(shown: Layout, *, dpi: int = 300) -> bytes:
    """The label as a PNG at ``dpi``; QR modules land on whole pixels so that every module
    has the same size."""
    px = dpi / 25.4
    module = max(1, round(shown.module * px))
    image = Image.new("L", (round(shown.width * px), round(shown.height * px)), 255)
    draw = ImageDraw.Draw(image)
    left, top = round(shown.qr_x * px), round(shown.qr_y * px)
    for x, y, n in shown.symbol.dark_runs():
        x0, y0 = left + x * module, top + y * module
        draw.rectangle((x0, y0, x0 + n * module - 1, y0 + module - 1), fill=0)
    text_left = left + shown.symbol.size * module + round(GAP_MM * px)
    room = image.width - text_left - round(MARGIN_MM * px)
    for line in shown.lines:
        size = line.size * MM_PER_PT * px
        font = ImageFont.load_default(size=size)
        wide = font.getlength(line.text)
        if wide > room:
            font = ImageFont.load_default(size=size * room / wide)
        draw.text((text_left, round(line.y * px)), line.text, fill=0, font=font, anchor="ls")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()
