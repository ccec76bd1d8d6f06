"""The customer portal in headless Chromium (SPEC P6, A15): a customer user signs in, sees
their customer's devices and no one else's, and opens a device's page, which shows its
details, photo and public documents, and never one of its codes."""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from onboard.domain.devices import Device, Location
from onboard.entrypoints.web.forms import PAGE_SIZE
from onboard.services import customers, documents, pairing, templates
from onboard.services import devices as devices_
from onboard.services.devices import DeviceInput
from onboard.services.documents import DocumentInput
from onboard.services.ports import Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in


def _png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, grey) PNG image, so that the browser can draw it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Portal:
    email: str
    customer: str
    mine: Device
    other: Device
    token: str


def _customer_with_devices(svc: Services) -> Portal:
    """A customer with a user and a device (photo, documents, a paired code), and another
    customer's device next to it."""
    org = factories.make_org(svc)
    ours = customers.create_customer(svc, org.actor, name=factories.unique("Stadtwerke"))
    theirs = customers.create_customer(svc, org.actor, name=factories.unique("Bäckerei"))
    email = f"{factories.unique('customer').replace(' ', '-')}@example.com"
    customers.add_customer_user(svc, org.actor, ours.id, email=email, password=factories.PASSWORD)
    template = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Heat pump"),
        fields=[
            {"name": "model", "public": True},
            {"name": "warranty_until", "type": "date", "public": True},
            {"name": "service_contract"},
        ],
    )
    mine = devices_.create_device(
        svc,
        org.actor,
        DeviceInput(
            name=factories.unique("Heat pump cellar"),
            serial="HP-2291",
            template_id=template.id,
            attributes={
                "model": "AW-12",
                "warranty_until": "2031-05-31",
                "service_contract": "SC-SECRET-77",
            },
            customer_id=ours.id,
            location=Location("Boiler room, Main St 4"),
        ),
    )
    other = devices_.create_device(
        svc,
        org.actor,
        DeviceInput(name=factories.unique("Oven"), serial="OV-1", customer_id=theirs.id),
    )
    documents.set_photo(svc, org.actor, mine.id, _png())
    documents.add_document(
        svc, org.actor, mine.id,
        DocumentInput(title="Operating manual", public=True, content=b"Switch it on.\n"),
    )  # fmt: skip
    documents.add_document(
        svc, org.actor, mine.id,
        DocumentInput(title="Internal wiring notes", url="https://example.com/wiring"),
    )  # fmt: skip
    code = pairing.create_code_for_device(svc, org.actor, mine.id)
    return Portal(email, ours.name, mine, other, code.token)


def _no_code_anywhere(page: Page, token: str) -> None:
    html = page.content()
    assert token.casefold() not in html.casefold(), "a customer user never sees a code"
    assert "/c/" not in html


def test_a_customer_user_sees_their_devices_and_a_device_page_without_any_code(
    page: Page, live_server: LiveServer
) -> None:
    portal = _customer_with_devices(live_server.container.services)

    sign_in(page, portal.email, factories.PASSWORD)

    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_role("heading", name=portal.customer, level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Areas")).to_have_count(0)
    row = page.get_by_role("row").filter(has_text=portal.mine.name)
    expect(row).to_contain_text("HP-2291")
    expect(row).to_contain_text("Boiler room, Main St 4")
    expect(row).to_contain_text("Active")
    expect(page.get_by_text(portal.other.name)).to_have_count(0)
    _no_code_anywhere(page, portal.token)

    row.get_by_role("link", name=portal.mine.name).click()

    expect(page.get_by_role("heading", name=portal.mine.name, level=1)).to_be_visible()
    details = page.locator("dl")
    expect(details).to_contain_text("HP-2291")
    expect(details).to_contain_text("Heat pump")
    expect(details).to_contain_text("Boiler room, Main St 4")
    expect(details).to_contain_text("AW-12")
    expect(details).to_contain_text("Warranty until")
    expect(page.get_by_text("SC-SECRET-77")).to_have_count(0)
    photo = page.get_by_role("img", name=f"Installation photo of {portal.mine.name}")
    expect(photo).to_be_visible()
    # Visible is not loaded: decode() waits for the image (and fails if it cannot load).
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 4, (
        "the photo loads"
    )
    manual = page.get_by_role("link", name="Operating manual")
    expect(manual).to_be_visible()
    expect(page.get_by_text("Internal wiring notes")).to_have_count(0)
    href = manual.get_attribute("href")
    assert href is not None
    opened = page.request.get(href)
    assert opened.ok
    assert opened.text() == "Switch it on.\n"
    _no_code_anywhere(page, portal.token)

    page.goto(f"/portal/devices/{portal.other.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text(portal.other.name)).to_have_count(0)
    assert not page.request.get(f"/portal/devices/{portal.other.id}/photo").ok
    page.goto("/codes")
    expect(page).to_have_url(re.compile(r"/portal$"))


def test_on_a_phone_the_portal_lists_devices_as_cards_and_opens_one(
    phone: Page, live_server: LiveServer
) -> None:
    portal = _customer_with_devices(live_server.container.services)

    sign_in(phone, portal.email, factories.PASSWORD)
    link = phone.get_by_role("link", name=portal.mine.name)
    expect(link).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing scrolls sideways on a phone"
    link.tap()

    expect(phone.get_by_role("heading", name=portal.mine.name, level=1)).to_be_visible()
    expect(phone.locator("dl")).to_contain_text("AW-12")
    expect(phone.get_by_role("img", name=re.compile("Installation photo"))).to_be_visible()
    expect(phone.get_by_role("link", name="Operating manual")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _no_code_anywhere(phone, portal.token)
    phone.get_by_role("link", name=re.compile("All devices of")).tap()
    expect(phone).to_have_url(re.compile(r"/portal$"))


def test_the_portal_pages_through_many_devices_without_javascript(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    customer = customers.create_customer(svc, org.actor, name=factories.unique("Fleet"))
    email = f"{factories.unique('fleet').replace(' ', '-')}@example.com"
    customers.add_customer_user(
        svc, org.actor, customer.id, email=email, password=factories.PASSWORD
    )
    for number in range(PAGE_SIZE + 1):
        devices_.create_device(
            svc, org.actor, DeviceInput(name=f"Pump {number:03}", customer_id=customer.id)
        )
    web.sign_in(email, factories.PASSWORD)

    first = web.get("/portal")
    after = re.search(r'href="(/portal\?after=[^"]+)" rel="next"', first.text)
    assert after is not None, "a link to the next page"
    second = web.get(after.group(1).replace("&amp;", "&"))

    names = re.compile(r">(Pump \d{3})</a>")
    on_first, on_second = names.findall(first.text), names.findall(second.text)
    assert len(on_first) == PAGE_SIZE
    assert len(on_second) == 1
    assert sorted(on_first + on_second) == [f"Pump {n:03}" for n in range(PAGE_SIZE + 1)]
    assert 'rel="next"' not in second.text
    assert 'href="/portal">First page' in second.text
