"""The back office's templates area in headless Chromium (SPEC A4): create a template with
its attribute fields, edit them without any JavaScript, a GTIN checked by its check digit,
default departments, default documents, deleting after confirmation, and what a Viewer
sees."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from onboard.services import devices, documents, templates
from onboard.services.devices import DeviceInput
from onboard.services.documents import DocumentInput
from onboard.services.ports import PageRequest
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _id_in(href: str | None) -> str:
    assert href is not None
    return href.rsplit("/", 1)[-1]


def test_a_template_is_created_with_a_required_and_a_public_field_and_listed(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    workshop = factories.make_department(svc, org, name=factories.unique("Workshop"))
    name = factories.unique("Heat pump")
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Templates")).to_be_visible()
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Field 1 name").fill("power_kw")
    page.get_by_label("Field 1 type").select_option(label="Number")
    page.get_by_label("Field 1 required").check()
    page.get_by_label("Field 2 name").fill("colour")
    page.get_by_label("Field 2 public").check()
    page.get_by_label(workshop.name).check()
    page.get_by_role("button", name="Create template").click()

    expect(page.get_by_role("status")).to_contain_text(f"Template {name} created")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_text("2 fields")).to_be_visible()
    expect(page.get_by_label("Field 1 name")).to_have_value("power_kw")
    expect(page.get_by_label("Field 1 type")).to_have_value("number")
    expect(page.get_by_label("Field 1 required")).to_be_checked()
    expect(page.get_by_label("Field 1 public")).not_to_be_checked()
    expect(page.get_by_label("Field 2 name")).to_have_value("colour")
    expect(page.get_by_label("Field 2 required")).not_to_be_checked()
    expect(page.get_by_label("Field 2 public")).to_be_checked()
    expect(page.get_by_label("Field 3 name")).to_have_value("")
    expect(page.get_by_label(workshop.name)).to_be_checked()

    page.get_by_role("link", name="Templates").first.click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row.get_by_role("cell").nth(2)).to_have_text("2")
    expect(row).to_contain_text(workshop.name)
    link = row.get_by_role("link", name=name)
    saved = templates.get_template(svc, org.actor, _id_in(link.get_attribute("href")))
    assert [(f.name, f.type.value, f.required, f.public) for f in saved.fields] == [
        ("power_kw", "number", True, False),
        ("colour", "string", False, True),
    ]
    assert saved.departments == {workshop.id}


def test_fields_are_renamed_added_and_dropped_and_a_bad_gtin_is_shown_next_to_its_field(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    template = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Chiller"),
        fields=[{"name": "power", "type": "number"}, {"name": "colour", "public": True}],
    )
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/templates/{template.id}")

    page.get_by_label("Field 1 name").fill("power_kw")
    page.get_by_label("Remove field 2").check()
    page.get_by_label("Field 3 name").fill("installed_on")
    page.get_by_label("Field 3 type").select_option(label="Date")
    page.get_by_role("button", name="Add another field").click()
    # Nothing is saved yet: the form comes back with what was typed and one more row.
    expect(page.get_by_label("Field 1 name")).to_have_value("power_kw")
    expect(page.get_by_label("Remove field 2")).to_be_checked()
    expect(page.get_by_label("Field 3 type")).to_have_value("date")
    page.get_by_label("Field 4 name").fill("serial_plate")
    page.get_by_label("Field 4 required").check()
    page.get_by_role("button", name="Save template").click()

    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.get_by_label("Field 1 name")).to_have_value("power_kw")
    expect(page.get_by_label("Field 2 name")).to_have_value("installed_on")
    expect(page.get_by_label("Field 3 name")).to_have_value("serial_plate")
    expect(page.get_by_label("Field 3 required")).to_be_checked()
    expect(page.get_by_label("Field 4 name")).to_have_value("")
    expect(page.locator("input[value='colour']")).to_have_count(0)

    page.get_by_label("GTIN (optional)").fill("4006381333932")
    page.get_by_role("button", name="Save template").click()

    gtin = page.get_by_label("GTIN (optional)")
    expect(gtin).to_have_attribute("aria-invalid", "true")
    expect(gtin).to_have_value("4006381333932")
    expect(page.locator("#template-gtin-error")).to_contain_text("check digit")
    page.get_by_label("GTIN (optional)").fill("4006381333931")
    page.get_by_label("Field 2 name").fill("2nd field")
    page.get_by_role("button", name="Save template").click()
    name_error = page.locator("#field-1-name-error")
    expect(name_error).to_contain_text("starting with a letter")
    expect(page.get_by_label("Field 2 name")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Field 2 name").fill("installed_on")
    page.get_by_role("button", name="Save template").click()

    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.get_by_label("GTIN (optional)")).to_have_value("04006381333931")
    saved = templates.get_template(svc, org.actor, template.id)
    assert [(f.name, f.type.value, f.required) for f in saved.fields] == [
        ("power_kw", "number", False),
        ("installed_on", "date", False),
        ("serial_plate", "string", True),
    ]
    assert saved.gtin == "04006381333931"


def test_default_documents_are_added_as_a_file_or_a_link_and_deleted_after_confirmation(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    template = templates.create_template(svc, org.actor, name=factories.unique("Boiler"), fields=[])
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/templates/{template.id}")
    documents_card = page.locator(
        "section", has=page.get_by_role("heading", name="Default documents")
    )
    expect(documents_card).to_contain_text("No default documents")

    # Neither a file nor a link: onboard says so at the file field and keeps the title.
    page.get_by_label("Title").fill("Service manual")
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#document-file-error")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Service manual")

    page.get_by_label("File").set_input_files(
        {"name": "manual.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("Public: shown to anyone").check()
    page.get_by_role("button", name="Add document").click()
    expect(page.get_by_role("status")).to_contain_text("Default document Service manual added")
    page.get_by_label("Title").fill("Datasheet")
    page.get_by_label("Or a link").fill("https://example.com/datasheet")
    page.get_by_role("button", name="Add document").click()

    expect(page.get_by_role("status")).to_contain_text("Datasheet added")
    manual = documents_card.get_by_role("listitem").filter(has_text="Service manual")
    expect(manual).to_contain_text("PDF")
    expect(manual).to_contain_text("Public")
    datasheet = documents_card.get_by_role("listitem").filter(has_text="Datasheet")
    expect(datasheet).to_contain_text("Link")
    expect(datasheet).to_contain_text("Internal")
    expect(datasheet.get_by_role("link", name="Datasheet", exact=True)).to_have_attribute(
        "href", "https://example.com/datasheet"
    )
    href = manual.get_by_role("link", name="Service manual", exact=True).get_attribute("href")
    assert href is not None
    opened = page.request.get(href)
    assert opened.ok
    assert opened.body() == PDF

    manual.get_by_role("link", name="Delete Service manual").click()
    expect(
        page.get_by_role("heading", name="Delete the default document Service manual?")
    ).to_be_visible()
    page.get_by_role("button", name="Delete document").click()

    expect(page.get_by_role("status")).to_contain_text("Service manual deleted")
    expect(documents_card.get_by_role("listitem")).to_have_count(1)
    expect(documents_card).to_contain_text("Datasheet")
    listed = documents.list_template_documents(svc, org.actor, template.id, PageRequest(None, 50))
    assert [d.title for d in listed.items] == ["Datasheet"]


def test_a_template_in_use_is_kept_with_the_reason_and_an_unused_one_is_deleted(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    template = templates.create_template(svc, org.actor, name=factories.unique("Valve"), fields=[])
    device = devices.create_device(
        svc, org.actor, DeviceInput(name=factories.unique("Valve 1"), template_id=template.id)
    )
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/templates/{template.id}")

    page.get_by_role("link", name="Delete template").click()
    expect(page.get_by_role("heading", name=f"Delete template {template.name}?")).to_be_visible()
    page.get_by_role("button", name="Delete template").click()
    expect(page.get_by_role("alert")).to_contain_text("used by 1 device")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name=template.name, level=1)).to_be_visible()

    devices.delete_device(svc, org.actor, device.id)
    page.get_by_role("link", name="Delete template").click()
    page.get_by_role("button", name="Delete template").click()

    expect(page).to_have_url(re.compile(r"/templates$"))
    expect(page.get_by_role("status")).to_contain_text(f"Template {template.name} deleted")
    expect(page.get_by_role("link", name=template.name)).to_have_count(0)
    page.goto(f"/templates/{template.id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_a_viewer_reads_templates_but_gets_no_form_to_change_them(
    page: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    viewer = factories.make_member(svc, org, roles=["viewer"])
    template = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Pump"),
        fields=[{"name": "flow_rate", "type": "number", "required": True}],
    )
    documents.add_template_document(
        svc, org.actor, template.id, DocumentInput(title="Manual", url="https://example.com/m")
    )
    sign_in(page, viewer.email, factories.PASSWORD)

    page.goto("/templates")
    expect(page.get_by_role("link", name=template.name)).to_be_visible()
    expect(page.get_by_role("link", name="New template")).to_have_count(0)
    page.get_by_role("link", name=template.name).click()

    expect(page.get_by_role("cell", name="flow_rate")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="flow_rate")).to_contain_text("Number")
    expect(page.get_by_role("link", name="Manual")).to_be_visible()
    expect(page.locator("main form")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete template")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)
    page.goto("/templates/new")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_the_template_form_works_without_javascript_and_refuses_bad_input_with_4xx(
    web: WebClient, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)
    web.sign_in(org.admin.email, factories.PASSWORD)
    web.get("/templates/new")

    more = web.post(
        "/templates",
        {"name": "Fan", "field_name": ["speed", ""], "field_type": ["number", "string"],
         "intent": "add_field"},
    )  # fmt: skip
    bad = web.post(
        "/templates",
        {"name": "Fan", "field_name": ["", "9lives"], "field_type": ["string", "string"]},
    )
    made = web.post(
        "/templates",
        {"name": "Fan", "field_name": ["speed", "", "rpm"], "field_type": ["number"] * 3,
         "field_public": ["2"]},
    )  # fmt: skip
    shown = web.follow(made)
    missing = web.get("/templates/0000000000000000000000000")

    assert more.status_code == 200
    assert more.text.count('name="field_name"') == 3, "one more row, nothing saved"
    assert bad.status_code == 422
    assert 'id="field-1-name-error"' in bad.text, "the error sits at the row that was typed"
    assert shown.status_code == 200
    assert 'value="rpm"' in shown.text
    saved = templates.get_template(
        live_server.container.services, org.actor, _id_in(made.headers["location"])
    )
    assert [(f.name, f.public) for f in saved.fields] == [("speed", False), ("rpm", True)]
    assert missing.status_code == 404


def test_a_member_of_some_departments_keeps_default_departments_they_do_not_see(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    north = factories.make_department(svc, org, name=factories.unique("North"))
    south = factories.make_department(svc, org, name=factories.unique("South"))
    manager = factories.make_member(svc, org, roles=["device_manager"], departments=[south.id])
    template = templates.create_template(
        svc, org.actor, name=factories.unique("Boiler"), fields=[],
        departments=[north.id, south.id],
    )  # fmt: skip
    web.sign_in(manager.email, factories.PASSWORD)

    shown = web.get(f"/templates/{template.id}")
    saved = web.post(
        f"/templates/{template.id}", {"name": "Boiler, renamed", "field_name": ["flow"]}
    )

    assert shown.status_code == 200
    assert north.name not in shown.text, "a department the member is not in stays unnamed"
    assert south.name in shown.text
    assert 'name="departments"' not in shown.text, "no choice that would drop North"
    assert saved.status_code == 303
    after = templates.get_template(svc, org.actor, template.id)
    assert after.name == "Boiler, renamed"
    assert [f.name for f in after.fields] == ["flow"]
    assert after.departments == {north.id, south.id}
