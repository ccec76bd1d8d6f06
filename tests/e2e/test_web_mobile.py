"""The mobile app under /m in headless Chromium at phone size (SPEC §5, A6-A9, A14; seed 000
"In the Mobile Application"): starting with the code (existing or new device), starting
with the device (pick a code, "+", scan to pair), unpairing from Code settings, a service
record, the installation photo, a real camera scan through the server's decoder, and the
fallbacks that work without JavaScript."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from onboard.domain.codes import Code, code_url
from onboard.domain.devices import Device, Location
from onboard.services import codes, devices, dynamic_codes, pairing, records, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import DeviceFilter, PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import PHONE, WebClient
from tests.e2e.pictures import png, qr_picture

GTIN = "09506000134352"


# --- helpers -----------------------------------------------------------------------------


def sign_in(phone: Page, svc: Services, *, roles: list[str] | None = None) -> factories.Org:
    """A new organization, signed in on the phone (as its Administrator, or as a member of
    it with ``roles``)."""
    org = factories.make_org(svc)
    email = org.admin.email
    if roles is not None:
        email = factories.make_member(svc, org, roles=roles).email
    phone.goto("/m/login")
    phone.get_by_label("Email").fill(email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url(re.compile(r"/m$"))
    return org


def make_device(
    svc: Services,
    org: factories.Org,
    name: str,
    *,
    serial: str | None = None,
    location: str | None = None,
) -> Device:
    given = DeviceInput(
        name=factories.unique(name),
        serial=serial,
        location=Location(location) if location else None,
    )
    return devices.create_device(svc, org.actor, given)


def make_code(svc: Services, org: factories.Org, *, label: str | None = None) -> Code:
    (code,) = codes.create_codes(svc, org.actor, label=label)
    return code


def device_of(svc: Services, org: factories.Org, code: Code) -> str | None:
    return codes.get_code(svc, org.actor, code.token).device_id


def fits_the_phone(phone: Page) -> None:
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{phone.url} scrolls sideways ({width}px)"


def open_actions(phone: Page) -> None:
    """The floating action button at the bottom right opens the device's action menu."""
    fab = phone.locator(".m-fab summary")
    box = fab.bounding_box()
    assert box is not None
    assert min(box["width"], box["height"]) >= 48, "the FAB is a comfortable touch target"
    assert box["x"] + box["width"] > PHONE["width"] * 0.75, "the FAB sits at the right"
    assert box["y"] + box["height"] > PHONE["height"] * 0.8, "the FAB sits within thumb reach"
    fab.click()
    expect(phone.get_by_role("list", name="Actions")).to_be_visible()


# --- starting with the code ---------------------------------------------------------------


def test_a_typed_unpaired_code_is_paired_with_an_existing_device_found_by_search(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    code = make_code(svc, org)
    boiler = make_device(svc, org, "Boiler", serial="SN-B-1")
    chiller = make_device(svc, org, "Chiller")

    phone.locator(".m-tile", has_text="Scan").click()
    expect(phone.get_by_role("heading", name="Scan a code")).to_be_visible()
    phone.get_by_label("Code or link").fill(code.token.lower())
    phone.get_by_role("button", name="Find").click()

    expect(phone.get_by_role("heading", name="Code not paired")).to_be_visible()
    expect(phone.get_by_text(code.token)).to_be_visible()
    fits_the_phone(phone)
    phone.get_by_role("link", name="Pair", exact=True).click()
    phone.get_by_role("link", name=re.compile("Existing device")).click()
    expect(phone.get_by_role("button", name=re.compile(chiller.name))).to_be_visible()
    phone.get_by_label("Search unpaired devices").fill(boiler.name)
    phone.get_by_label("Search unpaired devices").press("Enter")
    expect(phone.get_by_role("button", name=re.compile(chiller.name))).to_have_count(0)
    choice = phone.get_by_role("button", name=re.compile(boiler.name))
    expect(choice).to_contain_text("SN-B-1")
    box = choice.bounding_box()
    assert box is not None
    assert box["height"] >= 48, "a device to choose is easy to tap"
    choice.click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    expect(phone.locator(".m-state")).to_contain_text(f"is paired with {boiler.name}")
    assert device_of(svc, org, code) == boiler.id
    phone.get_by_role("link", name=f"Open {boiler.name}").click()
    expect(phone.get_by_role("heading", name=boiler.name)).to_be_visible()
    expect(phone.locator(".m-facts")).to_contain_text("1 code")


def test_a_code_is_paired_with_a_new_device_made_from_a_template_then_photographed(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    template = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Heat pump"),
        fields=[
            {"name": "model", "type": "string", "required": True},
            {"name": "power_kw", "type": "number"},
            {"name": "outdoor", "type": "boolean"},
        ],
    )
    code = make_code(svc, org)
    name = factories.unique("Heat pump at Miller's")

    phone.goto(f"/m/codes/{code.token}")
    phone.get_by_role("link", name="Pair", exact=True).click()
    phone.get_by_role("link", name=re.compile("New device")).click()
    phone.get_by_role("link", name=re.compile(re.escape(template.name))).click()
    expect(phone.get_by_role("heading", name=f"New {template.name}")).to_be_visible()
    phone.get_by_label("Name").fill(name)
    phone.get_by_label("Serial number").fill("HP-2291")
    phone.get_by_label("Power kw").fill("7,5")
    phone.get_by_label("Outdoor").select_option("yes")
    phone.get_by_role("button", name="Create and pair").click()

    model = phone.get_by_label("Model")
    expect(model).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".field", has=model)).to_contain_text("Required")
    expect(phone.get_by_label("Name")).to_have_value(name)
    expect(phone.get_by_label("Power kw")).to_have_value("7,5")
    assert device_of(svc, org, code) is None, "nothing was created"
    fits_the_phone(phone)
    model.fill("Aero 9")
    phone.get_by_role("button", name="Create and pair").click()

    expect(phone.get_by_role("heading", name="Installation photo")).to_be_visible()
    expect(phone.get_by_role("link", name="Skip the photo")).to_be_visible()
    phone.get_by_label("Take or choose a photo").set_input_files(
        {"name": "install.png", "mimeType": "image/png", "buffer": png()}
    )
    phone.get_by_role("button", name="Save photo").click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    expect(phone.locator(".m-state")).to_contain_text(f"is paired with {name}")
    (device,) = devices.list_devices(svc, org.actor, DeviceFilter(q=name), PageRequest()).items
    assert device_of(svc, org, code) == device.id
    assert (device.serial, device.template_id) == ("HP-2291", template.id)
    assert device.attributes == {"model": "Aero 9", "power_kw": 7.5, "outdoor": True}
    assert device.photo_key is not None
    phone.get_by_role("link", name=f"Open {name}").click()
    expect(phone.get_by_role("img", name=f"Installation photo of {name}")).to_be_visible()


def test_a_new_gs1_label_offers_to_create_its_device_with_a_code_bound_to_it(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    template = templates.create_template(
        svc, org.actor, name=factories.unique("Pump X"), fields=[], gtin=GTIN
    )
    dynamic_codes.create_rule(svc, org.actor, name="GS1", kind="gs1")
    serial = f"SN{secrets.token_hex(4).upper()}"

    phone.goto("/m/scan")
    phone.get_by_label("Code or link").fill(f"(01){GTIN}(21){serial}")
    phone.get_by_role("button", name="Find").click()
    expect(phone.get_by_role("heading", name="Not registered yet")).to_be_visible()
    expect(phone.locator(".m-offer")).to_contain_text(serial)
    assert devices.list_devices(svc, org.actor, DeviceFilter(), PageRequest()).items == []
    phone.get_by_role("button", name="Create device").click()

    expect(phone.get_by_role("heading", name="Installation photo")).to_be_visible()
    phone.get_by_role("link", name="Skip the photo").click()
    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    (device,) = devices.list_devices(svc, org.actor, DeviceFilter(), PageRequest()).items
    assert (device.serial, device.gtin, device.template_id) == (serial, GTIN, template.id)
    assert len(pairing.codes_of_device(svc, org.actor, device.id)) == 1

    phone.goto("/m/scan")
    phone.get_by_label("Code or link").fill(f"(01){GTIN}(21){serial}")
    phone.get_by_role("button", name="Find").click()
    expect(phone.get_by_role("heading", name=device.name)).to_be_visible()
    phone.goto("/m/scan")
    phone.get_by_label("Code or link").fill("no such thing")
    phone.get_by_role("button", name="Find").click()
    expect(phone.get_by_role("alert")).to_contain_text("No code or device of yours matches")
    expect(phone.get_by_label("Code or link")).to_have_value("no such thing")


# --- starting with the device -------------------------------------------------------------


def test_from_a_device_found_in_devices_an_existing_unpaired_code_is_paired(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    pump = make_device(svc, org, "Pump", location="Cellar")
    make_device(svc, org, "Fan")
    code = make_code(svc, org, label="Spare sticker")
    make_code(svc, org, label="Another sticker")

    phone.locator(".m-tile", has_text="Devices").click()
    expect(phone.get_by_role("heading", name="Devices")).to_be_visible()
    phone.get_by_label("Search devices").fill(pump.name)
    phone.get_by_label("Search devices").press("Enter")
    expect(phone.get_by_role("link", name=re.compile("Fan"))).to_have_count(0)
    phone.get_by_role("link", name=re.compile(pump.name)).click()
    expect(phone.get_by_role("heading", name=pump.name)).to_be_visible()
    expect(phone.locator(".m-facts")).to_contain_text("Not paired")
    fits_the_phone(phone)
    open_actions(phone)
    phone.get_by_role("link", name="Pair with code").click()

    expect(phone.get_by_role("heading", name="Pair with code")).to_be_visible()
    expect(phone.get_by_role("button", name=re.compile("Another sticker"))).to_be_visible()
    phone.get_by_label("Search unpaired codes").fill(code.token[:8])
    phone.get_by_label("Search unpaired codes").press("Enter")
    expect(phone.get_by_role("button", name=re.compile("Another sticker"))).to_have_count(0)
    phone.get_by_role("button", name=re.compile(code.token)).click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    expect(phone.get_by_role("status")).to_contain_text("Code paired with the device")
    assert device_of(svc, org, code) == pump.id


def test_the_plus_button_creates_a_new_code_paired_at_once_and_shows_its_qr(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    fan = make_device(svc, org, "Fan")

    phone.goto(f"/m/devices/{fan.id}")
    open_actions(phone)
    phone.get_by_role("link", name="Pair with code").click()
    expect(phone.get_by_text("There are no unpaired codes you can use")).to_be_visible()
    phone.get_by_role("button", name="New code").click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    (made,) = pairing.codes_of_device(svc, org.actor, fan.id)
    expect(phone.locator(".m-qr")).to_contain_text(made.token)
    expect(phone.locator(".m-qr svg title")).to_have_text(f"QR code of {made.token}")
    fits_the_phone(phone)


def test_scan_to_pair_pairs_the_typed_sticker_and_refuses_one_paired_elsewhere(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    crane = make_device(svc, org, "Crane")
    other = make_device(svc, org, "Other")
    taken = pairing.create_code_for_device(svc, org.actor, other.id)
    free = make_code(svc, org)

    phone.goto(f"/m/devices/{crane.id}")
    open_actions(phone)
    phone.get_by_role("link", name="Pair with code").click()
    phone.get_by_role("link", name="Scan a sticker").click()
    expect(phone.get_by_role("heading", name="Scan a sticker")).to_be_visible()
    expect(phone.locator(".m-lead")).to_contain_text(crane.name)
    phone.get_by_label("Code or link").fill(code_url(live_server.url, taken.token).upper())
    phone.get_by_role("button", name="Find").click()

    expect(phone.get_by_role("alert")).to_contain_text("paired with a device already")
    expect(phone.locator(".m-lead")).to_contain_text(crane.name)
    assert device_of(svc, org, taken) == other.id
    phone.get_by_label("Code or link").fill(free.token)
    phone.get_by_role("button", name="Find").click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    assert device_of(svc, org, free) == crane.id


def test_unpairing_from_code_settings_asks_first_and_keeps_both(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    boiler = make_device(svc, org, "Boiler")
    code = pairing.create_code_for_device(svc, org.actor, boiler.id)

    phone.goto("/m/scan")
    phone.get_by_label("Code or link").fill(code.token)
    phone.get_by_role("button", name="Find").click()
    expect(phone.get_by_role("heading", name=boiler.name)).to_be_visible()
    open_actions(phone)
    phone.get_by_role("link", name="Code settings").click()
    expect(phone.get_by_text(code.token)).to_be_visible()
    phone.get_by_role("link", name=f"Unpair {code.token}").click()
    expect(phone.get_by_role("heading", name="Unpair this code?")).to_be_visible()
    fits_the_phone(phone)
    phone.get_by_role("link", name="Cancel").click()

    expect(phone.get_by_role("heading", name="Code settings")).to_be_visible()
    assert device_of(svc, org, code) == boiler.id, "cancelling changes nothing"
    phone.get_by_role("link", name=f"Unpair {code.token}").click()
    phone.get_by_role("button", name="Unpair").click()

    expect(phone.get_by_role("heading", name="Done!")).to_be_visible()
    expect(phone.locator(".m-state")).to_contain_text("no longer paired")
    assert device_of(svc, org, code) is None
    assert devices.get_device(svc, org.actor, boiler.id).name == boiler.name
    phone.get_by_role("link", name=f"Open {boiler.name}").click()
    expect(phone.locator(".m-facts")).to_contain_text("Not paired")


def test_a_service_record_is_added_from_the_action_menu(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    lift = make_device(svc, org, "Lift")

    phone.goto(f"/m/devices/{lift.id}")
    expect(phone.get_by_text("No service records yet")).to_be_visible()
    open_actions(phone)
    phone.get_by_role("link", name="Add service record").click()
    phone.get_by_role("button", name="Save record").click()
    expect(phone.get_by_label("What was done")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#f-text-error")).to_contain_text("Required")
    phone.get_by_label("What was done").fill("Replaced the door sensor.\nTested 3 runs.")
    phone.get_by_label("Date").fill("2026-03-02")
    phone.get_by_role("button", name="Save record").click()

    expect(phone.get_by_role("status")).to_contain_text("Service record added")
    expect(phone.locator(".m-records")).to_contain_text("Replaced the door sensor.")
    expect(phone.locator(".m-records")).to_contain_text("2026-03-02")
    (record,) = records.list_service_records(svc, org.actor, lift.id, PageRequest()).items
    assert record.text == "Replaced the door sensor.\nTested 3 runs."


def test_a_photo_that_is_not_an_image_is_refused_next_to_the_field_and_a_real_one_is_shown(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc)
    gate = make_device(svc, org, "Gate")

    phone.goto(f"/m/devices/{gate.id}")
    open_actions(phone)
    phone.get_by_role("link", name="Photo").click()
    picker = phone.get_by_label("Take or choose a photo")
    picker.set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"not a picture at all"}
    )
    phone.get_by_role("button", name="Save photo").click()

    expect(phone.get_by_role("alert")).to_contain_text("not of an accepted type")
    expect(phone.locator("#f-file-error")).to_contain_text("Unsupported file type")
    expect(picker).to_have_attribute("aria-invalid", "true")
    assert devices.get_device(svc, org.actor, gate.id).photo_key is None
    picker.set_input_files({"name": "gate.png", "mimeType": "image/png", "buffer": png()})
    phone.get_by_role("button", name="Save photo").click()

    expect(phone.get_by_role("status")).to_contain_text("Photo saved")
    photo = phone.get_by_role("img", name=f"Installation photo of {gate.name}")
    expect(photo).to_be_visible()
    width = photo.evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width == 80, "the picture itself loads"


def test_a_viewer_sees_devices_but_no_actions_that_change_them(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = sign_in(phone, svc, roles=["viewer"])
    tank = devices.create_device(svc, org.actor, DeviceInput(name=factories.unique("Tank")))
    code = pairing.create_code_for_device(svc, org.actor, tank.id)

    phone.goto(f"/m/devices/{tank.id}")
    open_actions(phone)
    menu = phone.get_by_role("list", name="Actions")
    expect(menu.get_by_role("link")).to_have_text(["Code settings"])
    menu.get_by_role("link", name="Code settings").click()
    expect(phone.get_by_text(code.token)).to_be_visible()
    expect(phone.get_by_role("link", name=re.compile("Unpair"))).to_have_count(0)
    phone.goto(f"/m/devices/{tank.id}/pair")
    expect(phone.get_by_role("heading", name="Not allowed")).to_be_visible()


# --- a real camera ------------------------------------------------------------------------


def test_the_camera_reads_a_sticker_through_the_server_and_opens_its_device(
    camera: tuple[Page, Path], live_server: LiveServer
) -> None:
    phone, film = camera
    svc = live_server.container.services
    org = factories.make_org(svc)
    valve = devices.create_device(svc, org.actor, DeviceInput(name=factories.unique("Valve")))
    code = pairing.create_code_for_device(svc, org.actor, valve.id)
    film.write_bytes(qr_picture(code_url(live_server.url, code.token).upper()) * 30)
    frames: list[str] = []
    phone.on("request", lambda r: frames.append(r.url) if r.url.endswith("/m/scan/frame") else None)

    phone.goto("/m/login?next=/m/scan")
    phone.get_by_label("Email").fill(org.admin.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()

    expect(phone.get_by_role("heading", name=valve.name)).to_be_visible()
    expect(phone).to_have_url(re.compile(rf"/m/devices/{valve.id}$"))
    assert phone.evaluate("'BarcodeDetector' in window") is False, "Linux Chromium has none"
    assert frames, "the frames were decoded on the server"


# --- without JavaScript --------------------------------------------------------------------


def _mobile_sign_in(web: WebClient, svc: Services) -> factories.Org:
    org = factories.make_org(svc)
    web.get("/m/login")
    signed = web.post("/m/login", {"email": org.admin.email, "password": factories.PASSWORD})
    assert signed.status_code == 303
    return org


def upload(web: WebClient, path: str, content: bytes, **fields: str) -> httpx.Response:
    return web.http.post(
        path,
        data={"csrf_token": web.token, **fields},
        files={"file": ("photo.jpg", content, "image/jpeg")},
    )


def test_without_javascript_typed_entry_and_a_photo_of_the_sticker_still_work(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = _mobile_sign_in(web, svc)
    pump = devices.create_device(svc, org.actor, DeviceInput(name=factories.unique("Pump")))
    paired = pairing.create_code_for_device(svc, org.actor, pump.id)
    free = make_code(svc, org)

    page = web.get("/m/scan")
    assert page.status_code == 200
    assert re.search(r'<section class="m-camera"[^>]*\bhidden\b', page.text), (
        "the camera view shows only once the script starts it"
    )
    typed = web.post("/m/scan", {"payload": f"  {free.token.lower()} "})
    assert typed.status_code == 303
    assert typed.headers["location"] == f"/m/codes/{free.token}"
    assert "Code not paired" in web.follow(typed).text

    web.get("/m/scan")
    photo = upload(web, "/m/scan/photo", qr_picture(code_url(live_server.url, paired.token)))
    assert photo.status_code == 303
    assert photo.headers["location"] == f"/m/devices/{pump.id}"

    empty = upload(web, f"/m/devices/{pump.id}/photo", b"")
    assert empty.status_code == 422
    assert "Take or choose a photo first" in empty.text
    stored = upload(web, f"/m/devices/{pump.id}/photo", png())
    assert stored.status_code == 303
    assert devices.get_device(svc, org.actor, pump.id).photo_key is not None

    blank = upload(web, "/m/scan/photo", png("white"))
    assert blank.status_code == 422
    assert "No QR code was found in the photo" in blank.text
    huge = upload(web, "/m/scan/photo", b"\xff\xd8" + b"0" * (9 * 1024 * 1024))
    assert huge.status_code == 413
    assert "larger than 8 MB" in huge.text
    forged = web.http.post("/m/scan", data={"payload": free.token, "csrf_token": "forged"})
    assert forged.status_code == 403


def test_the_frame_endpoint_needs_the_csrf_header_and_bounds_the_frame(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = _mobile_sign_in(web, svc)
    code = make_code(svc, org)
    web.get("/m/scan")
    headers = {"Content-Type": "image/jpeg", "X-CSRF-Token": web.token}

    found = web.http.post("/m/scan/frame", content=qr_picture(code.token), headers=headers)
    nothing = web.http.post("/m/scan/frame", content=png("white"), headers=headers)
    garbage = web.http.post("/m/scan/frame", content=b"\x00" * 1000, headers=headers)
    forged = web.http.post(
        "/m/scan/frame", content=qr_picture(code.token), headers={"X-CSRF-Token": "forged"}
    )
    large = web.http.post("/m/scan/frame", content=b"0" * (2 * 1024 * 1024), headers=headers)

    assert (found.status_code, found.json()) == (200, {"text": code.token})
    assert (nothing.status_code, nothing.json()) == (200, {"text": None})
    assert (garbage.status_code, garbage.json()) == (200, {"text": None})
    assert forged.status_code == 403
    assert large.status_code == 413
