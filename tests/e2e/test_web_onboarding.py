"""QR onboarding in headless Chromium against the real server (SPEC D5): a phone opens an
onboarding label's URL as its QR holds it (upper case), signs in and comes back, onboards
the device with a name and location and lands on its page in the mobile app; the mobile
scan follows a typed onboarding link; the back office makes a batch, shows its progress
and downloads its labels as a PDF whose every QR (rasterised by PDFium, decoded by
zxing-cpp) is a device's onboarding URL with its claim code, computed here from D5's
text; an organization the group does not allow is told so and onboards nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.services.ports import Services
from onboard.services.provisioning import onboarding
from onboard.services.provisioning.activation import activate
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in
from tests.e2e.test_web_mobile import fits_the_phone
from tests.integration.test_onboarding import claim_code_of, new_group, register, registration
from tests.label_decoding import decoded_labels
from tests.provisioning import key_of, signed


def label_url(svc: Services, made: Any, serial: str, path_serial: str | None = None) -> str:
    """What the label's QR holds, read back as a phone reads it: upper case (A2)."""
    code = claim_code_of(made.secret, serial)
    base = svc.public_url.rstrip("/")
    return f"{base}/o/{made.group.group_id}/{path_serial or serial}/{code}".upper()


def test_a_phone_opens_a_label_signs_in_and_onboards_the_device_onto_its_page(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = new_group(svc, org)
    register(svc, made, "sn-lower-1")
    url = label_url(svc, made, "sn-lower-1", onboarding.path_serial("sn-lower-1"))

    phone.goto(url)
    expect(phone).to_have_url(re.compile(r"/m/login\?next="))
    phone.get_by_label("Email").fill(org.admin.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()

    name = org.organization.name
    expect(phone.get_by_role("heading", name=f"Onboard this device into {name}")).to_be_visible()
    expect(phone.get_by_test_id("onboarding-serial")).to_have_text("sn-lower-1")
    fits_the_phone(phone)
    phone.get_by_label("Name (optional)").fill("Pump 7")
    phone.get_by_label("Location (optional)").fill("Basement, east wall")
    phone.get_by_role("button", name=f"Onboard into {name}").click()

    expect(phone.get_by_role("heading", name="Pump 7")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/m/devices/[0-9A-Z]+$"))
    expect(phone.get_by_text("Add a photo of it as installed")).to_be_visible()
    expect(phone.get_by_text("Basement, east wall")).to_be_visible()
    device_id = phone.url.rsplit("/", 1)[1]
    assert registration(svc, made, "sn-lower-1").device_id == device_id

    phone.goto(url)
    expect(phone).to_have_url(re.compile(rf"/m/devices/{device_id}$"))
    expect(phone.get_by_text("is onboarded into")).to_be_visible()


def test_the_mobile_scan_follows_a_typed_onboarding_link(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = new_group(svc, org)
    register(svc, made, "SN-SCAN-1")
    phone.goto("/m/login?next=/m/scan")
    phone.get_by_label("Email").fill(org.admin.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()

    phone.get_by_label("Code or link").fill(label_url(svc, made, "SN-SCAN-1"))
    phone.get_by_role("button", name="Find").click()

    expect(phone.get_by_test_id("onboarding-serial")).to_have_text("SN-SCAN-1")
    expect(phone.get_by_role("button", name=re.compile("^Onboard into"))).to_be_visible()


def test_the_batches_page_makes_a_batch_shows_its_progress_and_downloads_its_labels(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = new_group(svc, org)
    serials = ["SN-B-1", "SN-B-2", "SN-B-3"]
    register(svc, made, *serials, "SN-B-4")
    path = f"/provisioning/{made.group.group_id}/batches"
    sign_in(page, org.admin.email, factories.PASSWORD, path=path)
    expect(page.get_by_role("heading", name="Onboarding labels")).to_be_visible()

    page.get_by_label("Labels").fill("3")
    page.get_by_role("button", name="New batch").click()

    expect(page.get_by_text("Batch 1 made: 3 labels to print.")).to_be_visible()
    expect(page.locator("[data-batch='1'] [data-testid=printed]")).to_have_text("3")
    onboarding.claim_device(
        svc, org.actor, made.group.group_id, "SN-B-1", claim_code_of(made.secret, "SN-B-1")
    )
    activate(svc, **signed(made.group.group_id, "SN-B-2", key_of(made.secret, "SN-B-2")))
    page.reload()
    for name, figures in (("Onboarded", "2 of 3"), ("Activated", "1 of 3")):
        bar = page.get_by_role("progressbar", name=f"{name} of batch 1")
        expect(bar).to_have_attribute("aria-valuetext", figures)

    with page.expect_download() as saved:
        page.get_by_role("button", name="Download PDF").click()
    file = saved.value
    content = Path(file.path()).read_bytes()

    assert file.suggested_filename == f"onboarding-{made.group.group_id}-batch-1-a4-24.pdf"
    assert decoded_labels(content, STOCKS[StockName.A4_24]) == [
        label_url(svc, made, s) for s in serials
    ]
    page.goto(label_url(svc, made, "SN-B-3"))
    expect(page.get_by_test_id("onboarding-serial")).to_have_text("SN-B-3")


def test_an_organization_the_group_does_not_allow_is_told_so_and_onboards_nothing(
    live_server: LiveServer,
) -> None:
    svc = live_server.container.services
    owner, stranger = factories.make_org(svc), factories.make_org(svc)
    made = new_group(svc, owner)
    register(svc, made, "SN-NO-1")
    url = label_url(svc, made, "SN-NO-1")
    path = url[len(live_server.url) :]
    web = WebClient(live_server.url)
    try:
        web.sign_in(stranger.admin.email, factories.PASSWORD)
        shown = web.get(path)
        posted = web.post(path, {"name": "Mine now"})
        wrong = web.get(path[:-4] + "AAAA")
    finally:
        web.close()

    assert shown.status_code == 403
    assert "has not allowed it" in shown.text
    assert 'data-code="claim_not_allowed"' in posted.text
    assert posted.status_code == 403
    assert wrong.status_code == 404
    assert registration(svc, made, "SN-NO-1").device_id is None
