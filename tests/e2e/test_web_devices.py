"""The back office's devices in headless Chromium against the real server (SPEC A3-A9,
A16; seed 000 "Starting with the Device"): creating from a template, pairing from a device's
Codes tab, unpairing with confirmation, documents, the photo, service history, notes, the
timeline, filters and paging, deleting, and what a Viewer does not get."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.domain.errors import NotFound
from onboard.services import codes, customers, devices, documents, pairing, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in
from tests.e2e.test_web_pages import visible

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(color: str = "teal") -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (12, 8), color).save(image, "PNG")
    return image.getvalue()


def signed_in(page: Page, live_server: LiveServer) -> tuple[Services, factories.Org]:
    svc = live_server.container.services
    org = factories.make_org(svc)
    sign_in(page, org.admin.email, factories.PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return svc, org


def make_device(
    svc: Services,
    org: factories.Org,
    name: str | None = None,
    *,
    serial: str | None = None,
    template_id: str | None = None,
    customer_id: str | None = None,
    departments: list[str] | None = None,
) -> Device:
    given = DeviceInput(
        name=name or factories.unique("Heat pump"),
        serial=serial,
        template_id=template_id,
        customer_id=customer_id,
        departments=departments,
    )
    return devices.create_device(svc, org.actor, given)


def make_code(svc: Services, org: factories.Org, *, label: str | None = None) -> Code:
    (code,) = codes.create_codes(svc, org.actor, count=1, label=label)
    return code


def row_of(page: Page, text: str) -> Locator:
    return page.get_by_role("row").filter(has_text=text)


def test_a_device_is_created_from_a_template_with_its_fields_and_a_missing_required_one_is_named(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    workshop = factories.make_department(svc, org)
    boiler = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Boiler"),
        fields=[
            {"name": "voltage", "type": "number", "required": True, "public": True},
            {"name": "installed_on", "type": "date"},
            {"name": "outdoor", "type": "boolean"},
        ],
        departments=[workshop.id],
    )
    name = factories.unique("Boiler unit")

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Devices").click()
    page.get_by_role("link", name="New device").click()
    page.get_by_label("Template").select_option(label=boiler.name)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("group", name=f"Attributes of {boiler.name}")).to_be_visible()
    expect(page.get_by_label("Voltage")).to_have_attribute("type", "number")
    expect(page.get_by_label("Installed on")).to_have_attribute("type", "date")
    expect(page.get_by_label(workshop.name)).to_be_checked()  # the template's department
    page.get_by_label("Name").fill(name)
    page.get_by_label("Serial number").fill("SN-B-0042")
    page.get_by_label("Installed on").fill("2024-05-17")
    page.get_by_label("Outdoor").select_option(label="Yes")
    page.get_by_role("button", name="Create device").click()

    voltage = page.get_by_label("Voltage")
    expect(voltage).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#attr-voltage-error")).to_have_text("Required")
    expect(page.get_by_role("alert")).to_contain_text("'voltage' is required")
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.get_by_label("Installed on")).to_have_value("2024-05-17")

    voltage.fill("230")
    page.get_by_role("button", name="Create device").click()

    expect(page.get_by_role("status")).to_contain_text(f"Device {name} created")
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    attributes = page.get_by_role("region", name="Attributes")
    expect(attributes).to_contain_text("Voltage")
    expect(attributes).to_contain_text("230")
    expect(attributes).to_contain_text("2024-05-17")
    expect(attributes).to_contain_text("Yes")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text(boiler.name)
    expect(details).to_contain_text(workshop.name)
    expect(page.get_by_role("navigation", name="Device sections").get_by_role(
        "link", name="Overview")).to_have_attribute("aria-current", "page")  # fmt: skip


def test_editing_a_device_changes_it_and_its_paired_code_follows_its_departments(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    depot = factories.make_department(svc, org)
    meter = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Meter"),
        fields=[{"name": "reading", "type": "number", "required": True}],
    )
    device = devices.create_device(
        svc,
        org.actor,
        DeviceInput(
            name=factories.unique("Meter"), template_id=meter.id, attributes={"reading": 7}
        ),
    )
    code = pairing.create_code_for_device(svc, org.actor, device.id)

    page.goto(f"/devices/{device.id}")
    page.get_by_role("link", name="Edit device").click()
    expect(page.get_by_label("Reading")).to_have_value("7")
    page.get_by_label("Reading").fill("")
    page.get_by_role("button", name="Save device").click()
    expect(page.locator("#attr-reading-error")).to_have_text("Required")

    page.get_by_label("Reading").fill("12.5")
    page.get_by_label("Status").select_option(label="Maintenance")
    page.get_by_label("Location").fill("Basement, room 4")
    page.get_by_label(depot.name).check()
    page.get_by_role("button", name="Save device").click()

    expect(page.get_by_role("status")).to_contain_text(f"Device {device.name} saved")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Maintenance")
    expect(details).to_contain_text("Basement, room 4")
    expect(details).to_contain_text(depot.name)
    expect(page.get_by_role("region", name="Attributes")).to_contain_text("12.5")
    assert codes.effective_departments_of(svc, code) == {depot.id}, "A8"
    page.get_by_role("link", name="Timeline").click()
    expect(
        page.get_by_role("region", name="Timeline").get_by_role("listitem").first
    ).to_contain_text("changed the attributes, departments, location and status")


def test_from_a_device_a_member_searches_for_an_unpaired_code_and_pairs_it(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    wanted = make_code(svc, org, label="Sticker for the roof")
    other = make_code(svc, org, label="Sticker for the cellar")

    page.goto(f"/devices/{device.id}")
    page.get_by_role("navigation", name="Device sections").get_by_role("link", name="Codes").click()
    expect(page.get_by_text("No code is paired with this device yet")).to_be_visible()
    page.get_by_role("link", name="+ Pair with code").click()
    page.get_by_label("Search unpaired codes").fill("roof")
    page.get_by_role("button", name="Search").click()

    expect(page.get_by_role("button", name=f"Pair code {other.token}")).to_have_count(0)
    page.get_by_role("button", name=f"Pair code {wanted.token}").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Code {wanted.token} paired with {device.name}"
    )
    link = page.get_by_role("link", name=wanted.token, exact=True)
    expect(link).to_have_attribute("href", f"/codes/{wanted.token}")
    expect(page.get_by_role("link", name=re.compile(r"^Codes\s+1$"))).to_be_visible()
    assert codes.get_code(svc, org.actor, wanted.token).device_id == device.id
    assert codes.get_code(svc, org.actor, other.token).device_id is None

    # A code paired already is refused with the reason next to the token field.
    page.get_by_role("link", name="+ Pair with code").click()
    page.get_by_label("Code token").fill(wanted.token.lower())
    page.get_by_role("button", name="Pair this code").click()
    expect(page.locator("#pair-token-error")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("paired with a device already")


def test_create_code_and_pair_makes_a_new_code_shown_on_the_codes_tab(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)

    page.goto(f"/devices/{device.id}/codes")
    page.get_by_role("button", name="Create code and pair").click()

    notice = page.get_by_role("status")
    expect(notice).to_contain_text("created and paired")
    token = re.search(r"New code (\w+) created", notice.inner_text())
    assert token, notice.inner_text()
    expect(page.get_by_role("link", name=token.group(1), exact=True)).to_be_visible()
    assert codes.get_code(svc, org.actor, token.group(1)).device_id == device.id


def test_unpairing_from_the_codes_tab_asks_first_and_keeps_the_code(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    code = make_code(svc, org)
    pairing.pair_code(svc, org.actor, code.token, device.id)

    page.goto(f"/devices/{device.id}/codes")
    page.get_by_role("link", name=f"Unpair code {code.token}").click()
    expect(
        page.get_by_role("heading", name=f"Unpair code {code.token} from {device.name}?")
    ).to_be_visible()
    page.get_by_role("link", name="Cancel").click()

    expect(page).to_have_url(re.compile(rf"/devices/{device.id}/codes$"))
    expect(page.get_by_role("link", name=code.token, exact=True)).to_be_visible()
    assert codes.get_code(svc, org.actor, code.token).device_id == device.id

    page.get_by_role("link", name=f"Unpair code {code.token}").click()
    page.get_by_role("button", name="Unpair").click()

    expect(page.get_by_role("status")).to_contain_text(f"Code {code.token} unpaired")
    expect(page.get_by_text("No code is paired with this device yet")).to_be_visible()
    kept = codes.get_code(svc, org.actor, code.token)
    assert kept.device_id is None, "the code still exists, unpaired"
    assert devices.get_device(svc, org.actor, device.id).name == device.name


def test_a_device_created_from_a_codes_link_is_paired_with_that_code(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    templates.create_template(svc, org.actor, name=factories.unique("Meter"), fields=[])
    code = make_code(svc, org)
    name = factories.unique("Meter at the gate")

    page.goto(f"/devices/new?pair_code={code.token}")
    expect(page.get_by_text(f"will be paired with code {code.token}")).to_be_visible()
    page.get_by_label("Template").select_option(label="No template")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(f"will be paired with code {code.token}")).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create device and pair").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Device {name} created and paired with code {code.token}"
    )
    expect(page).to_have_url(re.compile(r"/devices/\w+/codes$"))
    expect(page.get_by_role("link", name=code.token, exact=True)).to_be_visible()
    paired = codes.get_code(svc, org.actor, code.token)
    assert paired.device_id is not None
    assert devices.get_device(svc, org.actor, paired.device_id).name == name


def test_documents_are_uploaded_linked_made_public_opened_and_deleted(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    page.goto(f"/devices/{device.id}/documents")
    expect(page.get_by_text("No documents yet.")).to_be_visible()

    upload = page.get_by_role("region", name="Add a file")
    upload.get_by_label("Title").fill("Program listing")
    upload.get_by_label("File").set_input_files(
        {"name": "listing.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00\x03binary"}
    )
    upload.get_by_role("button", name="Upload file").click()
    expect(page.locator("#document-file-error")).to_have_text("Unsupported file type")
    expect(page.get_by_role("region", name="Add a file").get_by_label("Title")).to_have_value(
        "Program listing"
    )

    upload = page.get_by_role("region", name="Add a file")
    upload.get_by_label("Title").fill("Installation manual")
    upload.get_by_label("File").set_input_files(
        {"name": "manual.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    upload.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("status")).to_contain_text("Document Installation manual added")
    manual = page.get_by_role("row").filter(has_text="Installation manual")
    expect(manual).to_contain_text("PDF")
    expect(manual).to_contain_text("Internal")

    link = page.get_by_role("region", name="Add a link")
    link.get_by_label("Title").fill("Spare parts")
    link.get_by_label("Address").fill("https://parts.example.com/boiler")
    link.get_by_label("Public: code users see it").check()
    link.get_by_role("button", name="Add link").click()
    parts = page.get_by_role("row").filter(has_text="Spare parts")
    expect(parts).to_contain_text("Link")
    expect(parts).to_contain_text("Public")
    expect(parts.get_by_role("link", name=re.compile(r"^Spare parts"))).to_have_attribute(
        "href", "https://parts.example.com/boiler"
    )

    page.get_by_role("button", name="Make public Installation manual").click()
    expect(page.get_by_role("status")).to_contain_text("now shown to code users")
    manual = page.get_by_role("row").filter(has_text="Installation manual")
    expect(manual).to_contain_text("Public")
    href = manual.get_by_role("link", name="Installation manual", exact=True).get_attribute("href")
    assert href
    opened = page.request.get(href)
    assert opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.body() == PDF

    page.get_by_role("link", name="Delete Installation manual").click()
    expect(
        page.get_by_role("heading", name="Delete the document Installation manual?")
    ).to_be_visible()
    page.get_by_role("button", name="Delete document").click()
    expect(page.get_by_role("status")).to_contain_text("Document Installation manual deleted")
    expect(page.get_by_role("row").filter(has_text="Installation manual")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="Spare parts")).to_have_count(1)
    found = documents.list_documents(svc, org.actor, device.id, PageRequest())
    assert [(d.title, d.public) for d in found.items] == [("Spare parts", True)]


def test_the_installation_photo_is_uploaded_shown_and_a_wrong_file_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    page.goto(f"/devices/{device.id}")
    expect(page.get_by_text("No photo yet.")).to_be_visible()

    page.get_by_label("Add a photo").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"just some text"}
    )
    page.get_by_role("button", name="Upload photo").click()
    expect(page.locator("#photo-file-error")).to_have_text("Unsupported file type")

    page.get_by_label("Add a photo").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": png()}
    )
    page.get_by_role("button", name="Upload photo").click()

    expect(page.get_by_role("status")).to_contain_text("Installation photo added")
    photo = page.get_by_role("img", name=f"Installation photo of {device.name}")
    expect(photo).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 12", arg=photo.element_handle()
    )
    page.get_by_role("link", name="Remove photo").click()
    page.get_by_role("button", name="Remove photo").click()
    expect(page.get_by_role("status")).to_contain_text("Installation photo removed")
    expect(page.get_by_text("No photo yet.")).to_be_visible()


def test_service_records_and_notes_are_added_and_the_timeline_tells_the_devices_life(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    code = make_code(svc, org)
    pairing.pair_code(svc, org.actor, code.token, device.id)
    pairing.unpair_code(svc, org.actor, code.token)
    documents.set_photo(svc, org.actor, device.id, png())
    tabs = page.get_by_role("navigation", name="Device sections")

    page.goto(f"/devices/{device.id}/service")
    page.get_by_label("Date").fill("2024-02-29")
    page.get_by_label("What was done").fill("Replaced the filter\nand bled the radiators")
    page.get_by_role("button", name="Add service record").click()
    expect(page.get_by_role("status")).to_contain_text("Service record added")
    records = page.get_by_role("region", name="Service history")
    expect(records).to_contain_text("2024-02-29")
    expect(records).to_contain_text("Replaced the filter")
    expect(records).to_contain_text(org.admin.email)

    tabs.get_by_role("link", name="Interactions").click()
    page.get_by_label("Text").fill("Customer called about noise")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Note added")
    expect(page.get_by_role("region", name="Customer interactions")).to_contain_text(
        "Customer called about noise"
    )

    tabs.get_by_role("link", name="Timeline").click()
    entries = page.get_by_role("region", name="Timeline").get_by_role("listitem")
    expect(entries.first).to_contain_text(f"{org.admin.email} added a note")
    expect(entries.nth(1)).to_contain_text("recorded service: “Replaced the filter")
    expect(entries.nth(2)).to_contain_text("added the installation photo")
    expect(entries.nth(3)).to_contain_text("unpaired")
    expect(entries.nth(4)).to_contain_text("paired")
    expect(entries.last).to_contain_text("created the device")
    expect(entries.last).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"))


def test_the_list_filters_and_pages_keeping_the_filters(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    depot = factories.make_department(svc, org)
    acme = customers.create_customer(svc, org.actor, name=factories.unique("ACME"))
    pumps = templates.create_template(svc, org.actor, name=factories.unique("Pump"), fields=[])
    for n in range(51):
        make_device(svc, org, f"Pump {n:02d}", template_id=pumps.id, serial=f"P-{n:02d}")
    valve = make_device(svc, org, "Valve V1", customer_id=acme.id, departments=[depot.id])
    devices.update_device(svc, org.actor, valve.id, {"status": "maintenance"})
    pairing.create_code_for_device(svc, org.actor, valve.id)

    page.goto("/devices")
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(51)  # 50 and the header
    expect(row_of(page, "Pump 00")).to_contain_text("unpaired")
    page.get_by_role("link", name="Next page →").click()
    expect(table.get_by_role("row")).to_have_count(3)
    expect(row_of(page, "Valve V1")).to_contain_text("1 code")

    page.goto("/devices")
    page.get_by_label("Search").fill("Pump")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(51)
    page.get_by_role("link", name="Next page →").click()
    expect(page).to_have_url(re.compile(r"q=Pump.*after=|after=.*q=Pump"))
    expect(table.get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("cell", name="Pump 50", exact=True)).to_be_visible()
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_label("Search")).to_have_value("Pump")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Pairing").select_option(label="Paired with a code")
    page.get_by_label("Status").select_option(label="Maintenance")
    page.get_by_label("Customer").select_option(label=acme.name)
    page.get_by_label("Department").select_option(label=depot.name)
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    valve_row = row_of(page, "Valve V1")
    expect(valve_row).to_contain_text(acme.name)
    expect(valve_row).to_contain_text("Maintenance")
    expect(valve_row).to_contain_text(depot.name)

    page.get_by_label("Pairing").select_option(label="Unpaired")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No devices match these filters.")).to_be_visible()

    page.goto("/devices")
    page.get_by_label("Template").select_option(label=pumps.name)
    page.get_by_label("Search").fill("P-07")
    page.get_by_role("button", name="Filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("link", name="Pump 07")).to_be_visible()


def test_deleting_a_device_asks_first_and_leaves_its_code_unpaired(
    page: Page, live_server: LiveServer
) -> None:
    svc, org = signed_in(page, live_server)
    device = make_device(svc, org)
    code = pairing.create_code_for_device(svc, org.actor, device.id)

    page.goto(f"/devices/{device.id}")
    page.get_by_role("link", name="Delete device").click()
    expect(page.get_by_role("heading", name=f"Delete device {device.name}?")).to_be_visible()
    expect(page.get_by_text("Its 1 code is unpaired and kept")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/devices/{device.id}$"))

    page.get_by_role("link", name="Delete device").click()
    page.get_by_role("button", name="Delete device").click()

    expect(page).to_have_url(re.compile(r"/devices$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"Device {device.name} deleted. Its 1 code was unpaired and kept."
    )
    with pytest.raises(NotFound):
        devices.get_device(svc, org.actor, device.id)
    assert codes.get_code(svc, org.actor, code.token).device_id is None


def test_a_viewer_sees_a_device_but_no_action_to_change_it(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    viewer = factories.make_member(svc, org, roles=["viewer"])
    device = make_device(svc, org)
    code = pairing.create_code_for_device(svc, org.actor, device.id)
    documents.add_document(
        svc, org.actor, device.id, documents.DocumentInput(title="Manual", content=PDF)
    )
    sign_in(page, viewer.email, factories.PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto("/devices")
    expect(page.get_by_role("link", name=device.name)).to_be_visible()
    expect(page.get_by_role("link", name="New device")).to_have_count(0)
    page.get_by_role("link", name=device.name).click()
    expect(page.get_by_role("heading", level=1, name=device.name)).to_be_visible()
    for action in ("Edit device", "Delete device"):
        expect(page.get_by_role("link", name=action)).to_have_count(0)
    expect(page.get_by_role("button", name="Upload photo")).to_have_count(0)

    page.get_by_role("navigation", name="Device sections").get_by_role("link", name="Codes").click()
    expect(page.get_by_role("link", name=code.token, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="+ Pair with code")).to_have_count(0)
    expect(page.get_by_role("button", name="Create code and pair")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Unpair"))).to_have_count(0)

    page.goto(f"/devices/{device.id}/documents")
    expect(page.get_by_role("link", name="Manual")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Make public"))).to_have_count(0)
    expect(page.get_by_role("region", name="Add a file")).to_have_count(0)
    for tab in ("service", "interactions"):
        page.goto(f"/devices/{device.id}/{tab}")
        expect(page.get_by_role("textbox")).to_have_count(0)

    refused = page.goto("/devices/new")
    assert refused is not None
    assert refused.status == 403


def test_an_oversized_photo_is_refused_next_to_the_file_field_without_javascript(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    device = make_device(svc, org)
    assert web.sign_in(org.admin.email, factories.PASSWORD).status_code == 303
    web.get(f"/devices/{device.id}")
    too_big = png() + b"\x00" * svc.upload_max_bytes

    answer = web.http.post(
        f"/devices/{device.id}/photo",
        data={"csrf_token": web.token},
        files={"file": ("photo.png", too_big, "image/png")},
    )

    assert answer.status_code == 413
    assert "The file is larger than" in visible(answer)
    assert 'id="photo-file-error"' in answer.text
    assert devices.get_device(svc, org.actor, device.id).photo_key is None
