"""QR codes in and out: draw a code's URL as SVG and read codes from a photo or a camera
frame, both with zxing-cpp, for the pages that show a sticker and the mobile scanner."""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from onboard.adapters.labels.symbol import ErrorCorrection, code_symbol, symbol_svg

# A phone camera frame is a few megapixels at most; a larger picture is scaled down first
# (decoding time grows with the area, and a QR fills much of a frame held up to it).
MAX_DECODE_SIDE = 1600


def qr_svg(url: str, *, scale: int = 4, title: str | None = None) -> str:
    """A code's (or pairing code's) URL as an inline SVG QR code with its 4-module quiet
    zone: the same symbol its printed label carries, the uppercase URL in alphanumeric
    mode at the smallest version, error correction M (A2)."""
    return symbol_svg(code_symbol(url, ErrorCorrection.M), scale=scale, title=title)


def read_qr_codes(content: bytes) -> list[str]:
    """The texts of the QR codes in a picture (JPEG, PNG, WebP), best first; empty when
    none is found or the bytes are not a picture."""
    try:
        # Pillow warns about, then refuses, pictures of absurd size ("decompression bombs"):
        # both are refusals here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            image.draft("L", (MAX_DECODE_SIDE, MAX_DECODE_SIDE))
            picture = image.convert("L")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return []
    if max(picture.size) > MAX_DECODE_SIDE:
        picture.thumbnail((MAX_DECODE_SIDE, MAX_DECODE_SIDE))
    found = zxingcpp.read_barcodes(
        picture, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [barcode.text for barcode in found if barcode.valid and barcode.text]
