"""The back office of enrollment in headless Chromium against the real server (issue 7
item 7; SPEC C1-C6, C8): enrolling a device through the form and its refusals, the list
with its state filters, an enrollment's page with its history and capabilities, a gateway
with its nodes and the serials it sees nearby, retrying a failed node, and deleting an
enrollment after confirmation. Devices and gateways take part over the device API."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from onboard.domain.enrollment import enroll_signature
from tests import factories
from tests.answers import json_of
from tests.conftest import LiveServer
from tests.e2e.test_web_browser import sign_in

KEY = "k3y-0f-the-device"


def serial(prefix: str) -> str:
    return factories.unique(prefix).replace(" ", "-")


def enroll_itself(live_server: LiveServer, number: str, capabilities: dict[str, Any]) -> str:
    """A direct device or a gateway enrolls over the device API (C3); its credential."""
    expires = int(time.time()) + 300
    body = {
        "serial": number,
        "expires": expires,
        "signature": enroll_signature(KEY, number, expires),
    }
    with live_server.client() as device:
        got = json_of(device.post("/device/v1/enroll", json=body))
        done = device.post(
            f"/device/v1/enroll/{got['enrollment_id']}/complete",
            json={"capabilities": capabilities},
            headers={"Authorization": f"Bearer {got['credential']}"},
        )
        json_of(done)
    return str(got["credential"])


def as_gateway(live_server: LiveServer, credential: str) -> httpx.Client:
    return live_server.client(credential)


def fill_enrollment(page: Page, number: str, kind: str, **more: str) -> None:
    page.get_by_label("Serial number").fill(number)
    page.get_by_label("Access key", exact=True).fill(KEY)
    page.get_by_role("radio", name=re.compile(rf"{kind} ·")).check()
    for label, value in more.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Enroll", exact=True).click()


def test_an_administrator_enrolls_a_direct_device_and_watches_it_arrive(
    page: Page, live_server: LiveServer
) -> None:
    """C1, C3: the form refuses a bad serial and a serial enrolled already, next to the
    field; the enrollment's page follows the device from pending to enrolled, with its
    capabilities, twin and history; the access key is never shown."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    number = serial("METER")
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Enrollments").click()
    page.get_by_role("link", name="Enroll a device").click()
    fill_enrollment(page, "has space", "Direct")
    expect(page.get_by_label("Serial number")).to_have_attribute("aria-invalid", "true")
    fill_enrollment(page, number, "Direct", **{"Name (optional)": "Boiler meter"})

    expect(page.get_by_role("status")).to_contain_text(f"Enrollment of {number} created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Boiler meter")
    expect(page.get_by_text("Pending").first).to_be_visible()
    assert KEY not in page.content()

    enroll_itself(live_server, number, {"relays": 2})
    page.reload()
    expect(page.locator(".page-head")).to_contain_text("Enrolled")
    expect(page.get_by_test_id("capabilities")).to_contain_text('"relays": 2')
    expect(page.locator(".enrollment-history li")).to_have_count(3)
    page.get_by_role("link", name="Its digital twin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Boiler meter")
    card = page.get_by_role("region", name="Enrollment")
    expect(card).to_contain_text(number)
    expect(card.get_by_test_id("device-capabilities")).to_contain_text('"relays": 2')
    expect(card.get_by_role("link", name="Enrolled")).to_be_visible()

    page.goto("/enrollments/new")
    fill_enrollment(page, number, "Direct")
    expect(page.get_by_role("alert")).to_contain_text("enrolled already")
    page.goto("/enrollments?state=done")
    expect(page.get_by_role("link", name=number)).to_be_visible()
    page.goto("/enrollments?state=pending")
    expect(page.get_by_role("link", name=number)).to_have_count(0)


def test_a_gateway_page_lists_its_nodes_and_offers_what_it_sees_nearby(
    page: Page, live_server: LiveServer
) -> None:
    """C4, C9: a serial the gateway reported is enrolled from its page (the form comes
    filled in with the gateway); a node that failed is retried; a node deleted after
    confirmation is unenrolled at the gateway's next job."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    gateway_serial, near = serial("GW"), serial("NODE")
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto("/enrollments/new")
    fill_enrollment(page, gateway_serial, "Gateway", **{"Name (optional)": "Hall gateway"})
    gateway_page = page.url
    credential = enroll_itself(live_server, gateway_serial, {"ble": True})
    with as_gateway(live_server, credential) as gateway:
        seen = {"serials": [{"serial": near, "rssi": -55}]}
        json_of(gateway.post("/device/v1/gateway/nearby", json=seen))

        page.goto(gateway_page)
        nearby = page.get_by_role("region", name="Seen nearby")
        expect(nearby).to_contain_text(near)
        expect(nearby).to_contain_text("-55 dBm")
        nearby.get_by_role("link", name="Enroll").click()
        expect(page.get_by_label("Serial number")).to_have_value(near)
        expect(page.get_by_label("Gateway (nodes only)")).to_have_value(
            gateway_page.rsplit("/", 1)[1]
        )
        expect(page.get_by_role("radio", name=re.compile("Node ·"))).to_be_checked()
        page.get_by_label("Access key", exact=True).fill("the-wrong-access-key")
        page.get_by_role("button", name="Enroll", exact=True).click()
        node_page = page.url

        (job,) = json_of(gateway.get("/device/v1/gateway/jobs"))
        failed = {"ok": False, "error": "access key rejected by the node"}
        json_of(gateway.post(f"/device/v1/gateway/jobs/{job['id']}/result", json=failed))
        page.reload()
        expect(page.get_by_role("alert")).to_contain_text("access key rejected by the node")
        page.get_by_role("button", name="Retry").click()
        expect(page.get_by_role("status")).to_contain_text("Pending again")
        (job,) = json_of(gateway.get("/device/v1/gateway/jobs"))
        json_of(
            gateway.post(
                f"/device/v1/gateway/jobs/{job['id']}/result",
                json={"ok": True, "capabilities": {"temp": 1}},
            )
        )

        page.goto(gateway_page)
        nodes = page.get_by_role("region", name="Its nodes")
        expect(nodes).to_contain_text(near)
        expect(nodes).to_contain_text("Enrolled")
        expect(page.get_by_role("region", name="Seen nearby")).to_contain_text("Nothing reported")

        page.goto(node_page)
        page.get_by_role("link", name="Delete enrollment").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"Delete the enrollment of {near}?"
        )
        page.get_by_role("button", name="Delete enrollment").click()
        expect(page.get_by_role("status")).to_contain_text("told at its next connection")
        expect(page.locator(".page-head")).to_contain_text("Unenrolling")
        (job,) = json_of(gateway.get("/device/v1/gateway/jobs"))
        assert (job["type"], job["serial"]) == ("unenroll", near)
        json_of(gateway.post(f"/device/v1/gateway/jobs/{job['id']}/result", json={"ok": True}))
    page.reload()
    expect(page.locator(".page-head")).to_contain_text("Unenrolled")
    expect(page.get_by_role("link", name="Delete enrollment")).to_have_count(0)


def test_members_who_may_not_enroll_see_enrollments_without_the_forms(
    page: Page, live_server: LiveServer
) -> None:
    """C8: a Device Manager who is not also an IoT Manager reads enrollments but gets no
    form, and the form's page refuses them."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    manager = factories.make_member(svc, org, roles=["device_manager"])
    sign_in(page, manager.email, factories.PASSWORD)

    page.goto("/enrollments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrollments")
    expect(page.get_by_role("link", name="Enroll a device")).to_have_count(0)
    assert page.request.get("/enrollments/new").status == 403
