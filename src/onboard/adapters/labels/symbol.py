"""The QR symbol of a code's URL (A2): the uppercase URL in alphanumeric mode, at the
smallest version that holds it, with exactly the error-correction level asked for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from xml.sax.saxutils import escape

import zxingcpp

QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires


class ErrorCorrection(StrEnum):
    """How much of the symbol may be damaged and still read: L 7 %, M 15 %, Q 25 %, H 30 %."""

    L = "L"
    M = "M"
    Q = "Q"
    H = "H"


@dataclass(frozen=True)
class Symbol:
    """The modules of a QR symbol with its quiet zone, one byte each row by row (0 dark,
    255 light), as zxing-cpp draws them."""

    payload: str
    version: int
    error: ErrorCorrection
    size: int
    """Modules per side, quiet zone included."""
    modules: bytes

    @property
    def rows(self) -> tuple[tuple[bool, ...], ...]:
        """``rows[y][x]`` is True for a dark module."""
        return tuple(
            tuple(m == 0 for m in self.modules[y * self.size : (y + 1) * self.size])
            for y in range(self.size)
        )

    def dark_runs(self) -> list[tuple[int, int, int]]:
        """The dark modules as horizontal runs ``(x, y, length)``: a few hundred shapes
        instead of a rectangle per module keep vector output small."""
        size = self.size
        return [
            (run.start() - y * size, y, run.end() - run.start())
            for y in range(size)
            for run in _DARK.finditer(self.modules, y * size, (y + 1) * size)
        ]


_DARK = re.compile(b"\x00+")


def symbol_svg(symbol: Symbol, *, scale: int = 4, title: str | None = None) -> str:
    """The symbol alone as an inline SVG, ``scale`` pixels a module, quiet zone included:
    one path of module runs, no inline style (the pages' Content-Security-Policy)."""
    path = "".join(f"M{x} {y}h{n}v1h{-n}z" for x, y, n in symbol.dark_runs())
    side = symbol.size * scale
    heading = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {symbol.size} {symbol.size}" shape-rendering="crispEdges">{heading}'
        f'<rect width="{symbol.size}" height="{symbol.size}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


def code_symbol(url: str, error: ErrorCorrection = ErrorCorrection.M) -> Symbol:
    """The symbol of a code URL. Uppercasing keeps the URL valid (the server resolves
    tokens and the path case-insensitively, A2) and lets the whole payload use the
    alphanumeric mode, which needs a smaller symbol than bytes. zxing-cpp's encoder picks
    that mode and the smallest version, and keeps the level it is given; it encodes a
    symbol in well under a millisecond, where a pure-Python encoder takes several (a
    million labels is a batch people print)."""
    payload = url.upper()
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=error.value)
    image = barcode.to_image(scale=1, add_quiet_zones=True)
    side = image.shape[0]
    modules = bytes(memoryview(image))  # type: ignore[arg-type]  # Image is a buffer
    if side - 2 * QUIET_ZONE < 21 or len(modules) != side * side:
        raise ValueError(f"zxing-cpp drew no QR symbol for {payload!r}")
    return Symbol(payload, (side - 2 * QUIET_ZONE - 17) // 4, error, side, modules)
