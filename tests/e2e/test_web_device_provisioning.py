"""The "Provisioning" card of a device's overview in headless Chromium against the real
server, on SQLite and PostgreSQL (SPEC D4-D7): after activations through the use cases it
shows the device's group, serial, registration state, environment and history, newest
first; a member who edits devices replaces its hardware through the card's form, after a
confirmation step, and a refused serial is a form error that changes nothing; a Viewer
sees the card without the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from onboard.domain.devices import Device
from onboard.services import devices
from onboard.services.provisioning.environments import create_environment
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.test_web_browser import sign_in
from tests.provisioning import activated, group_id, register


@dataclass
class Provisioned:
    org: factories.Org
    made: NewGroup
    environment: str
    device: Device
    serial: str


def _provisioned(live_server: LiveServer) -> Provisioned:
    """A device activated twice (D4) through a group sending it to an environment in a
    region, with a second serial registered for its new hardware (D7)."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    environment = factories.unique("eu-west").replace(" ", "-")
    create_environment(
        svc, name=environment, api_url=f"https://{environment}.example.com",
        mqtt_url=f"mqtts://{environment}.example.com", region="Frankfurt",
    )  # fmt: skip
    made = create_group(
        svc, org.actor, group_id(), GroupInput(name="Meters", environments=(environment,))
    )
    serial = factories.unique("MTR").replace(" ", "-")
    register(svc, made, serial, f"{serial}-NEW")
    first = activated(svc, made, serial)
    again = activated(svc, made, serial)
    assert first.device_id == again.device_id
    device = devices.get_device(svc, org.actor, first.device_id)
    return Provisioned(org, made, environment, device, serial)


def _open(page: Page, live_server: LiveServer, email: str, device: Device) -> None:
    sign_in(page, email, factories.PASSWORD, path=f"/devices/{device.id}")
    expect(page.get_by_role("heading", name=device.name)).to_be_visible()


def test_the_overview_shows_the_group_environment_and_history_of_an_activated_device(
    page: Page, live_server: LiveServer
) -> None:
    """D4: the card names the group (a link to its page), the serial, the registration's
    state, the environment with its region and status, when it activated, and each
    activation, newest first."""
    given = _provisioned(live_server)

    _open(page, live_server, given.org.admin.email, given.device)

    card = page.get_by_test_id("device-provisioning")
    group = card.get_by_role("link", name=given.made.group.group_id)
    expect(group).to_have_attribute("href", f"/provisioning/{given.made.group.id}")
    expect(card.get_by_test_id("provisioning-serial")).to_have_text(given.serial)
    expect(card.get_by_test_id("provisioning-state")).to_have_text("Activated")
    environment = card.get_by_test_id("provisioning-environment")
    expect(environment).to_contain_text(given.environment)
    expect(environment).to_contain_text("Frankfurt")
    expect(environment).to_contain_text("up")
    expect(card.get_by_test_id("provisioning-activated")).not_to_have_text("Not yet")
    rows = card.get_by_test_id("provisioning-history").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Activated again")
    expect(rows.nth(1)).to_contain_text("Activated")
    expect(rows.nth(1)).to_contain_text(f"serial {given.serial}")
    expect(rows.nth(1)).to_contain_text(f"environment {given.environment}")

    group.click()
    expect(page).to_have_url(re.compile(rf"/provisioning/{given.made.group.id}$"))


def test_a_device_that_did_not_come_through_a_group_has_no_provisioning_card(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    device = devices.create_device(svc, org.actor, devices.DeviceInput("Plain pump"))

    _open(page, live_server, org.admin.email, device)

    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    expect(page.get_by_test_id("device-provisioning")).to_have_count(0)


def test_replacing_the_hardware_through_the_card_confirms_then_waits_for_the_new_device(
    page: Page, live_server: LiveServer
) -> None:
    """D7: the form asks for confirmation first; then the twin is the new serial's, the
    notice says to activate the new hardware, the history records the swap (before and
    after serials), and the new hardware activates into the same twin."""
    given = _provisioned(live_server)
    svc = live_server.container.services
    new = f"{given.serial}-NEW"
    _open(page, live_server, given.org.admin.email, given.device)
    card = page.get_by_test_id("device-provisioning")

    card.get_by_label("New hardware's serial").fill(new)
    card.get_by_role("button", name="Replace hardware…").click()

    confirm = page.get_by_test_id("replace-confirm")
    heading = f"Replace the hardware of {given.device.name}?"
    expect(confirm.get_by_role("heading", name=heading)).to_be_visible()
    assert devices.get_device(svc, given.org.actor, given.device.id).serial == given.serial
    confirm.get_by_role("button", name="Replace hardware").click()

    expect(page.get_by_text(f"Now serial {new}: activate the new hardware.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/devices/{given.device.id}$"))
    card = page.get_by_test_id("device-provisioning")
    expect(card.get_by_test_id("provisioning-serial")).to_have_text(new)
    expect(card.get_by_test_id("provisioning-state")).to_have_text(
        "Waiting for the new hardware to activate"
    )
    expect(card.get_by_test_id("provisioning-activated")).to_have_text("Not yet")
    newest = card.get_by_test_id("provisioning-history").locator("tbody tr").first
    expect(newest).to_contain_text("Hardware replaced")
    expect(newest).to_contain_text(f"serial {given.serial}")
    expect(newest).to_contain_text(f"serial {new}")

    assert activated(svc, given.made, new).device_id == given.device.id
    page.reload()
    expect(card.get_by_test_id("provisioning-state")).to_have_text("Activated")
    expect(card.get_by_test_id("provisioning-history").locator("tbody tr")).to_have_count(4)


def test_a_serial_the_group_refuses_is_a_form_error_and_changes_nothing(
    page: Page, live_server: LiveServer
) -> None:
    """D3, D7: in a preregistered group the new hardware's serial must be registered:
    the form says so at the serial, with the serial kept, and the twin stays as it was."""
    given = _provisioned(live_server)
    svc = live_server.container.services
    _open(page, live_server, given.org.admin.email, given.device)
    card = page.get_by_test_id("device-provisioning")

    card.get_by_label("New hardware's serial").fill("NEVER-REGISTERED")
    card.get_by_role("button", name="Replace hardware…").click()
    page.get_by_test_id("replace-confirm").get_by_role("button", name="Replace hardware").click()

    field = page.get_by_label("New hardware's serial")
    expect(field).to_have_value("NEVER-REGISTERED")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#replace-serial-error")).to_contain_text("is not registered")
    assert devices.get_device(svc, given.org.actor, given.device.id).serial == given.serial
    rows = page.get_by_test_id("provisioning-history").locator("tbody tr")
    expect(rows).to_have_count(2)


def test_a_viewer_sees_the_card_without_the_replace_form(
    page: Page, live_server: LiveServer
) -> None:
    given = _provisioned(live_server)
    viewer = factories.make_member(live_server.container.services, given.org, roles=["viewer"])

    _open(page, live_server, viewer.email, given.device)

    card = page.get_by_test_id("device-provisioning")
    expect(card.get_by_test_id("provisioning-state")).to_have_text("Activated")
    expect(card.get_by_test_id("replace-form")).to_have_count(0)
    expect(card.get_by_label("New hardware's serial")).to_have_count(0)
