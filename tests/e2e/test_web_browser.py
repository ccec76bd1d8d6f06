"""The web UI in headless Chromium against the real server: signing in and out, a form with
its list, the mobile shell at phone size."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import LiveServer


def sign_in(page: Page, email: str, password: str, *, path: str = "/login") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def test_a_member_signs_in_creates_a_department_and_sees_it_listed(
    page: Page, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)
    name = factories.unique("Workshop")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    sign_in(page, org.admin.email, factories.PASSWORD)

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("header")).to_contain_text(org.organization.name)
    expect(page.locator("header")).to_contain_text(org.admin.email)
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Departments").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create department").click()

    expect(page.get_by_role("status")).to_contain_text(f"Department {name} created")
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)


def test_every_area_of_the_navigation_is_a_link_to_its_pages(
    page: Page, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)
    sign_in(page, org.admin.email, factories.PASSWORD)

    nav = page.get_by_role("navigation", name="Areas")
    expect(nav.get_by_role("link", name="Members")).to_have_attribute("href", "/members")
    expect(nav.get_by_role("link", name="Licenses")).to_have_attribute("href", "/products")
    expect(nav.get_by_role("link", name="Enrollments")).to_have_attribute("href", "/enrollments")
    expect(nav.get_by_role("link", name="Provisioning")).to_have_attribute("href", "/provisioning")
    expect(nav.get_by_role("link", name="Environments")).to_have_attribute("href", "/environments")
    expect(nav.get_by_text("soon")).to_have_count(0)


def test_signing_in_with_a_wrong_password_shows_an_error(
    page: Page, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)

    sign_in(page, org.admin.email, "not the password at all")

    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    expect(page.get_by_label("Email")).to_have_value(org.admin.email)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_mobile_shell_signs_in_at_phone_size_and_shows_the_home_tiles(
    phone: Page, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)

    phone.goto("/m")
    expect(phone).to_have_url(re.compile(r"/m/login"))
    sign_in(phone, org.admin.email, factories.PASSWORD, path=phone.url)

    expect(phone).to_have_url(re.compile(r"/m$"))
    for label, path in (("Scan", "/m/scan"), ("Devices", "/m/devices"), ("Enroll", "/m/enroll")):
        tile = phone.locator(".m-tile", has_text=label)
        expect(tile).to_be_visible()
        expect(tile).not_to_contain_text("Coming soon")
        expect(phone.get_by_role("link", name=re.compile(label))).to_have_attribute("href", path)
        box = tile.bounding_box()
        assert box is not None
        assert box["height"] >= 48, "a tile is a comfortable touch target"
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 390, "the tile fits the screen"
    sign_out = phone.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing scrolls sideways on a phone"


def test_signing_out_ends_the_session(page: Page, live_server: LiveServer) -> None:
    org = factories.make_org(live_server.container.services)
    sign_in(page, org.admin.email, factories.PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "onboard_session")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("signed out")
    page.goto("/members")
    expect(page).to_have_url(re.compile(r"/login\?next=/members$"))
    replayed = httpx.get(
        f"{live_server.url}/", cookies={"onboard_session": session}, follow_redirects=False
    )
    assert replayed.status_code == 303, "the old session cookie no longer works"
    assert replayed.headers["location"].startswith("/login")
