"""A batch on label stock (issue 5 items 2-4): every layout is rendered by PDFium, each
label cut out of the page and decoded by zxing-cpp, and the decoded payloads are exactly
the batch's code URLs, in order, one per label."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import zxingcpp

from onboard.adapters.labels.sheets import STOCKS, StockName, sheet_pdf
from onboard.adapters.labels.single import Label
from onboard.adapters.labels.symbol import ErrorCorrection
from tests.label_decoding import DPI, QR, decoded_cells


def _batch(count: int) -> list[Label]:
    return [
        Label(f"https://onboard.example.com/c/7K3M9Q2R{n:05d}", f"7K3M9Q2R{n:05d}", batch="B-7")
        for n in range(count)
    ]


@pytest.mark.parametrize("name", list(StockName))
def test_every_label_of_every_layout_decodes_to_its_code_url_in_order(name: StockName) -> None:
    stock = STOCKS[name]
    labels = _batch(stock.per_page + 2)  # a full page and the start of another
    out = io.BytesIO()
    done: list[int] = []

    count = sheet_pdf(labels, stock, out, on_page=done.append)

    assert count == len(labels)
    assert done == [*range(stock.per_page, len(labels), stock.per_page), len(labels)]
    decoded = decoded_cells(out.getvalue(), stock)
    expected = [[label.url.upper()] for label in labels]
    assert decoded[: len(labels)] == expected
    assert decoded[len(labels) :] == [[]] * (len(decoded) - len(labels)), "the rest is blank"


@pytest.mark.parametrize("name", list(StockName))
def test_pages_have_the_stock_size_and_labels_stay_inside_the_page(name: StockName) -> None:
    stock = STOCKS[name]
    out = io.BytesIO()
    sheet_pdf(_batch(1), stock, out)

    width, height = pypdfium2.PdfDocument(out.getvalue())[0].get_size()
    assert (round(width * 25.4 / 72, 1), round(height * 25.4 / 72, 1)) == (
        round(stock.page_width, 1),
        round(stock.page_height, 1),
    )
    right, bottom = stock.position(stock.per_page - 1)
    assert right + stock.label_width <= stock.page_width + 0.01
    assert bottom + stock.label_height <= stock.page_height + 0.01


def test_the_chosen_error_correction_is_the_one_printed() -> None:
    out = io.BytesIO()
    sheet_pdf(_batch(1), STOCKS[StockName.ROLL_50X30], out, error=ErrorCorrection.H)

    image = pypdfium2.PdfDocument(out.getvalue())[0].render(scale=DPI / 72).to_pil()
    (found,) = zxingcpp.read_barcodes(image.convert("L"), formats=QR)
    assert found.ec_level == "H"


def test_the_label_text_is_on_the_page() -> None:
    out = io.BytesIO()
    sheet_pdf(_batch(3), STOCKS[StockName.A4_24], out)

    text = pypdfium2.PdfDocument(out.getvalue())[0].get_textpage().get_text_range()
    for token in ("7K3M9Q2R00000", "7K3M9Q2R00001", "7K3M9Q2R00002", "Batch B-7"):
        assert token in text


def test_an_empty_batch_is_still_a_valid_one_page_document() -> None:
    out = io.BytesIO()

    assert sheet_pdf([], STOCKS[StockName.A4_24], out) == 0
    assert len(pypdfium2.PdfDocument(out.getvalue())) == 1


def test_labels_are_read_one_at_a_time_from_the_iterable() -> None:
    taken: list[int] = []

    def labels():  # type: ignore[no-untyped-def]
        for n, label in enumerate(_batch(30)):
            taken.append(n)
            yield label

    pages: list[int] = []
    sheet_pdf(
        labels(), STOCKS[StockName.A4_24], io.BytesIO(), on_page=lambda _: pages.append(len(taken))
    )
    assert pages == [24, 30], "the first page is written before the rest is read"
