"""One code's label (issue 5 item 2, A2): the QR holds the uppercase URL in alphanumeric
mode at the smallest version with exactly the chosen error correction, and the PNG and
PDF labels decode, by zxing-cpp, to exactly that URL."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import segno
from fpdf import FPDF

from onboard.adapters.labels.single import Label, label_pdf, label_png, label_svg, layout
from onboard.adapters.labels.symbol import QUIET_ZONE, ErrorCorrection, code_symbol
from onboard.adapters.qr import read_qr_codes

URL = "https://onboard.example.com/c/7K3M9Q2RTW5XA"
LABEL = Label(URL, "7K3M9Q2RTW5XA", batch="2026-11 Kiel", organization="Nordwind")


def _pdf_pages_as_png(content: bytes, dpi: int = 300) -> list[bytes]:
    pages = []
    document = pypdfium2.PdfDocument(content)
    for page in document:
        buffer = io.BytesIO()
        page.render(scale=dpi / 72).to_pil().save(buffer, format="PNG")
        pages.append(buffer.getvalue())
    return pages


@pytest.mark.parametrize("error", list(ErrorCorrection))
def test_the_symbol_is_the_uppercase_url_in_alphanumeric_mode_at_the_level_asked(
    error: ErrorCorrection,
) -> None:
    symbol = code_symbol(URL, error)
    smallest = segno.make_qr(URL.upper(), error=error.value.lower(), boost_error=False)

    assert symbol.payload == URL.upper()
    assert smallest.mode == "alphanumeric"
    assert symbol.version == smallest.version
    assert symbol.error is error
    assert symbol.size == smallest.symbol_size(scale=1, border=QUIET_ZONE)[0]
    # segno would raise the level when it fits the same version; a label keeps the user's.
    assert smallest.error == error.value


def test_the_uppercase_payload_needs_a_smaller_symbol_than_the_url_as_typed() -> None:
    as_typed = segno.make_qr(URL, error="m", boost_error=False)

    assert code_symbol(URL).version < int(as_typed.version)


def test_the_quiet_zone_is_white_on_every_side() -> None:
    rows = code_symbol(URL).rows

    border = [rows[y][x] for y in range(len(rows)) for x in range(len(rows))
              if min(x, y, len(rows) - 1 - x, len(rows) - 1 - y) < QUIET_ZONE]  # fmt: skip
    assert not any(border)
    assert any(rows[QUIET_ZONE])


def test_dark_runs_cover_exactly_the_dark_modules() -> None:
    symbol = code_symbol(URL)
    drawn = {(x + i, y) for x, y, n in symbol.dark_runs() for i in range(n)}

    dark = {(x, y) for y, row in enumerate(symbol.rows) for x, on in enumerate(row) if on}
    assert drawn == dark


@pytest.mark.parametrize("error", [ErrorCorrection.L, ErrorCorrection.M, ErrorCorrection.H])
def test_the_png_label_decodes_to_the_code_url(error: ErrorCorrection) -> None:
    assert read_qr_codes(label_png(layout(LABEL, error=error))) == [URL.upper()]


@pytest.mark.parametrize(("width", "height"), [(50.0, 30.0), (62.0, 29.0), (63.5, 33.9)])
def test_the_pdf_label_is_one_page_of_its_size_and_decodes_to_the_code_url(
    width: float, height: float
) -> None:
    content = label_pdf(layout(LABEL, width=width, height=height))

    document = pypdfium2.PdfDocument(content)
    assert len(document) == 1
    page_width, page_height = document[0].get_size()
    assert (round(page_width * 25.4 / 72, 1), round(page_height * 25.4 / 72, 1)) == (
        width,
        height,
    )
    assert [read_qr_codes(png) for png in _pdf_pages_as_png(content)] == [[URL.upper()]]


def test_the_label_text_carries_token_batch_organization_and_instruction() -> None:
    content = label_pdf(layout(LABEL))

    text = pypdfium2.PdfDocument(content)[0].get_textpage().get_text_range()
    for shown in ("7K3M9Q2RTW5XA", "Batch 2026-11 Kiel", "Nordwind", "Scan for service"):
        assert shown in text


def test_every_line_fits_beside_the_qr_however_long() -> None:
    long = Label(URL, "7K3M9Q2RTW5XA", organization="A very long organization name " * 3)

    shown = layout(long)
    assert shown.lines[1].text.startswith("A very long")
    assert shown.lines[1].text.endswith("...")
    measure = FPDF(unit="mm")
    for line in shown.lines:
        measure.set_font(
            "Courier" if line.mono else "Helvetica", "B" if line.mono else "", line.size
        )
        assert line.x + measure.get_string_width(line.text) <= shown.width + 0.01


def test_the_svg_label_escapes_text_and_names_its_payload() -> None:
    svg = label_svg(layout(Label(URL, "7K3M9Q2RTW5XA", organization="Smith & <Sons>")))

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="50.0mm"')
    assert "Smith &amp; &lt;Sons&gt;" in svg
    assert f"<title>{URL.upper()}</title>" in svg
