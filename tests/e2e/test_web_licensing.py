"""The back office of licensed client devices in headless Chromium against the real server
(issue 6 item 4; SPEC B1-B4, B8, B9): products and their licenses, "Assign device" with a
single-use QR that counts down and is replaced when it expires, reusable codes shown once
as secrets and revoked, configurations made and given to one or many devices, and the
licensed devices with their configuration and last check-in. Devices pair and check in
through the device API over HTTP, as the reference client does."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import update

from onboard.adapters.db import tables
from onboard.adapters.qr import read_qr_codes
from onboard.domain.licensing import LicenseStatus
from onboard.services import licensing
from onboard.services.devices import get_device
from onboard.services.ports import PageRequest, Services
from tests import factories
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.e2e.test_web_browser import sign_in

PAIR = "/device/v1/pair"
CHECKIN = "/device/v1/checkin"


def product_with_licenses(svc: Services, org: factories.Org, count: int) -> str:
    product = licensing.create_product(svc, org.actor, name=factories.unique("Collector"))
    licensing.grant_licenses(svc, org.actor, product.id, count=count, expires_at=None)
    return product.id


def pair(
    live_server: LiveServer, code: str, hardware_id: str, *, model: str | None = None
) -> httpx.Response:
    """A device pairs as the reference client does; without a model its twin is named
    "Device <hardware id>"."""
    with live_server.client() as device:
        return device.post(PAIR, json={"code": code, "hardware_id": hardware_id, "model": model})


def check_in(live_server: LiveServer, credential: str) -> dict[str, Any]:
    with live_server.client() as device:
        answer = device.post(CHECKIN, json={}, headers={"Authorization": f"Bearer {credential}"})
    return json_of(answer)


def shown_qr(page: Page) -> str:
    """The text of the QR the page draws, read from a screenshot as a camera would: the
    link in capitals, which QR codes hold in fewer modules (A2)."""
    (text,) = read_qr_codes(page.locator(".pairing-qr svg").first.screenshot())
    return text


def end_reservation(live_server: LiveServer, license_id: str) -> None:
    """Let a single-use code and its hold on the license end now: the server's clock
    cannot be moved, so its times are moved into the past."""
    past = live_server.container.services.clock.now() - timedelta(seconds=1)
    with live_server.database.engine.begin() as conn:
        conn.execute(
            update(tables.licenses)
            .where(tables.licenses.c.id == license_id)
            .values(reserved_until=past)
        )
        conn.execute(
            update(tables.pairing_codes)
            .where(tables.pairing_codes.c.license_id == license_id)
            .values(expires_at=past)
        )


def test_an_administrator_makes_a_product_and_grants_licenses_through_the_forms(
    page: Page, live_server: LiveServer
) -> None:
    """B1, B2: a product by name (a blank one refused next to its field), licenses granted
    with a count (0 refused) and shown free, counted in the product's header."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Licenses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Licenses")
    page.get_by_label("Name").fill("   ")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Name").fill("Field Collector")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Field Collector")
    expect(page.get_by_text("No licenses yet. Grant some below.")).to_be_visible()

    page.get_by_label("How many").fill("0")
    page.get_by_role("button", name="Grant licenses").click()
    expect(page.get_by_label("How many")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Grant 1 to 100,000 licenses")
    page.get_by_label("How many").fill("3")
    page.get_by_label("Expires (optional)").fill("2099-12-31T12:00")
    page.get_by_role("button", name="Grant licenses").click()

    expect(page.get_by_role("status")).to_contain_text("3 licenses granted.")
    expect(page.get_by_test_id("license-tally")).to_contain_text("3 free · 0 serving a device")
    rows = page.locator(".license-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.get_by_text("Free")).to_have_count(3)
    expect(rows.get_by_text("2099-12-31 12:00 UTC")).to_have_count(3)
    page.get_by_role("link", name="Licenses", exact=True).first.click()
    expect(page.get_by_role("row", name=re.compile("Field Collector"))).to_contain_text("3")


def test_assign_device_shows_a_single_use_qr_replaces_it_when_it_expires_and_sees_the_pairing(
    page: Page, live_server: LiveServer
) -> None:
    """B4: "Assign device" shows a QR for that license with a live countdown; when it ends
    the page fetches a new code in its place (the old one no longer pairs), and once a
    device has paired with the new one the page names it and the license row serves it."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    page.clock.install()
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/products/{product_id}")

    page.get_by_role("button", name="Assign device").click()
    expect(page.get_by_role("heading", name=re.compile("Assign a device"))).to_be_visible()
    first_url = page.get_by_test_id("pairing-url").inner_text()
    assert shown_qr(page) == first_url.upper()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/p/[0-9A-Z]{20}", first_url)
    countdown = page.get_by_role("timer")
    expect(countdown).to_contain_text(re.compile(r"Valid for (60|59) more seconds"))
    page.clock.run_for(5_000)
    expect(countdown).to_contain_text(re.compile(r"Valid for (55|54) more seconds"))

    end_reservation(live_server, page.url.split("/")[-2])
    page.clock.run_for(56_000)
    expect(page.get_by_role("status")).to_have_text("The code expired; this is a new one.")
    second_url = page.get_by_test_id("pairing-url").inner_text()
    assert second_url != first_url
    assert shown_qr(page) == second_url.upper()
    expect(countdown).to_contain_text(re.compile(r"Valid for (60|59) more seconds"))

    problem_of(pair(live_server, first_url, "OLD-CODE"), 410, "pairing_code_expired")
    paired = json_of(pair(live_server, second_url, "HANDHELD-7", model="TC52"))
    page.clock.run_for(2_500)
    expect(page.get_by_role("status")).to_have_text("Paired.")
    device_link = page.get_by_role("link", name="TC52")
    expect(device_link).to_have_attribute("href", f"/devices/{paired['device_id']}")
    expect(page.get_by_role("button", name="Show a new code")).to_be_hidden()

    page.goto(f"/products/{product_id}")
    expect(page.locator(".license-table tbody tr").first).to_contain_text("TC52")
    expect(page.get_by_role("button", name="Assign device")).to_have_count(0)
    expect(page.get_by_test_id("license-tally")).to_contain_text("0 free · 1 serving a device")


def test_assign_device_without_javascript_offers_a_new_code_and_refuses_a_taken_license(
    page: Page, live_server: LiveServer
) -> None:
    """B4 without scripts: "Show a new code" makes one while the license is free; once a
    device serves the license, assigning it again says it is not free."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    page.context.route("**/static/pairing.js*", lambda route: route.abort())
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/products/{product_id}")
    page.get_by_role("button", name="Assign device").click()
    first = page.get_by_test_id("pairing-code").inner_text()
    license_id = page.url.split("/")[-2]

    page.get_by_role("button", name="Show a new code").click()
    expect(page.get_by_role("alert")).to_contain_text("not free")
    end_reservation(live_server, license_id)
    page.get_by_role("button", name="Assign device").click()
    second = page.get_by_test_id("pairing-code").inner_text()
    assert second != first

    json_of(pair(live_server, second, "HANDHELD-8"))
    page.get_by_role("button", name="Show a new code").click()
    expect(page.get_by_role("alert")).to_contain_text("not free")
    expect(page.get_by_role("button", name="Assign device")).to_have_count(0)


def test_create_code_shows_the_reusable_qr_once_as_a_secret_and_revoking_it_stops_pairing(
    page: Page, live_server: LiveServer
) -> None:
    """B3: the code's QR and link are shown once with a warning that they are secrets; the
    devices paired with it join the departments ticked; the list counts its pairings
    without showing it; revoked, it pairs no more (410)."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 5)
    field_team = factories.make_department(svc, org, name=factories.unique("Field team"))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/products/{product_id}")

    page.get_by_role("link", name="Pairing codes").click()
    page.get_by_label(field_team.name).check()
    page.get_by_label("Valid for (days)").fill("0")
    page.get_by_role("button", name="Create code").click()
    expect(page.get_by_label("Valid for (days)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Valid for (days)").fill("7")
    page.get_by_label("At most this many devices (optional)").fill("2")
    page.get_by_role("button", name="Create code").click()

    expect(page.get_by_role("alert")).to_contain_text("This QR and its link are secrets.")
    url = page.get_by_test_id("pairing-url").inner_text()
    assert shown_qr(page) == url.upper()
    paired = json_of(pair(live_server, url, "CODE-DEVICE-1"))
    # P5: the device joins the departments ticked on the form, kept after the refusal.
    assert get_device(svc, org.actor, paired["device_id"]).departments == {field_team.id}

    page.get_by_role("link", name="Done").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Reusable")
    expect(row).to_contain_text("Valid")
    expect(row).to_contain_text("1 of 2")
    expect(page.get_by_text(url)).to_have_count(0)

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Pairing code revoked")
    expect(page.locator("tbody tr").first).to_contain_text("Revoked")
    problem_of(pair(live_server, url, "CODE-DEVICE-2"), 410, "pairing_code_revoked")
    free = licensing.list_licenses(
        svc, org.actor, PageRequest(), product_id=product_id, status=LicenseStatus.FREE
    )
    assert len(free.items) == 4


def test_configurations_are_made_from_json_and_given_to_many_devices_or_one(
    page: Page, live_server: LiveServer
) -> None:
    """B8: a document that is not JSON (or holds NaN) is refused next to the field; a new
    configuration shows its content and ETag; ticked devices get it at their next check-in,
    one device gets another from its page, and the lists say who uses which."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 3)
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    credentials = {
        name: json_of(pair(live_server, code.url, name))["credential"]
        for name in ("HW-A", "HW-B", "HW-C")
    }
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/products/{product_id}/devices")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr").first).to_contain_text("Not yet")
    expect(page.get_by_text("No configurations yet")).to_be_visible()

    page.get_by_role("link", name="Configurations").click()
    page.get_by_label("Name").fill("Fast uploads")
    page.get_by_label("Content").fill('{"upload_interval_s": 30,')
    page.get_by_role("button", name="Create configuration").click()
    expect(page.get_by_label("Content")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#configuration-body-error")).to_contain_text("Not JSON: line 1, column 26")
    page.get_by_label("Content").fill('{"upload_interval_s": NaN}')
    page.get_by_role("button", name="Create configuration").click()
    expect(page.locator("#configuration-body-error")).to_have_text("Finite numbers only")
    page.get_by_label("Content").fill('{"upload_interval_s": 30, "server": "https://a.example"}')
    page.get_by_role("button", name="Create configuration").click()

    expect(page.get_by_role("heading", name="Fast uploads")).to_be_visible()
    expect(page.get_by_test_id("configuration-body")).to_contain_text('"upload_interval_s": 30')
    fast = licensing.list_configurations(svc, org.actor, PageRequest(), product_id=product_id)
    (made,) = fast.items
    expect(page.get_by_text(made.etag)).to_be_visible()
    expect(page.get_by_text("No device you see uses it.")).to_be_visible()
    slow = licensing.create_configuration(
        svc, org.actor, product_id, name="Slow uploads", body={"upload_interval_s": 900}
    )

    page.goto(f"/products/{product_id}/devices")
    page.get_by_role("button", name="Change configuration").click()  # nothing chosen
    choice = page.get_by_label("Give the ticked devices")
    assert choice.evaluate("select => select.validity.valueMissing") is True
    page.get_by_label("Change Device HW-A").check()
    page.get_by_label("Change Device HW-B").check()
    page.get_by_label("Give the ticked devices").select_option(label="Fast uploads")
    page.get_by_role("button", name="Change configuration").click()
    expect(page.get_by_role("status")).to_contain_text(
        "2 devices will get the configuration at their next check-in."
    )
    for name in ("HW-A", "HW-B"):
        got = check_in(live_server, credentials[name])["configuration"]
        assert (got["id"], got["body"]) == (made.id, made.body)
    assert check_in(live_server, credentials["HW-C"])["configuration"] is None
    page.reload()
    expect(page.locator("tbody tr", has_text="HW-A")).to_contain_text("Fast uploads")
    expect(page.locator("tbody tr", has_text="HW-C")).to_contain_text("None")
    expect(page.get_by_text("Not yet")).to_have_count(0)  # all three have checked in

    page.locator("tbody tr", has_text="HW-C").get_by_role("link", name="Device HW-C").click()
    card = page.get_by_role("region", name="Client application")
    expect(card).to_contain_text("HW-C")
    card.get_by_label("Change its configuration").select_option(label="Slow uploads")
    card.get_by_role("button", name="Change").click()
    expect(page.get_by_role("status")).to_contain_text("at its next check-in")
    got = check_in(live_server, credentials["HW-C"])["configuration"]
    assert (got["id"], got["body"]) == (slow.id, {"upload_interval_s": 900})

    page.goto(f"/products/{product_id}/configurations")
    expect(page.get_by_role("row", name=re.compile("Slow uploads"))).to_contain_text("Newest")
    expect(page.get_by_role("row", name=re.compile("Slow uploads"))).to_contain_text("1")
    page.get_by_role("link", name="Fast uploads").click()
    expect(page.locator(".plain-list li")).to_have_count(2)


def test_removing_a_licensed_device_frees_its_license_in_the_table(
    page: Page, live_server: LiveServer
) -> None:
    """B9: deleting the device from its page frees its license at once; the device hears of
    it at its next check-in."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    paired = json_of(pair(live_server, code.url, "GONE-1"))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/devices/{paired['device_id']}")
    expect(page.get_by_role("region", name="Client application")).to_contain_text("GONE-1")

    page.get_by_role("link", name="Delete device").click()
    page.get_by_role("button", name=re.compile("Delete")).click()
    page.goto(f"/products/{product_id}")

    expect(page.get_by_test_id("license-tally")).to_contain_text("1 free · 0 serving a device")
    expect(page.locator(".license-table tbody tr").first).to_contain_text("Free")
    (command,) = check_in(live_server, paired["credential"])["commands"]
    assert command["type"] == "unpair"


def test_a_viewer_sees_licenses_and_devices_but_no_forms_and_is_refused_their_actions(
    page: Page, live_server: LiveServer
) -> None:
    """B2-B4, B8: Viewers read; only Administrators grant and only Administrators and
    Device Managers assign, make codes and configurations."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 2)
    (license_id, _) = (
        x.id
        for x in licensing.list_licenses(svc, org.actor, PageRequest(), product_id=product_id).items
    )
    viewer = factories.make_member(svc, org, roles=["viewer"])
    sign_in(page, viewer.email, factories.PASSWORD)
    page.goto(f"/products/{product_id}")

    expect(page.locator(".license-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Assign device")).to_have_count(0)
    expect(page.get_by_role("button", name="Grant licenses")).to_have_count(0)
    expect(page.get_by_role("link", name="Pairing codes")).to_have_count(0)
    page.get_by_role("link", name="Configurations").click()
    expect(page.get_by_role("button", name="Create configuration")).to_have_count(0)

    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"/licenses/{license_id}/assign", form={"csrf_token": csrf or ""}, max_redirects=0
    )
    assert answer.status == 403
    assert page.request.get(f"/products/{product_id}/codes").status == 403


def test_a_pairing_link_opened_in_a_browser_says_how_a_device_pairs_and_reveals_nothing(
    page: Page, live_server: LiveServer
) -> None:
    """B3, B4: the link is for a client application; in a browser, capitals or not, it
    explains itself without a word about the product or the organization, and something
    that cannot be a pairing code is not found."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)

    for link in (issued.url, issued.url.upper()):
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Pair a device")
        expect(page.locator("pre")).to_have_text(f"onboard device pair {issued.url}")
        assert org.organization.name not in page.content()
    assert page.request.get("/p/not-a-code").status == 404
    # Opening the link pairs nothing: the license is still free.
    free = licensing.list_licenses(
        svc, org.actor, PageRequest(), product_id=product_id, status=LicenseStatus.FREE
    )
    assert len(free.items) == 1
