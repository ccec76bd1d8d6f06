"""Pictures the browser tests hand to the pages: a plain image, and a QR code as a camera
or a phone's photo sees it."""

from __future__ import annotations

import io

import segno
from PIL import Image


def png(color: str = "#2f7d4f", size: tuple[int, int] = (80, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def qr_picture(text: str, *, size: tuple[int, int] = (640, 480)) -> bytes:
    """``text`` as a QR code on white with a margin, as a camera or a phone's photo sees it."""
    symbol = io.BytesIO()
    segno.make_qr(text, error="m").save(symbol, kind="png", scale=8, border=4)
    qr = Image.open(symbol).convert("RGB")
    picture = Image.new("RGB", size, "white")
    picture.paste(qr, ((size[0] - qr.width) // 2, (size[1] - qr.height) // 2))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()
