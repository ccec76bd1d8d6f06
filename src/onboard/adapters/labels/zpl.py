"""Labels for Zebra thermal printers in ZPL II: the printer draws the QR itself (``^BQ``),
from the uppercase URL in alphanumeric mode (A2), with the token and batch beside it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from onboard.adapters.labels.single import Label
from onboard.adapters.labels.symbol import QUIET_ZONE, ErrorCorrection, code_symbol

DOTS_PER_MM = 8  # 203 dpi, the common Zebra print head; 12 for 300 dpi
# ^FH makes "_" the escape of a field: the three characters ZPL reads as commands or as
# that escape are sent as hexadecimal, so no text can end a field or start a command.
_ESCAPED = {"_": "_5F", "^": "_5E", "~": "_7E"}


def _field(text: str) -> str:
    return "".join(_ESCAPED.get(c, c) for c in text)


def label_zpl(
    label: Label,
    *,
    width: float = 50.0,
    height: float = 30.0,
    error: ErrorCorrection = ErrorCorrection.M,
    dots_per_mm: int = DOTS_PER_MM,
) -> str:
    """One label, ``^XA`` … ``^XZ``. The QR's module size is the largest whole number of
    dots at which the symbol and its quiet zone fit the label's height."""
    symbol = code_symbol(label.url, error)
    width_dots, height_dots = round(width * dots_per_mm), round(height * dots_per_mm)
    margin = round(1.5 * dots_per_mm)
    module = max(1, min(10, (height_dots - 2 * margin) // symbol.size))
    quiet = QUIET_ZONE * module
    text_left = margin + symbol.size * module + 2 * dots_per_mm
    lines = [label.token]
    lines += [f"Batch {label.batch}"] if label.batch else []
    lines += [text for text in (label.organization, label.instruction) if text]
    height_of = [round(3.2 * dots_per_mm)] + [round(2.2 * dots_per_mm)] * (len(lines) - 1)
    commands = [
        "^XA",
        "^CI28",  # UTF-8 text
        f"^PW{width_dots}",
        f"^LL{height_dots}",
        # ^BQ draws from its field origin without a quiet zone: leave it around the symbol.
        f"^FO{margin + quiet},{margin + quiet}",
        f"^BQN,2,{module}",
        f"^FH^FD{error.value}M,A{_field(symbol.payload)}^FS",
    ]
    top = margin + quiet
    room = width_dots - text_left - margin
    for text, largest in zip(lines, height_of, strict=True):
        # Font 0 is proportional; capitals and digits take about 0.6 of its height.
        size = max(10, min(largest, int(room / (0.6 * max(1, len(text))))))
        commands.append(
            f"^FO{text_left},{top}^A0N,{size},{size}^FB{room},1,0,L^FH^FD{_field(text)}^FS"
        )
        top += round(size * 1.3)
    commands.append("^XZ")
    return "\n".join(commands) + "\n"


def labels_zpl(
    labels: Iterable[Label],
    *,
    width: float = 50.0,
    height: float = 30.0,
    error: ErrorCorrection = ErrorCorrection.M,
    dots_per_mm: int = DOTS_PER_MM,
) -> Iterator[str]:
    """One ZPL label after another, as a printer takes them: streamed, one at a time."""
    for label in labels:
        yield label_zpl(label, width=width, height=height, error=error, dots_per_mm=dots_per_mm)
