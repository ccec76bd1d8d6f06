"""The back office's batches in headless Chromium against the real server (issue 5; SPEC A1,
A2, A11, A16): making a batch through the form and its refusals, the batch page's progress,
printing its labels as a download (the PDF rasterised by PDFium and every label decoded by
zxing-cpp, ZPL and CSV read back), one code's label as SVG, PNG and PDF from its page, the
codes list's printed filter, and what a Viewer sees; the same pages without JavaScript
answer bad choices with the page again and print nothing."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdfium2
from playwright.sync_api import Page, expect

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.adapters.qr import read_qr_codes
from onboard.domain.codes import Code, code_url
from onboard.services import batches, codes
from onboard.services.batches import BatchView
from onboard.services.ports import CodeFilter, PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in
from tests.e2e.test_web_pages import visible
from tests.label_decoding import decoded_cells


def batch_codes(svc: Services, org: factories.Org, number: str) -> list[Code]:
    """The batch's codes in creation order, as a print run takes them."""
    return codes.list_codes(svc, org.actor, CodeFilter(batch=number), PageRequest(limit=200)).items


def urls_of(svc: Services, found: list[Code]) -> list[str]:
    """What each sticker's QR must hold: the code's URL in uppercase (A2)."""
    return [code_url(svc.public_url, code.token).upper() for code in found]


def make_batch(svc: Services, org: factories.Org, count: int, **given: str) -> BatchView:
    return batches.create_batch(svc, org.actor, count=count, number=factories.unique("B"), **given)


def download(page: Page, button: str = "Download labels") -> tuple[str, bytes]:
    """Submit the print form as a person does and keep the file the browser saves."""
    with page.expect_download() as saved:
        page.get_by_role("button", name=button).click()
    file = saved.value
    return file.suggested_filename, Path(file.path()).read_bytes()


def progress_of(page: Page, name: str) -> str:
    return page.get_by_role("progressbar", name=name).get_attribute("aria-valuetext") or ""


def test_a_member_makes_a_batch_through_the_form_and_the_refusals_show_next_to_the_field(
    page: Page, live_server: LiveServer
) -> None:
    """Issue 5 item 1: a numbered batch of N codes in one step; a count out of range and a
    number in use are refused next to their fields, and nothing is made."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    north = factories.make_department(svc, org, name=factories.unique("North"))
    taken = make_batch(svc, org, 1).batch.number
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Batches").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batches")
    page.get_by_role("link", name="New batch").click()
    expect(page.get_by_text("onboard codes create --count N --batch B")).to_be_visible()

    page.get_by_label("How many codes").fill("0")
    page.get_by_label("Name (optional)").fill("Kiel, March")
    page.get_by_role("button", name="Create batch").click()
    count_field = page.get_by_label("How many codes")
    expect(count_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#batch-count-error")).to_have_text("A whole number from 1 to 100,000")
    expect(page.get_by_role("alert")).to_contain_text("command line")
    expect(page.get_by_label("Name (optional)")).to_have_value("Kiel, March")

    count_field.fill("100001")
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#batch-count-error")).to_have_text("A whole number from 1 to 100,000")

    count_field.fill("12")
    page.get_by_label("Batch number (optional)").fill(taken)
    page.get_by_role("button", name="Create batch").click()
    number_field = page.get_by_label("Batch number (optional)")
    expect(number_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#batch-number-error")).to_have_text("In use by another batch")
    expect(page.get_by_role("alert")).to_contain_text(f"Batch {taken} exists already")
    assert [v.batch.number for v in batches.list_batches(svc, org.actor, PageRequest()).items] == [
        taken
    ], "nothing was made"

    number = factories.unique("2026-03").replace(" ", "-")
    number_field.fill(number)
    page.get_by_label("Label (optional)").fill("Nordwind service")
    page.get_by_label(north.name).check()
    page.get_by_label("PIN (optional)").fill("2468")
    page.get_by_role("button", name="Create batch").click()

    expect(page.get_by_role("status")).to_contain_text(f"Batch {number} created with 12 codes")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Batch {number}")
    expect(page.get_by_test_id("batch-codes")).to_have_text("12")
    assert progress_of(page, "Printed") == "0 of 12"
    assert progress_of(page, "Paired") == "0 of 12"
    expect(page.get_by_role("region", name="Details")).to_contain_text("Kiel, March")
    expect(page.get_by_role("region", name="Details")).to_contain_text("batch's PIN")
    made = batch_codes(svc, org, number)
    assert len(made) == 12
    assert {(c.label, c.pin_protected, c.departments) for c in made} == {
        ("Nordwind service", True, frozenset({north.id}))
    }

    page.get_by_role("link", name="Show its codes").click()
    expect(page).to_have_url(re.compile(rf"/codes\?batch={re.escape(number)}$"))
    expect(page.locator("main tbody tr")).to_have_count(12)

    page.goto("/batches/new")
    page.get_by_label("How many codes").fill("3")
    page.get_by_role("button", name="Create batch").click()
    expect(page.get_by_role("status")).to_contain_text("created with 3 codes")
    automatic = page.get_by_role("heading", level=1).inner_text().removeprefix("Batch ")
    assert re.fullmatch(r"B\d{4}", automatic), automatic

    page.goto("/batches")
    numbers = page.locator("main tbody td[data-label=Number]").all_inner_texts()
    assert numbers == [automatic, number, taken], "newest first"
    row = page.locator("main tbody tr", has_text=number)
    expect(row.locator("td[data-label=Codes]")).to_have_text("12")
    assert progress_of(page, f"Printed of batch {number}") == "0 of 12"


def test_the_pdf_downloaded_from_the_batch_page_decodes_to_exactly_the_batch_urls(
    page: Page, live_server: LiveServer
) -> None:
    """Issue 5 items 2-4: the print form's PDF, rasterised and decoded label by label, holds
    exactly the batch's code URLs in uppercase, in order; the codes then count as printed,
    and ZPL and CSV carry the same URLs."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = make_batch(svc, org, 5, name="Roof units")
    number = made.batch.number
    expected = urls_of(svc, batch_codes(svc, org, number))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/batches/{made.batch.id}")
    assert progress_of(page, "Printed") == "0 of 5"

    form = page.get_by_role("region", name="Print labels")
    expect(form.get_by_label("PDF")).to_be_checked()
    expect(form.get_by_label("Label stock", exact=True)).to_have_value(StockName.A4_24.value)
    expect(form.get_by_label("M, 15 %")).to_be_checked()
    expect(form.get_by_label("Print the organization's name")).to_be_checked()
    expect(form.get_by_label("Instruction line")).to_have_value("Scan for service and information")
    name, pdf = download(page)

    assert name == f"labels-{number.replace(' ', '-')}-a4-24.pdf"
    assert pdf.startswith(b"%PDF")
    cells = decoded_cells(pdf, STOCKS[StockName.A4_24])
    assert cells[:5] == [[url] for url in expected]
    assert cells[5:] == [[]] * (len(cells) - 5), "the rest of the sheet is blank"
    page.reload()
    assert progress_of(page, "Printed") == "5 of 5"
    progress = batches.get_batch(svc, org.actor, made.batch.id).progress
    assert (progress.codes, progress.printed, progress.paired) == (5, 5, 0)

    # Only codes not printed yet: there are none left, said next to the box.
    form.get_by_label("Only codes not printed yet").check()
    page.get_by_role("button", name="Download labels").click()
    expect(page.locator("#print-unprinted-error")).to_have_text("Nothing left to print")
    expect(page.get_by_role("alert")).to_contain_text("printed already")
    codes.create_codes(svc, org.actor, count=2, batch=number)
    page.goto(f"/batches/{made.batch.id}")
    assert progress_of(page, "Printed") == "5 of 7"

    form.get_by_label("ZPL").check()
    form.get_by_label("Label stock", exact=True).select_option(label="Roll, 50 x 30 mm")
    form.get_by_label("H, 30 %").check()
    form.get_by_label("Only codes not printed yet").check()
    name, zpl = download(page)

    assert name.endswith(".zpl")
    later = urls_of(svc, batch_codes(svc, org, number))[5:]
    labels = re.findall(r"\^XA.*?\^XZ", zpl.decode("utf-8"), flags=re.DOTALL)
    assert [re.findall(r"\^FDHM,A([^\^]*)\^FS", label) for label in labels] == [
        [url] for url in later
    ], "only the two new codes, at error correction H"
    assert "^PW400" in labels[0], "a 50 mm label at 203 dpi"
    page.reload()
    assert progress_of(page, "Printed") == "7 of 7"

    form.get_by_label("CSV").check()
    form.get_by_label("Only codes not printed yet").uncheck()
    name, sheet = download(page)

    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(sheet.decode("utf-8"))))
    assert rows[0] == ["token", "url", "batch"]
    found = batch_codes(svc, org, number)
    assert rows[1:] == [
        [c.token, u, number] for c, u in zip(found, urls_of(svc, found), strict=True)
    ]


def test_a_codes_label_downloads_as_svg_png_and_pdf_and_each_decodes_to_its_url(
    page: Page, live_server: LiveServer
) -> None:
    """Issue 5 item 2: one code's label from its page, in three formats, each holding the
    code's uppercase URL; the code's batch links to the batch page."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = make_batch(svc, org, 1)
    (code,) = batch_codes(svc, org, made.batch.number)
    url = code_url(svc.public_url, code.token).upper()
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/codes/{code.token}")
    label = page.get_by_role("region", name="Label")

    saved: dict[str, bytes] = {}
    for kind in ("SVG", "PNG", "PDF"):
        with page.expect_download() as file:
            label.get_by_role("link", name=f"{kind} label").click()
        assert file.value.suggested_filename == f"label-{code.token}.{kind.lower()}"
        saved[kind] = Path(file.value.path()).read_bytes()

    assert read_qr_codes(saved["PNG"]) == [url]
    pdf_page = pypdfium2.PdfDocument(saved["PDF"])[0]
    picture = io.BytesIO()
    pdf_page.render(scale=300 / 72).to_pil().save(picture, format="PNG")
    assert read_qr_codes(picture.getvalue()) == [url]
    drawn = page.context.new_page()
    try:
        drawn.set_content(f"<body style='margin:0;background:#fff'>{saved['SVG'].decode()}</body>")
        drawn.evaluate("document.querySelector('svg').setAttribute('width', '750')")
        drawn.evaluate("document.querySelector('svg').setAttribute('height', '400')")
        assert read_qr_codes(drawn.locator("svg").screenshot()) == [url]
    finally:
        drawn.close()

    details = page.get_by_role("region", name="Details")
    details.get_by_role("link", name=made.batch.number).click()
    expect(page).to_have_url(re.compile(rf"/batches/{made.batch.id}$"))
    assert codes.get_code(svc, org.actor, code.token).printed_at is None, "a single label only"


def test_the_codes_list_filters_by_printed(page: Page, live_server: LiveServer) -> None:
    """A16 and issue 5: codes printed on a label run, and those not yet."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = make_batch(svc, org, 2)
    run = batches.start_print(svc, org.actor, made.batch.id)
    for _ in run.labels():
        pass
    batches.finish_print(svc, run, output="test")
    (fresh,) = codes.create_codes(svc, org.actor)
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto("/codes")

    page.get_by_label("Printing").select_option("Not printed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"printed=no"))
    assert page.locator("main tbody td[data-label=Token]").all_inner_texts() == [fresh.token]
    page.get_by_label("Printing").select_option("Printed")
    page.get_by_role("button", name="Filter").click()
    shown = page.locator("main tbody td[data-label=Token]").all_inner_texts()
    assert sorted(shown) == sorted(c.token for c in batch_codes(svc, org, made.batch.number))
    expect(page.get_by_label("Printing")).to_have_value("yes")


def test_a_viewer_sees_the_batch_without_the_print_form_and_a_forced_print_is_refused(
    page: Page, live_server: LiveServer, web: WebClient
) -> None:
    """§0: a Viewer reads batches and their progress but prints nothing."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = make_batch(svc, org, 3)
    viewer = factories.make_member(svc, org, roles=["viewer"])
    sign_in(page, viewer.email, factories.PASSWORD)

    page.goto("/batches")
    expect(page.get_by_role("link", name=made.batch.number)).to_be_visible()
    expect(page.get_by_role("link", name="New batch")).to_have_count(0)
    page.get_by_role("link", name=made.batch.number).click()
    assert progress_of(page, "Printed") == "0 of 3"
    expect(page.get_by_role("region", name="Print labels")).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)

    web.sign_in(viewer.email, factories.PASSWORD)
    web.get(f"/batches/{made.batch.id}")
    refused = web.post(f"/batches/{made.batch.id}/labels", {"format": "csv"})
    assert refused.status_code == 403
    assert "Your roles do not allow this" in visible(refused)
    assert web.get("/batches/new").status_code == 403
    assert web.post("/batches", {"count": "5"}).status_code == 403
    assert batches.get_batch(svc, org.actor, made.batch.id).progress.printed == 0
    assert len(batches.list_batches(svc, org.actor, PageRequest()).items) == 1


def test_the_pages_answer_bad_choices_with_the_page_again_and_print_nothing(
    web: WebClient, live_server: LiveServer
) -> None:
    """P10 on the pages: a choice not offered, a too long instruction line, an unknown
    batch, a missing CSRF token or a label format that does not exist are refused with a
    page, never a 500, and nothing counts as printed."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = make_batch(svc, org, 2)
    (code,) = codes.create_codes(svc, org.actor)
    path = f"/batches/{made.batch.id}"
    web.sign_in(org.admin.email, factories.PASSWORD)
    web.get(path)

    wrong = web.post(
        f"{path}/labels",
        {"format": "docx", "layout": "a3-1", "error": "X", "instruction": "Kept line"},
    )
    assert wrong.status_code == 422
    shown = visible(wrong)
    for problem in (
        "Choose one of the formats",
        "Choose one of the label stocks",
        "Choose one of the levels",
    ):
        assert problem in shown
    assert 'value="Kept line"' in wrong.text, "the form keeps what was typed"
    assert re.search(r'id="print-layout"[^>]*aria-invalid="true"', wrong.text), "next to the field"
    too_long = web.post(f"{path}/labels", {"format": "pdf", "instruction": "x" * 81})
    assert too_long.status_code == 422
    assert "At most 80 characters" in visible(too_long)
    assert web.post(f"{path}/labels", {"format": "pdf"}, csrf=False).status_code == 403
    assert web.post("/batches/nope/labels", {"format": "pdf"}).status_code == 404
    assert web.get("/batches/nope").status_code == 404
    assert web.get("/batches?after=bad!").status_code == 422
    assert batches.get_batch(svc, org.actor, made.batch.id).progress.printed == 0

    taken = web.post("/batches", {"count": "2", "number": made.batch.number, "name": "Kept"})
    assert taken.status_code == 409
    assert "In use by another batch" in visible(taken)
    assert 'value="Kept"' in taken.text
    bad = web.post("/batches", {"count": "two", "number": "x" * 200, "pin": "12"})
    assert bad.status_code == 422
    assert "A whole number from 1 to 100,000" in visible(bad)
    short_pin = web.post("/batches", {"count": "2", "pin": "12ab"})
    assert short_pin.status_code == 422
    assert "4 to 8 digits" in visible(short_pin)
    long_number = web.post("/batches", {"count": "2", "number": "x" * 200})
    assert long_number.status_code == 422
    assert 'id="batch-number-error"' in long_number.text
    assert len(batches.list_batches(svc, org.actor, PageRequest()).items) == 1, "nothing made"

    assert web.get(f"/codes/{code.token}/label.docx").status_code == 404
    assert web.get("/codes/NOTACODE/label.svg").status_code == 404
    svg = web.get(f"/codes/{code.token.lower()}/label.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["content-disposition"] == f'attachment; filename="label-{code.token}.svg"'
