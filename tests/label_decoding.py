"""Reading printed labels back as a phone would (issue 5 item 4): PDF pages rendered by
PDFium and every QR decoded by zxing-cpp, two libraries no one here wrote."""

from __future__ import annotations

import pypdfium2
import zxingcpp

from onboard.adapters.labels.sheets import Stock

DPI = 300
QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def decoded_cells(content: bytes, stock: Stock) -> list[list[str]]:
    """What zxing-cpp reads in each label cell of the PDF on ``stock``, page by page, cell
    by cell: one payload per printed label, none on a blank one."""
    px = DPI / 25.4
    found: list[list[str]] = []
    for page in pypdfium2.PdfDocument(content):
        image = page.render(scale=DPI / 72).to_pil().convert("L")
        for cell in range(stock.per_page):
            left, top = stock.position(cell)
            box = (
                round(left * px),
                round(top * px),
                round((left + stock.label_width) * px),
                round((top + stock.label_height) * px),
            )
            found.append([b.text for b in zxingcpp.read_barcodes(image.crop(box), formats=QR)])
    return found


def decoded_labels(content: bytes, stock: Stock) -> list[str]:
    """The payload of each printed label of the PDF, in order; a cell with more than one
    QR fails the test."""
    cells = decoded_cells(content, stock)
    assert all(len(cell) <= 1 for cell in cells), "one QR per label"
    return [cell[0] for cell in cells if cell]


def decoded_pages(content: bytes) -> list[str]:
    """Every QR code zxing-cpp finds on the PDF's pages, wherever it is."""
    found: list[str] = []
    for page in pypdfium2.PdfDocument(content):
        image = page.render(scale=DPI / 72).to_pil().convert("L")
        found += [b.text for b in zxingcpp.read_barcodes(image, formats=QR)]
    return found
