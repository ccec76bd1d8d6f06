"""Code batches and their labels through the members' API of a real server over HTTP, on
SQLite and PostgreSQL (issue 5; SPEC A1, A2, A11, P5, P10, §5.1): a batch is made in one
transaction or not at all, lists with its progress, and prints as a PDF on label stock, ZPL
or CSV, streamed. The PDF's pages are rasterised by PDFium and every label decoded by
zxing-cpp: the payloads are exactly the batch's code URLs, uppercase, in order. One code's
label comes as SVG (drawn by Chromium), PNG or PDF, and decodes to its code's URL."""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

import httpx
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.adapters.labels.single import INSTRUCTION
from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_department, make_member, make_org, token_for, unique
from tests.label_decoding import DPI, QR, decoded_cells, decoded_pages

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def _batch(api: httpx.Client, **body: Any) -> dict[str, Any]:
    return json_of(api.post("/api/v1/batches", json=body), 201)


def _codes(api: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    """Every code the client sees that passes the filters, in creation order."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {**query, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = json_of(api.get("/api/v1/codes", params=params))
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _urls(api: httpx.Client, number: str, **query: Any) -> list[str]:
    """The batch's code URLs as its QR codes hold them: uppercase (A2), in order."""
    return [code["url"].upper() for code in _codes(api, batch=number, **query)]


def _progress(api: httpx.Client, batch_id: str) -> dict[str, int]:
    progress: dict[str, int] = json_of(api.get(f"/api/v1/batches/{batch_id}"))["progress"]
    return progress


def _labels(api: httpx.Client, batch_id: str, **body: Any) -> httpx.Response:
    """A batch's labels; without options, a request without a body (all defaults)."""
    answer = api.post(f"/api/v1/batches/{batch_id}/labels", json=body or None)
    assert answer.status_code == 200, answer.text
    return answer


def _pdf_text(content: bytes) -> str:
    return "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(content))


# --- creating batches ---------------------------------------------------------------------


def test_a_batch_is_made_with_its_number_name_label_departments_and_pin_policy(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    """Issue 5 item 1, A1, A11: every code of the batch carries its number, label,
    departments and PIN."""
    department = make_department(svc, org)

    made = api.post(
        "/api/v1/batches",
        json={
            "count": 30, "number": "2026-11-A", "name": "Pumps for Müller", "label": "Scan me",
            "departments": [department.id], "pin": "4711",
        },
    )  # fmt: skip

    body = json_of(made, 201)
    assert {k: body[k] for k in ("number", "name", "pin_protected", "progress")} == {
        "number": "2026-11-A",
        "name": "Pumps for Müller",
        "pin_protected": True,
        "progress": {"codes": 30, "printed": 0, "paired": 0},
    }
    assert body["id"]
    assert body["created_at"]
    found = _codes(api, batch="2026-11-A")
    assert len(found) == 30
    assert len({c["token"] for c in found}) == 30
    for code in found:
        assert (code["label"], code["pin_protected"], code["device_id"]) == ("Scan me", True, None)
        assert code["departments"] == [department.id]
    assert json_of(api.get(f"/api/v1/batches/{body['id']}")) == body


def test_a_batch_without_a_number_gets_the_next_automatic_one(api: httpx.Client) -> None:
    """Issue 5 item 1: B0001, B0002, ... in the order they are made."""
    first = _batch(api, count=1)
    second = _batch(api, count=2)

    assert (first["number"], second["number"]) == ("B0001", "B0002")
    assert (first["name"], first["pin_protected"]) == (None, False)
    assert [c["batch"] for c in _codes(api, batch="B0002")] == ["B0002", "B0002"]


def test_a_taken_batch_number_is_refused_and_adds_nothing(api: httpx.Client) -> None:
    """409 batch_number_taken (P10); the refused batch leaves no code behind."""
    _batch(api, count=2, number="SPRING")

    refused = api.post("/api/v1/batches", json={"count": 5, "number": "SPRING"})

    problem_of(refused, 409, "batch_number_taken")
    assert len(_codes(api, batch="SPRING")) == 2
    assert len(json_of(api.get("/api/v1/batches"))["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "count"),
        ({"count": 0}, "count"),
        ({"count": 1_000_001}, "count"),
        ({"count": "many"}, "count"),
        ({"count": 2, "number": "   "}, "number"),
        ({"count": 2, "number": "x" * 101}, "number"),
        ({"count": 2, "name": "n" * 201}, "name"),
        ({"count": 2, "label": "l" * 101}, "label"),
        ({"count": 2, "pin": "12"}, "pin"),
        ({"count": 2, "pin": "12ab"}, "pin"),
        ({"count": 2, "departments": ["no-such-department"]}, "departments"),
        ({"count": 2, "colour": "red"}, "colour"),
    ],
)
def test_bad_batch_input_is_refused_field_by_field_and_creates_nothing(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    """P10: 422 with the field at fault; no batch and no code is made."""
    answer = api.post("/api/v1/batches", json=body)

    problem = problem_of(answer, 422, "invalid")
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert json_of(api.get("/api/v1/batches"))["items"] == []
    assert _codes(api) == []


def test_batches_list_newest_first_page_by_page_with_their_progress(
    api: httpx.Client,
) -> None:
    """§5.1 cursor paging; progress counts the codes printed and paired."""
    made = [_batch(api, count=n + 1, number=f"LOT-{n}") for n in range(3)]
    (code, *_) = _codes(api, batch="LOT-2")
    device = json_of(api.post("/api/v1/devices", json={"name": unique("Pump")}), 201)
    json_of(api.post(f"/api/v1/codes/{code['token']}/pair", json={"device_id": device["id"]}))

    first = json_of(api.get("/api/v1/batches", params={"limit": 2}))
    rest = json_of(api.get("/api/v1/batches", params={"limit": 2, "cursor": first["next_cursor"]}))

    assert [b["number"] for b in first["items"]] == ["LOT-2", "LOT-1"]
    assert [b["number"] for b in rest["items"]] == ["LOT-0"]
    assert rest["next_cursor"] is None
    assert [b["progress"] for b in first["items"] + rest["items"]] == [
        {"codes": 3, "printed": 0, "paired": 1},
        {"codes": 2, "printed": 0, "paired": 0},
        {"codes": 1, "printed": 0, "paired": 0},
    ]
    assert _progress(api, made[2]["id"]) == {"codes": 3, "printed": 0, "paired": 1}


def test_an_unknown_batch_is_not_found(api: httpx.Client) -> None:
    problem_of(api.get("/api/v1/batches/NOSUCHBATCH"), 404, "not_found")
    problem_of(api.post("/api/v1/batches/NOSUCHBATCH/labels", json={}), 404, "not_found")


# --- a batch's labels -----------------------------------------------------------------------


def test_the_pdf_of_a_batch_decodes_to_exactly_its_code_urls_in_order(
    api: httpx.Client, org: Org
) -> None:
    """Issue 5 items 2-4: the default A4 24-up sheet, rasterised and decoded label by
    label; the download is an attachment named after the batch; afterwards every code of
    the batch counts as printed."""
    stock = STOCKS[StockName.A4_24]
    count = stock.per_page + 3  # a full page and the start of the next
    batch = _batch(api, count=count, number="PDF/1")
    expected = _urls(api, "PDF/1")

    answer = _labels(api, batch["id"])

    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="labels-PDF-1-a4-24.pdf"'
    cells = decoded_cells(answer.content, stock)
    assert [cell[0] if len(cell) == 1 else cell for cell in cells[:count]] == expected
    assert cells[count:] == [[]] * (len(cells) - count), "the rest of the last page is blank"
    text = _pdf_text(answer.content)
    assert "Batch PDF/1" in text
    assert org.organization.name in text
    assert INSTRUCTION in text
    assert _progress(api, batch["id"]) == {"codes": count, "printed": count, "paired": 0}
    assert len(_codes(api, batch="PDF/1", printed="true")) == count
    assert _codes(api, batch="PDF/1", printed="false") == []


def test_the_pdf_follows_the_chosen_stock_error_correction_and_text(
    api: httpx.Client, org: Org
) -> None:
    """Issue 5 item 2: the label stock sets the page, the error correction is the user's,
    the organization's name and the instruction line are theirs to leave out or change."""
    batch = _batch(api, count=2, number="ROLL")
    expected = _urls(api, "ROLL")

    answer = _labels(
        api, batch["id"], layout="roll-62x29", error="H", organization=False,
        instruction="Call 0800 123 before opening",
    )  # fmt: skip

    document = pypdfium2.PdfDocument(answer.content)
    stock = STOCKS[StockName.ROLL_62X29]
    width, height = document[0].get_size()
    assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (
        round(stock.page_width),
        round(stock.page_height),
    )
    assert "roll-62x29" in answer.headers["content-disposition"]
    image = document[0].render(scale=DPI / 72).to_pil().convert("L")
    (symbol,) = zxingcpp.read_barcodes(image, formats=QR)
    assert symbol.ec_level == "H"
    assert decoded_pages(answer.content) == expected
    text = _pdf_text(answer.content)
    assert "Call 0800 123 before opening" in text
    assert INSTRUCTION not in text
    assert org.organization.name not in text


def test_the_zpl_of_a_batch_holds_one_label_per_code_with_its_url(api: httpx.Client) -> None:
    """Issue 5 item 2: Zebra printers draw the QR from ^BQ's field, the uppercase URL in
    alphanumeric mode (A2)."""
    batch = _batch(api, count=7, number="THERMAL")
    expected = _urls(api, "THERMAL")

    answer = _labels(api, batch["id"], format="zpl", layout="roll-50x30")

    assert answer.headers["content-type"] == "application/vnd.zebra-zpl"
    assert answer.headers["content-disposition"] == 'attachment; filename="labels-THERMAL.zpl"'
    labels = re.findall(r"\^XA.*?\^XZ", answer.text, flags=re.DOTALL)
    assert len(labels) == 7
    assert answer.text.count("^XA") == answer.text.count("^XZ") == 7
    payloads = [re.findall(r"\^FD[LMQH]M,A([^^]*)\^FS", label) for label in labels]
    assert payloads == [[url] for url in expected]
    assert all("^BQN" in label for label in labels)
    assert _progress(api, batch["id"])["printed"] == 7


def test_the_csv_of_a_batch_lists_each_token_with_its_url(api: httpx.Client) -> None:
    """Issue 5 item 2: for print shops, one row per code, in order."""
    batch = _batch(api, count=5, number="SHOP")
    found = _codes(api, batch="SHOP")

    answer = _labels(api, batch["id"], format="csv")

    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="labels-SHOP.csv"'
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows == [
        ["token", "url", "batch"],
        *[[c["token"], c["url"].upper(), "SHOP"] for c in found],
    ]
    assert _progress(api, batch["id"]) == {"codes": 5, "printed": 5, "paired": 0}


def test_unprinted_only_prints_just_the_codes_no_run_has_printed(api: httpx.Client) -> None:
    """Issue 5: after a run, codes added to the batch later are printed on their own;
    printing all again prints all, and the first printing of each is what counts."""
    batch = _batch(api, count=4, number="JAM")
    _labels(api, batch["id"], format="csv")
    added = json_of(api.post("/api/v1/codes", json={"count": 3, "batch": "JAM"}), 201)["items"]
    assert _progress(api, batch["id"]) == {"codes": 7, "printed": 4, "paired": 0}
    unprinted = [c["token"] for c in _codes(api, batch="JAM", printed="false")]
    assert sorted(unprinted) == sorted(c["token"] for c in added)

    rest = _labels(api, batch["id"], format="csv", unprinted_only=True)

    rows = list(csv.reader(io.StringIO(rest.text)))[1:]
    assert [row[0] for row in rows] == unprinted
    assert _progress(api, batch["id"]) == {"codes": 7, "printed": 7, "paired": 0}
    nothing_left = _labels(api, batch["id"], format="csv", unprinted_only=True)
    assert list(csv.reader(io.StringIO(nothing_left.text))) == [["token", "url", "batch"]]
    everything = _labels(api, batch["id"], format="csv")
    assert len(list(csv.reader(io.StringIO(everything.text)))) == 1 + 7


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "docx"}, "format"),
        ({"layout": "a3-8"}, "layout"),
        ({"error": "X"}, "error"),
        ({"instruction": "i" * 81}, "instruction"),
        ({"organization": "perhaps"}, "organization"),
        ({"unprinted_only": []}, "unprinted_only"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_label_options_are_refused_and_print_nothing(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    """P10: 422 with the field at fault; no code counts as printed."""
    batch = _batch(api, count=2)

    answer = api.post(f"/api/v1/batches/{batch['id']}/labels", json=body)

    problem = problem_of(answer, 422, "invalid")
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert _progress(api, batch["id"])["printed"] == 0


# --- one code's label ----------------------------------------------------------------------


def _one_code(api: httpx.Client) -> dict[str, Any]:
    _batch(api, count=1, number="SINGLE")
    (code,) = _codes(api, batch="SINGLE")
    return code


@pytest.mark.parametrize("kind", ["png", "pdf"])
def test_one_codes_label_as_png_or_pdf_decodes_to_its_url(api: httpx.Client, kind: str) -> None:
    """Issue 5 items 2 and 4: the label of one code, decoded by zxing-cpp, is its URL in
    uppercase (A2); asking in lowercase letters finds the same code."""
    code = _one_code(api)

    answer = api.get(f"/api/v1/codes/{code['token'].lower()}/label", params={"format": kind})

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == {"png": "image/png", "pdf": "application/pdf"}[kind]
    if kind == "png":
        decoded = [b.text for b in zxingcpp.read_barcodes(_png(answer.content), formats=QR)]
    else:
        decoded = decoded_pages(answer.content)
    assert decoded == [code["url"].upper()]
    assert _progress_of_batch(api, "SINGLE")["printed"] == 0, "one label is no print run"


def _png(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content)).convert("L")


def _progress_of_batch(api: httpx.Client, number: str) -> dict[str, int]:
    (batch,) = [b for b in json_of(api.get("/api/v1/batches"))["items"] if b["number"] == number]
    progress: dict[str, int] = batch["progress"]
    return progress


def test_one_codes_svg_label_drawn_by_chromium_decodes_to_its_url(
    api: httpx.Client, browser: Browser
) -> None:
    """Issue 5 item 4: the SVG as a browser draws it, decoded by zxing-cpp."""
    code = _one_code(api)

    answer = api.get(f"/api/v1/codes/{code['token']}/label", params={"error": "Q"})

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    context = browser.new_context(viewport={"width": 900, "height": 600})
    try:
        page = context.new_page()
        page.set_content(f"<body style='margin:0;background:#fff'>{answer.text}</body>")
        page.evaluate("document.querySelector('svg').setAttribute('width', '750')")
        page.evaluate("document.querySelector('svg').setAttribute('height', '400')")
        shot = page.locator("svg").screenshot()
    finally:
        context.close()
    found = zxingcpp.read_barcodes(_png(shot), formats=QR)
    assert [(b.text, b.ec_level) for b in found] == [(code["url"].upper(), "Q")]
    assert code["token"] in answer.text


def test_one_codes_label_takes_the_batch_options_and_refuses_bad_ones(
    api: httpx.Client, org: Org
) -> None:
    """The same options as a batch's labels; bad ones are a 422 naming the parameter."""
    code = _one_code(api)
    url = f"/api/v1/codes/{code['token']}/label"

    plain = api.get(url, params={"format": "pdf", "organization": "false", "instruction": ""})
    framed = api.get(url, params={"format": "pdf", "layout": "roll-50x30"})

    assert plain.status_code == framed.status_code == 200
    assert org.organization.name not in _pdf_text(plain.content)
    assert INSTRUCTION not in _pdf_text(plain.content)
    assert org.organization.name in _pdf_text(framed.content)
    width, height = pypdfium2.PdfDocument(framed.content)[0].get_size()
    assert (round(width * 25.4 / 72), round(height * 25.4 / 72)) == (50, 30)
    for params, field in [
        ({"format": "gif"}, "format"),
        ({"layout": "a3"}, "layout"),
        ({"error": "Z"}, "error"),
        ({"instruction": "i" * 81}, "instruction"),
    ]:
        problem = problem_of(api.get(url, params=params), 422, "invalid")
        assert field in {error["field"] for error in problem["errors"]}, params
    problem_of(api.get("/api/v1/codes/NOSUCHCODE0000/label"), 404, "not_found")


# --- who may print -------------------------------------------------------------------------


def test_a_viewer_reads_batches_and_labels_but_cannot_make_or_print_batches(
    live_server: LiveServer, api: httpx.Client, svc: Services, org: Org
) -> None:
    """SPEC §0: a Viewer changes nothing; a print run notes codes printed, so it is a
    change (403 permission_denied), while reading a batch or one code's label is not."""
    batch = _batch(api, count=3, number="LOOK")
    (code, *_) = _codes(api, batch="LOOK")
    viewer = make_member(svc, org, roles=["viewer"])

    with live_server.client(token_for(svc, viewer)) as client:
        listed = json_of(client.get("/api/v1/batches"))["items"]
        shown = json_of(client.get(f"/api/v1/batches/{batch['id']}"))
        label = client.get(f"/api/v1/codes/{code['token']}/label", params={"format": "png"})
        printing = client.post(f"/api/v1/batches/{batch['id']}/labels", json={"format": "csv"})
        making = client.post("/api/v1/batches", json={"count": 1})

    assert [b["id"] for b in listed] == [batch["id"]]
    assert shown["progress"] == {"codes": 3, "printed": 0, "paired": 0}
    assert label.status_code == 200
    problem_of(printing, 403, "permission_denied")
    problem_of(making, 403, "permission_denied")
    assert _progress(api, batch["id"])["printed"] == 0
    assert len(json_of(api.get("/api/v1/batches"))["items"]) == 1


def test_another_organization_finds_no_batch_and_no_label(
    live_server: LiveServer, api: httpx.Client, svc: Services
) -> None:
    """P1: another organization's batch and codes are not found (404), never forbidden."""
    batch = _batch(api, count=2, number="OURS")
    (code, *_) = _codes(api, batch="OURS")
    other = make_org(svc)

    with live_server.client(token_for(svc, other.admin)) as client:
        listed = json_of(client.get("/api/v1/batches"))["items"]
        shown = client.get(f"/api/v1/batches/{batch['id']}")
        printing = client.post(f"/api/v1/batches/{batch['id']}/labels", json={"format": "csv"})
        label = client.get(f"/api/v1/codes/{code['token']}/label")
        same_number = client.post("/api/v1/batches", json={"count": 1, "number": "OURS"})

    assert listed == []
    for answer in (shown, printing, label):
        problem_of(answer, 404, "not_found")
        assert "OURS" not in answer.text
    assert json_of(same_number, 201)["number"] == "OURS", "numbers are per organization"
    assert _progress(api, batch["id"])["printed"] == 0
