"""A batch printed in every layout, as issue 5 will be checked: the print run's PDF pages are
rasterised by PDFium, every label is decoded by zxing-cpp, the decoded payloads are exactly
the batch's code URLs in order (uppercase, A2), and every decoded URL, opened as a phone
would open it, lands on its own code's page on the live server (A12). ZPL and CSV carry the
same URLs. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.entrypoints.labels import BatchFormat, LabelOptions, write_run
from onboard.services import batches, codes, pairing
from onboard.services.devices import DeviceInput, create_device
from onboard.services.ports import CodeFilter, PageRequest, Services
from tests.conftest import LiveServer
from tests.factories import Org, make_org
from tests.label_decoding import decoded_cells


@pytest.fixture(scope="module")
def svc(live_server: LiveServer) -> Services:
    return live_server.container.services


@pytest.fixture(scope="module")
def org(svc: Services) -> Org:
    return make_org(svc)


def printed(
    svc: Services, org: Org, batch_id: str, kind: BatchFormat, options: LabelOptions
) -> bytes:
    run = batches.start_print(svc, org.actor, batch_id)
    out = io.BytesIO()
    written = write_run(run, kind, options, out)
    assert written == run.total
    batches.finish_print(svc, run, output=f"{kind} {options.layout}")
    return out.getvalue()


@pytest.mark.parametrize("layout", list(StockName))
def test_every_label_of_every_layout_decodes_to_a_url_that_opens_its_code_page(
    live_server: LiveServer, svc: Services, org: Org, layout: StockName
) -> None:
    stock = STOCKS[layout]
    count = stock.per_page + 1  # a full page and one label on the next
    made = batches.create_batch(svc, org.actor, count=count, number=f"PRINT-{layout.value}")
    found = codes.list_codes(
        svc, org.actor, CodeFilter(batch=made.batch.number), PageRequest(limit=count)
    ).items
    devices: dict[str, str] = {}
    for code in found[::3]:  # every third sticker is on a device already
        device = create_device(svc, org.actor, DeviceInput(f"Pump {code.token[-5:]}"))
        pairing.pair_code(svc, org.actor, code.token, device.id)
        devices[code.token] = device.name

    content = printed(svc, org, made.batch.id, BatchFormat.PDF, LabelOptions(layout=layout))

    cells = decoded_cells(content, stock)
    urls = [cell[0] for cell in cells[:count] if len(cell) == 1]
    assert urls == [f"{live_server.url}/c/{code.token}".upper() for code in found]
    assert all(cell == [] for cell in cells[count:]), "the rest of the last page is blank"
    with httpx.Client(timeout=30) as phone:
        for url, code in zip(urls, found, strict=True):
            page = phone.get(url)  # as scanned: scheme, host and path all uppercase
            assert page.status_code == 200, url
            if code.token in devices:
                assert devices[code.token] in page.text
            else:
                assert "Code not paired" in page.text
    progress = batches.get_batch(svc, org.actor, made.batch.id).progress
    assert (progress.codes, progress.printed) == (count, count)


def test_zpl_and_csv_of_a_batch_carry_every_code_url(
    live_server: LiveServer, svc: Services, org: Org
) -> None:
    made = batches.create_batch(svc, org.actor, count=7, number="THERMAL")
    found = codes.list_codes(
        svc, org.actor, CodeFilter(batch="THERMAL"), PageRequest(limit=10)
    ).items
    expected = [f"{live_server.url}/c/{code.token}".upper() for code in found]
    options = LabelOptions(layout=StockName.ROLL_50X30)

    zpl = printed(svc, org, made.batch.id, BatchFormat.ZPL, options).decode("utf-8")
    sheet = printed(svc, org, made.batch.id, BatchFormat.CSV, options).decode("utf-8")

    labels = re.findall(r"\^XA.*?\^XZ", zpl, flags=re.DOTALL)
    assert len(labels) == 7
    payloads = [re.findall(r"\^FD[LMQH]M,A([^\^]*)\^FS", label) for label in labels]
    assert payloads == [[url] for url in expected]  # error level M, alphanumeric input
    rows = list(csv.reader(io.StringIO(sheet)))
    assert rows[0] == ["token", "url", "batch"]
    assert rows[1:] == [[c.token, url, "THERMAL"] for c, url in zip(found, expected, strict=True)]
    with httpx.Client(timeout=30) as phone:
        assert all(phone.get(url).status_code == 200 for url in expected)
