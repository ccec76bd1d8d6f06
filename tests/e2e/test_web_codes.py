"""The back office's codes area in headless Chromium against the real server (SPEC A1, A5-A11,
A13, A16; seed 000 "In the Back Office Application / Starting with the Code"): creating codes,
the filtered list and its paging, pairing from a code and unpairing, the code's settings and
notification history, deleting a code, and what a Viewer sees; the same pages without
JavaScript answer bad input with pages, never with errors."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.services import codes, devices, pairing, public, records
from onboard.services.devices import DeviceInput
from onboard.services.ports import CodeFilter, PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in
from tests.e2e.test_web_pages import visible


def make_device(
    svc: Services, org: factories.Org, name: str, *, departments: list[str] | None = None
) -> Device:
    return devices.create_device(
        svc,
        org.actor,
        DeviceInput(
            name=factories.unique(name),
            serial=f"SN-{secrets.token_hex(4).upper()}",
            departments=departments,
        ),
    )


def make_code(
    svc: Services,
    org: factories.Org,
    *,
    label: str | None = None,
    departments: list[str] | None = None,
    pin: str | None = None,
) -> Code:
    (code,) = codes.create_codes(svc, org.actor, label=label, departments=departments, pin=pin)
    return code


def paired_code(svc: Services, org: factories.Org) -> tuple[Code, Device]:
    device = make_device(svc, org, "Pump")
    code = pairing.pair_code(svc, org.actor, make_code(svc, org).token, device.id)
    return code, device


def client_ip() -> str:
    """An address of its own, so this test's notification limit is its own."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def rows(page: Page) -> int:
    return page.locator("main tbody tr").count()


def test_a_member_creates_a_code_finds_it_among_the_unpaired_and_pairs_it_with_a_device(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    boiler = make_device(svc, org, "Boiler")
    chiller = make_device(svc, org, "Chiller")
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Codes").click()
    expect(page.get_by_text("No codes yet.")).to_be_visible()
    page.get_by_label("How many").fill("1")
    page.get_by_label("Label (optional)").fill("Boiler room")
    page.get_by_role("button", name="Create codes").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    token = page.url.rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9A-Z]{16}", token), page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(token)
    expect(page.locator(".codes-qr-image svg")).to_be_visible()
    expect(page.get_by_text(f"/c/{token}")).to_be_visible()

    # Starting with the code (seed 000): find it among the unpaired codes.
    pairing.pair_code(svc, org.actor, make_code(svc, org).token, chiller.id)
    page.locator(".breadcrumb").get_by_role("link", name="Codes").click()
    expect(page.locator("main tbody tr")).to_have_count(2)
    page.get_by_label("Pairing").select_option("Unpaired")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"paired=no"))
    expect(page.locator("main tbody tr")).to_have_count(1)
    page.get_by_role("link", name=token).click()

    page.get_by_role("link", name="Pair with device").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pair")
    expect(page.get_by_role("link", name=boiler.name)).to_be_visible()
    expect(page.get_by_role("link", name=chiller.name)).to_have_count(0)  # paired already
    page.get_by_label("Find an unpaired device").fill(boiler.name.split()[1])
    page.get_by_label("Find an unpaired device").press("Enter")
    expect(page.locator("main tbody tr")).to_have_count(1)
    page.get_by_role("button", name=f"Pair with {boiler.name}").click()

    expect(page).to_have_url(re.compile(rf"/codes/{token}$"))
    expect(page.get_by_role("status")).to_contain_text(f"Code paired with {boiler.name}")
    device_section = page.get_by_role("region", name="Device")
    expect(device_section.get_by_role("link", name=boiler.name)).to_have_attribute(
        "href", f"/devices/{boiler.id}"
    )
    assert codes.get_code(svc, org.actor, token).device_id == boiler.id

    # The device is no longer offered for another code; pair that one by keyboard alone.
    other = make_code(svc, org)
    spare = make_device(svc, org, "Spare")
    page.goto(f"/codes/{other.token}/pair")
    expect(page.get_by_role("link", name=spare.name)).to_be_visible()
    expect(page.get_by_role("link", name=boiler.name)).to_have_count(0)
    page.get_by_label("Find an unpaired device").focus()
    pair_button = page.get_by_role("button", name=f"Pair with {spare.name}")
    for _ in range(6):
        page.keyboard.press("Tab")
        if pair_button.evaluate("b => b === document.activeElement"):
            break
    expect(pair_button).to_be_focused()
    assert pair_button.evaluate("b => getComputedStyle(b).boxShadow") != "none", "focus shows"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"Code paired with {spare.name}")

    page.goto("/codes?paired=yes")
    expect(page.locator("main tbody tr")).to_have_count(3)
    expect(page.get_by_role("link", name=boiler.name)).to_have_attribute(
        "href", f"/devices/{boiler.id}"
    )


def test_unpairing_from_the_code_asks_first_and_keeps_both_the_code_and_the_device(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    code, device = paired_code(svc, org)
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/codes/{code.token.lower()}")
    expect(page).to_have_url(re.compile(rf"/codes/{code.token}$"))  # the canonical address

    page.get_by_role("link", name="Unpair").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Unpair {code.token} from {device.name}?"
    )
    expect(page.get_by_text("notification history is cleared")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/codes/{code.token}$"))
    expect(
        page.get_by_role("region", name="Device").get_by_role("link", name=device.name)
    ).to_be_visible()
    assert codes.get_code(svc, org.actor, code.token).device_id == device.id

    page.get_by_role("link", name="Unpair").click()
    page.get_by_role("button", name="Unpair").click()

    expect(page.get_by_role("status")).to_contain_text("Code unpaired")
    section = page.get_by_role("region", name="Device")
    expect(section).to_contain_text("Not paired")
    expect(section.get_by_role("link", name="Pair with device")).to_be_visible()
    expect(section.get_by_role("link", name="Create a device and pair")).to_have_attribute(
        "href", f"/devices/new?pair_code={code.token}"
    )
    assert codes.get_code(svc, org.actor, code.token).device_id is None
    assert devices.get_device(svc, org.actor, device.id).name == device.name


def test_the_filters_narrow_the_list_and_the_pages_keep_them(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    north = factories.make_department(svc, org, name=factories.unique("North"))
    south = factories.make_department(svc, org, name=factories.unique("South"))
    bulk = factories.unique("Bulk")
    codes.create_codes(svc, org.actor, count=55, batch=bulk)
    in_north = make_code(svc, org, label="Roof north", departments=[north.id])
    in_south = make_code(svc, org, departments=[south.id])
    with_pin = make_code(svc, org, pin="2468")
    switched_off = codes.update_code(svc, org.actor, make_code(svc, org).token, {"active": False})
    # A8: paired with a device of the south, a code of the north counts as the south's.
    device = make_device(svc, org, "Fan", departments=[south.id])
    moved = make_code(svc, org, departments=[north.id])
    pairing.pair_code(svc, org.actor, moved.token, device.id)
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.goto("/codes")
    filters = page.get_by_role("search", name="Filter the codes")

    def filtered(**choices: str) -> list[str]:
        """Set every filter of the form (the ones not given to "any"), then filter."""
        for label in ("Pairing", "Status", "PIN", "Department"):
            field = filters.get_by_label(label, exact=True)
            if label in choices:
                field.select_option(label=choices[label])
            else:
                field.select_option(index=0)
        for label in ("Search", "Batch"):
            filters.get_by_label(label, exact=True).fill(choices.get(label, ""))
        with page.expect_navigation():
            filters.get_by_role("button", name="Filter").click()
        return page.locator("main tbody td[data-label=Token]").all_inner_texts()

    assert filtered(Pairing="Paired") == [moved.token]
    assert filtered(Status="Deactivated") == [switched_off.token]
    assert filtered(PIN="With PIN") == [with_pin.token]
    assert filtered(Department=north.name) == [in_north.token]
    assert sorted(filtered(Department=south.name)) == sorted([in_south.token, moved.token])
    assert filtered(Search="roof") == [in_north.token]
    assert filtered(Search=in_south.token[:6].lower()) == [in_south.token]
    assert filtered(Search="nothing like it") == []
    expect(page.get_by_text("No codes match these filters.")).to_be_visible()

    assert len(filtered(Batch=bulk, PIN="Without PIN")) == 50
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("main tbody tr")).to_have_count(5)
    assert f"batch={bulk.replace(' ', '+')}" in page.url
    expect(page.get_by_label("Batch", exact=True)).to_have_value(bulk)
    page.get_by_role("link", name="First page").click()
    expect(page.locator("main tbody tr")).to_have_count(50)
    expect(page.get_by_role("link", name="Next page")).to_be_visible()


def test_a_code_is_deactivated_after_confirming_activated_again_and_its_pin_set_and_removed(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    code = make_code(svc, org)
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/codes/{code.token}")

    page.get_by_role("link", name="Deactivate").click()
    expect(page.get_by_text("lose access to the device")).to_be_visible()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text("Code deactivated")
    expect(page.locator(".codes-tags")).to_contain_text("Deactivated")
    expect(page.get_by_role("link", name="Pair with device")).to_have_count(0)
    assert codes.get_code(svc, org.actor, code.token).active is False
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("status")).to_contain_text("Code activated")
    expect(page.locator(".codes-tags")).to_contain_text("Active")
    assert codes.get_code(svc, org.actor, code.token).active is True

    page.get_by_label("PIN", exact=True).fill("12ab")
    page.get_by_role("button", name="Set PIN").click()
    pin_field = page.get_by_label("PIN", exact=True)
    expect(pin_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#code-pin-error")).to_have_text("4 to 8 digits")
    expect(pin_field).to_have_value("12ab")
    assert codes.get_code(svc, org.actor, code.token).pin_protected is False

    pin_field.fill("4321")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_role("status")).to_contain_text("PIN set")
    expect(page.locator(".codes-tags")).to_contain_text("PIN")
    assert codes.get_code(svc, org.actor, code.token).pin_protected is True

    page.get_by_role("link", name="Remove PIN").click()
    page.get_by_role("button", name="Remove PIN").click()
    expect(page.get_by_role("status")).to_contain_text("PIN removed")
    expect(page.get_by_role("button", name="Set PIN")).to_be_visible()
    assert codes.get_code(svc, org.actor, code.token).pin_protected is False


def test_notifications_are_deleted_one_at_a_time_and_all_at_once_after_confirming(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    code, device = paired_code(svc, org)
    ip = client_ip()
    for message in ("The pump is leaking", "Strange noise at night", "Display is dark"):
        public.send_notification(svc, code.token, message=message, contact="Ann", client=ip)
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/codes/{code.token}")
    history = page.get_by_role("region", name="Notifications")
    expect(history.locator("li")).to_have_count(3)

    history.locator("li", has_text="The pump is leaking").get_by_role("link", name="Delete").click()
    expect(page.locator("blockquote")).to_contain_text("The pump is leaking")
    page.get_by_role("button", name="Delete message").click()
    expect(page.get_by_role("status")).to_contain_text("Message deleted")
    expect(history.locator("li")).to_have_count(2)
    expect(history).not_to_contain_text("The pump is leaking")

    history.get_by_role("link", name="Delete all").click()
    page.get_by_role("button", name="Delete all messages").click()
    expect(page.get_by_role("status")).to_contain_text("All messages deleted")
    expect(history).to_contain_text("No messages.")
    assert codes.list_notifications(svc, org.actor, code.token, PageRequest()).items == []
    kept = records.list_interactions(svc, org.actor, device.id, PageRequest())
    assert len(kept.items) == 3, "the device keeps each message among its interactions"


def test_deleting_a_code_asks_first_and_keeps_its_device(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    code, device = paired_code(svc, org)
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/codes/{code.token}")

    page.get_by_role("link", name="Delete code").click()
    expect(
        page.get_by_text(f"unpaired from {device.name} first; the device is kept")
    ).to_be_visible()
    page.get_by_role("button", name="Delete code").click()

    expect(page).to_have_url(re.compile(r"/codes$"))
    expect(page.get_by_role("status")).to_contain_text(f"Code {code.token} deleted")
    expect(page.get_by_role("link", name=code.token)).to_have_count(0)
    assert devices.get_device(svc, org.actor, device.id).name == device.name
    assert pairing.codes_of_device(svc, org.actor, device.id) == []
    page.goto(f"/codes/{code.token}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_a_viewer_sees_codes_without_any_action_and_a_forced_form_is_refused(
    page: Page, live_server: LiveServer, web: WebClient
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    code, device = paired_code(svc, org)
    public.send_notification(svc, code.token, message="Hello", contact=None, client=client_ip())
    unpaired = make_code(svc, org)
    viewer = factories.make_member(svc, org, roles=["viewer"])
    sign_in(page, viewer.email, factories.PASSWORD)

    page.goto("/codes")
    expect(page.locator("main tbody tr")).to_have_count(2)
    expect(page.get_by_role("heading", name="Create codes")).to_have_count(0)
    page.goto(f"/codes/{code.token}")
    expect(page.get_by_role("region", name="Notifications")).to_contain_text("Hello")
    expect(page.get_by_role("region", name="Device")).to_contain_text(device.name)
    main = page.get_by_role("main")
    expect(main.get_by_role("button")).to_have_count(0)
    for action in ("Unpair", "Delete code", "Delete all", "Delete", "Deactivate"):
        expect(main.get_by_role("link", name=action, exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="Settings")).to_have_count(0)
    page.goto(f"/codes/{unpaired.token}")
    expect(page.get_by_role("link", name="Pair with device")).to_have_count(0)

    web.sign_in(viewer.email, factories.PASSWORD)
    web.get(f"/codes/{code.token}")
    for path in ("deactivate", "unpair", "delete", "notifications/delete"):
        refused = web.post(f"/codes/{code.token}/{path}")
        assert refused.status_code == 403, (path, refused.status_code)
        assert "Your roles do not allow this" in visible(refused)
    assert web.get(f"/codes/{code.token}/delete").status_code == 403
    after = codes.get_code(svc, org.actor, code.token)
    assert (after.active, after.device_id) == (True, device.id)
    assert len(codes.list_notifications(svc, org.actor, code.token, PageRequest()).items) == 1


def test_the_pages_answer_bad_input_with_pages_and_changes_nothing(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    web.sign_in(org.admin.email, factories.PASSWORD)
    code, device = paired_code(svc, org)
    off = codes.update_code(svc, org.actor, make_code(svc, org).token, {"active": False})
    spare = make_device(svc, org, "Spare")

    assert web.get("/codes/not-a-code").status_code == 404
    assert web.get(f"/codes/{code.token}/notifications/nope/delete").status_code == 404
    assert web.get("/codes?after=bad!").status_code == 422
    assert web.get(f"/codes/{code.token.lower()}").headers["location"] == f"/codes/{code.token}"

    web.get("/codes")
    too_many = web.post("/codes", {"count": "5000", "label": "Kept"})
    assert too_many.status_code == 422
    assert "A whole number from 1 to 1000" in visible(too_many)
    assert 'value="Kept"' in too_many.text, "the form keeps what was typed"
    long_label = web.post("/codes", {"count": "2", "label": "x" * 200})
    assert long_label.status_code == 422
    assert "At most 100 characters" in visible(long_label)
    listed = codes.list_codes(svc, org.actor, CodeFilter(), PageRequest()).items
    assert [c.token for c in listed] == [code.token, off.token], "nothing was created"

    web.get(f"/codes/{code.token}")
    taken = web.post(f"/codes/{code.token}/pair", {"device_id": spare.id})
    assert taken.status_code == 409
    assert "already paired" in visible(taken)
    refused = web.post(f"/codes/{off.token}/pair", {"device_id": spare.id})
    assert refused.status_code == 409
    assert "deactivated" in visible(refused)
    assert web.post(f"/codes/{off.token}/pair", {"device_id": ""}).status_code == 422
    assert (
        web.post(f"/codes/{off.token}/pair", {"device_id": spare.id}, csrf=False).status_code == 403
    )
    assert pairing.codes_of_device(svc, org.actor, spare.id) == []
    assert codes.get_code(svc, org.actor, code.token).device_id == device.id
