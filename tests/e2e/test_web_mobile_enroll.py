"""Enrolling connected devices in the mobile app, in headless Chromium at phone size and as
a browser without JavaScript (SPEC C9, C5, C8): the camera reads the QR on a device's back,
the app enrolls the node with its installation photo in one form, the organization's own
label pattern and a gateway's nearby report fill the form in, and refusals come back on
the form with nothing enrolled."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from onboard.domain.enrollment import DeviceKind, EnrollmentFilter, Sighting
from onboard.services import device_enrollment, documents, dynamic_codes, enrollments
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.pictures import png, qr_picture
from tests.e2e.test_web_mobile import fits_the_phone, sign_in, upload
from tests.integration.test_enrollments import KEY, proof

PATTERN = r"ACME\|SN=(?P<serial>[A-Z0-9-]+)\|AK=(?P<key>[A-Za-z0-9]{8,})"


def gateway_of(svc: Services, org: factories.Org, serial: str, name: str) -> tuple[str, str]:
    """A gateway enrolled directly (C3): its enrollment id and its credential."""
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput(serial, KEY, DeviceKind.GATEWAY, name=name)
    )
    got = device_enrollment.enroll(svc, *proof(serial))
    device_enrollment.complete(svc, got.credential, got.enrollment_id, {"ble": True})
    return made.id, got.credential


def enrollment_of(svc: Services, org: factories.Org, serial: str) -> list[str]:
    page = enrollments.list_enrollments(
        svc, org.actor, EnrollmentFilter(serial=serial), PageRequest(None, 10)
    )
    return [e.state.value for e in page.items]


def test_the_camera_reads_a_device_qr_and_the_app_enrolls_the_node_with_its_photo(
    camera: tuple[Page, Path], live_server: LiveServer, tmp_path: Path
) -> None:
    phone, film = camera
    svc = live_server.container.services
    org = factories.make_org(svc)
    film.write_bytes(qr_picture("CAM-7:camera-key-77") * 30)
    picture = tmp_path / "installed.png"
    picture.write_bytes(png("#884422"))

    phone.goto("/m/login?next=/m/enroll")
    phone.get_by_label("Email").fill(org.admin.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()

    expect(phone.get_by_role("heading", name="Enroll CAM-7")).to_be_visible()
    fits_the_phone(phone)
    phone.get_by_role("radio", name=re.compile("^Node")).check()
    expect(phone.get_by_label("Gateway (nodes only)")).to_have_value("")
    phone.get_by_label("Name (optional)").fill("Cold room sensor")
    phone.get_by_label("Location (optional)").fill("Cold room 3")
    phone.get_by_label("Installation photo (optional)").set_input_files(picture)
    phone.get_by_role("button", name="Enroll").click()

    expect(phone.get_by_role("heading", name="Cold room sensor")).to_be_visible()
    expect(phone.locator("[data-state]")).to_have_text("Enrolled")
    phone.get_by_role("link", name="Open the device").click()
    expect(phone.get_by_role("img", name=re.compile("Installation photo"))).to_be_visible()
    (done,) = enrollments.list_enrollments(
        svc, org.actor, EnrollmentFilter(serial="CAM-7"), PageRequest(None, 10)
    ).items
    assert done.device_id is not None
    assert documents.photo_of(svc, org.actor, done.device_id).content == picture.read_bytes()


def test_the_organizations_pattern_and_a_gateways_report_fill_in_the_form(
    phone: Page, live_server: LiveServer
) -> None:
    """C9: a label in the organization's own format is read; the gateway that sees the
    serial nearby is chosen; a nearby serial can be picked and its key typed."""
    svc = live_server.container.services
    org = sign_in(phone, svc)
    dynamic_codes.create_rule(svc, org.actor, name="ACME", kind="enrollment", pattern=PATTERN)
    gateway_id, credential = gateway_of(svc, org, "GW-HALL", "Hall gateway")
    device_enrollment.report_nearby(
        svc, credential, [Sighting("ACME-5", -45), Sighting("NB-2", -70)]
    )

    phone.get_by_role("link", name=re.compile("Enroll")).click()
    nearby = phone.get_by_role("region", name="Devices nearby")
    expect(nearby.get_by_role("link", name=re.compile("ACME-5"))).to_contain_text("Hall gateway")
    phone.get_by_label("Label text").fill("ACME|SN=ACME-5|AK=Secret99x")
    phone.get_by_role("button", name="Continue").click()

    expect(phone.get_by_role("heading", name="Enroll ACME-5")).to_be_visible()
    expect(phone.get_by_role("radio", name=re.compile("^Node"))).to_be_checked()
    expect(phone.get_by_label("Gateway (nodes only)")).to_have_value(gateway_id)
    phone.get_by_role("button", name="Enroll").click()
    expect(phone.locator("[data-state]")).to_have_text("Pending")
    expect(phone.get_by_text("Its gateway enrolls it the next time")).to_be_visible()

    phone.get_by_role("link", name="Enroll another device").click()
    phone.get_by_role("region", name="Devices nearby").get_by_role(
        "link", name=re.compile("NB-2")
    ).click()
    expect(phone.get_by_label("Serial number")).to_have_value("NB-2")
    expect(phone.get_by_label("Gateway (nodes only)")).to_have_value(gateway_id)
    phone.get_by_role("textbox", name="Access key").fill("typed-key-123")
    phone.get_by_role("button", name="Enroll").click()
    expect(phone.locator("[data-state]")).to_have_text("Pending")
    assert enrollment_of(svc, org, "ACME-5") == enrollment_of(svc, org, "NB-2") == ["pending"]


def test_without_javascript_refusals_come_back_on_the_form_and_enroll_nothing(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    assert web.sign_in(org.admin.email, factories.PASSWORD).status_code == 303
    assert web.get("/m/enroll").status_code == 200

    unreadable = web.post("/m/enroll/scan", {"payload": "no key here"})
    assert unreadable.status_code == 422
    assert "holds no serial number and access key" in unreadable.text
    read = upload(web, "/m/enroll/scan/photo", qr_picture('{"serial":"PH-1","key":"photo-key-1"}'))
    assert read.status_code == 200
    assert "Enroll <code>PH-1</code>" in read.text
    not_a_photo = upload(
        web,
        "/m/enroll/new",
        b"%PDF-1.4 not a picture",
        serial="PH-1",
        access_key="photo-key-1",
        kind="node",
    )
    assert not_a_photo.status_code == 415
    assert "not of an accepted type" in not_a_photo.text
    assert enrollment_of(svc, org, "PH-1") == []

    made = upload(web, "/m/enroll/new", png(), serial="PH-1", access_key="photo-key-1", kind="node")
    assert made.status_code == 303
    again = web.post("/m/enroll/scan", {"payload": "PH-1:photo-key-1"})
    assert again.status_code == 303
    assert again.headers["location"] == made.headers["location"]
    assert "enrolled already" in web.follow(again).text
    assert enrollment_of(svc, org, "PH-1") == ["done"]


def test_a_member_who_may_not_enroll_is_told_so_and_enrolls_nothing(
    web: WebClient, live_server: LiveServer
) -> None:
    """C8 in the app: a Device Manager who is not also an IoT Manager."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    member = factories.make_member(svc, org, roles=["device_manager"])
    assert web.sign_in(member.email, factories.PASSWORD).status_code == 303

    assert "Your roles do not allow enrolling" in web.get("/m/enroll").text
    refused = web.post(
        "/m/enroll/new", {"serial": "DM-1", "access_key": "manager-key-1", "kind": "direct"}
    )
    assert refused.status_code == 403
    assert "Administrator" in refused.text
    assert enrollment_of(svc, org, "DM-1") == []
