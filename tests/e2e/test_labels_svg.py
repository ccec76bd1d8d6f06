"""A code's SVG label as a browser draws it decodes, by zxing-cpp, to exactly the code's
uppercase URL (issue 5 item 4): Chromium rasterises, a decoder no one here wrote reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from onboard.adapters.labels.single import Label, label_svg, layout
from onboard.adapters.labels.symbol import ErrorCorrection
from onboard.adapters.qr import read_qr_codes

if TYPE_CHECKING:
    from playwright.sync_api import Browser

URL = "https://onboard.example.com/c/7K3M9Q2RTW5XA"


@pytest.mark.parametrize("error", list(ErrorCorrection))
def test_the_svg_label_drawn_by_chromium_decodes_to_the_code_url(
    browser: Browser, error: ErrorCorrection
) -> None:
    svg = label_svg(layout(Label(URL, "7K3M9Q2RTW5XA", batch="B1"), error=error))
    context = browser.new_context(viewport={"width": 800, "height": 500})
    try:
        page = context.new_page()
        page.set_content(f"<body style='margin:0;background:#fff'>{svg}</body>")
        page.evaluate("document.querySelector('svg').setAttribute('width', '600')")
        page.evaluate("document.querySelector('svg').setAttribute('height', '360')")
        shot = page.locator("svg").screenshot()
    finally:
        context.close()

    assert read_qr_codes(shot) == [URL.upper()]
