"""QR codes in and out (adapters/qr.py): a sticker's URL drawn as SVG in the smallest symbol
(A2), and reading codes from a photo or a camera frame without ever crashing on what a
phone, or anyone else, sends."""

from __future__ import annotations

import io
import re
import struct
import zlib

import segno
from PIL import Image

from onboard.adapters.qr import qr_svg, read_qr_codes

URL = "https://onboard.example.com/c/7K3MQZ9XW2TA5RPD"


def _picture(text: str, *, kind: str = "png", scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind=kind, scale=scale, border=4)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_code_url_drawn_as_a_qr_code_is_read_back_exactly() -> None:
    for text in (URL.upper(), URL, "(01)09506000134352(21)SN-77"):
        assert read_qr_codes(_picture(text)) == [text]


def test_a_camera_frame_as_jpeg_is_read_too() -> None:
    symbol = Image.open(io.BytesIO(_picture(URL.upper(), scale=8))).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(symbol, (120, 60))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=80)

    assert read_qr_codes(buffer.getvalue()) == [URL.upper()]


def test_the_svg_carries_its_title_and_the_smaller_alphanumeric_symbol_of_the_uppercase_url() -> (
    None
):
    drawn = qr_svg(URL, scale=4, title="Code <7K3MQZ9XW2TA5RPD>")

    assert drawn.startswith("<svg")
    assert "<title>Code &lt;7K3MQZ9XW2TA5RPD&gt;</title>" in drawn
    assert "<script" not in drawn
    assert "style=" not in drawn, "no inline style: the pages' CSP forbids it"
    # segno, a second encoder, as the oracle: alphanumeric mode at M, the smallest version.
    oracle = segno.make_qr(URL.upper(), error="m", boost_error=False)
    assert oracle.mode == "alphanumeric"
    assert segno.make_qr(URL, error="m").symbol_size()[0] > oracle.symbol_size()[0]
    width = int(re.findall(r'width="(\d+)"', drawn)[0])
    assert width == oracle.symbol_size(scale=4, border=4)[0]


def test_the_svg_reads_back_as_the_uppercase_url() -> None:
    svg = qr_svg(URL, scale=6)
    # Draw the SVG's module runs as pixels, as a browser would, and decode them.
    size = int(re.findall(r'viewBox="0 0 (\d+) ', svg)[0])
    image = Image.new("L", (size * 6, size * 6), 255)
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        left, top, run = int(x) * 6, int(y) * 6, int(n) * 6
        image.paste(0, (left, top, left + run, top + 6))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")

    assert read_qr_codes(buffer.getvalue()) == [URL.upper()]


def test_anything_that_is_not_a_picture_with_a_code_gives_nothing() -> None:
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, "PNG")

    assert read_qr_codes(b"") == []
    assert read_qr_codes(b"\x00\x01 definitely not an image " * 100) == []
    assert read_qr_codes(b"\xff\xd8\xff\xe0 truncated jpeg") == []
    assert read_qr_codes(_picture(URL)[:200]) == [], "a cut-off upload"
    assert read_qr_codes(blank.getvalue()) == []


def test_a_picture_claiming_an_enormous_size_is_refused_without_decoding_it() -> None:
    for side in (60_000, 12_000):  # far over Pillow's bomb limit, and just over its warning
        assert read_qr_codes(_png_header_only(side, side)) == []


def test_a_large_real_picture_is_scaled_down_and_still_read() -> None:
    symbol = Image.open(io.BytesIO(_picture(URL.upper(), scale=30))).convert("L")
    photo = Image.new("L", (4000, 3000), 255)
    photo.paste(symbol, (1000, 500))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)

    assert read_qr_codes(buffer.getvalue()) == [URL.upper()]
