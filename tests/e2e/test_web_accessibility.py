"""Every main screen of the back office and the mobile app, checked in Chromium for what
assistive technology and keyboard users rely on (issue 4, item 4): a language, one h1,
a name for every control, link and image, a skip link first in the tab order, and, on a
phone, nothing wider than the screen."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from onboard.services.common import member_actor
from onboard.services.demo import DEMO_BATCH, DemoContent, fill_demo
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.test_web_browser import sign_in

# What a page lacks, as a list of sentences; empty when it is fine.
_PROBLEMS = """() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const named = (el) => (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').trim()
      || (el.getAttribute('title') || '').trim();
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} h1 headings`);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    if (!(el.labels && el.labels.length) && !named(el)) {
      problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
    }
  }
  for (const el of document.querySelectorAll('a[href], button')) {
    if (!visible(el)) continue;
    const pictured = el.querySelector('img[alt]:not([alt=""]), svg title');
    if (!el.textContent.trim() && !named(el) && !pictured) {
      problems.push(`nameless ${el.tagName.toLowerCase()} ${el.getAttribute('href') || ''}`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`img without alt: ${img.src}`);
  }
  return problems;
}"""


def _check(page: Page, path: str, *, phone: bool = False) -> list[str]:
    page.goto(path)
    found: list[str] = [f"{path}: {p}" for p in page.evaluate(_PROBLEMS)]
    if phone:
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            found.append(f"{path}: {width}px wide on a 390px phone")
    return found


def _answer_problems(page: Page, control: Locator) -> list[str]:
    """What the page a click on `control` loads lacks, checked once that page has loaded
    (checking straight after the click can read the old page or none at all)."""
    with page.expect_event("load"):
        control.click()
    problems: list[str] = page.evaluate(_PROBLEMS)
    return problems


def _signed_in_with_demo_content(
    page: Page, live_server: LiveServer, login: str, home: str
) -> DemoContent:
    """An organization of the test's own with the demo content, its Administrator signed in."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    demo = fill_demo(svc, member_actor(org.admin), stickers=3)
    sign_in(page, org.admin.email, factories.PASSWORD, path=login)
    page.wait_for_url(f"{live_server.url}{home}")
    return demo


def test_every_back_office_screen_names_its_controls_and_has_one_heading(
    page: Page, live_server: LiveServer
) -> None:
    demo = _signed_in_with_demo_content(page, live_server, "/login", "/")
    paired, free = demo.tokens[0], demo.tokens[1]
    device = demo.device_ids[0]
    page.goto("/batches")
    batch = page.get_by_role("link", name=DEMO_BATCH).get_attribute("href")
    assert batch is not None

    paths = [
        "/",
        "/codes",
        f"/codes/{paired}",
        f"/codes/{free}/pair",
        "/batches",
        "/batches/new",
        batch,
        "/devices",
        f"/devices/new?template={demo.template_id}",
        f"/devices/{device}",
        f"/devices/{device}/codes",
        f"/devices/{device}/codes/pair",
        f"/devices/{device}/documents",
        f"/devices/{device}/service",
        f"/devices/{device}/interactions",
        f"/devices/{device}/timeline",
        "/templates",
        f"/templates/{demo.template_id}",
        "/customers",
        "/products",
        f"/products/{demo.product_id}",
        f"/products/{demo.product_id}/devices",
        f"/products/{demo.product_id}/configurations",
        f"/products/{demo.product_id}/codes",
        "/enrollments",
        "/enrollments/new",
        "/enrollments/import",
    ]
    problems = [p for path in paths for p in _check(page, path)]
    # Pages that only a form's answer shows: "Assign device" and a new reusable code.
    page.goto(f"/products/{demo.product_id}")
    assign = page.get_by_role("button", name="Assign device").first
    problems += [f"assign device: {p}" for p in _answer_problems(page, assign)]
    page.goto(f"/products/{demo.product_id}/codes")
    create = page.get_by_role("button", name="Create code")
    problems += [f"new pairing code: {p}" for p in _answer_problems(page, create)]
    page.goto(f"/products/{demo.product_id}/configurations")
    standard = page.get_by_role("link", name="Standard")
    problems += [f"configuration: {p}" for p in _answer_problems(page, standard)]

    assert problems == []
    page.goto(f"/devices/{device}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"


def test_every_mobile_screen_names_its_controls_and_fits_a_phone(
    phone: Page, live_server: LiveServer
) -> None:
    demo = _signed_in_with_demo_content(phone, live_server, "/m/login", "/m")
    free = demo.tokens[1]
    device = demo.device_ids[0]

    paths = [
        "/m",
        "/m/scan",
        "/m/devices",
        f"/m/devices/{device}",
        f"/m/devices/{device}/pair",
        f"/m/devices/{device}/codes",
        f"/m/devices/{device}/records/new",
        f"/m/devices/{device}/photo",
        f"/m/codes/{free}",
        f"/m/codes/{free}/pair",
        f"/m/codes/{free}/pair/existing",
        f"/m/codes/{free}/pair/new",
        "/m/enroll",
        "/m/enroll/new",
    ]
    problems = [p for path in paths for p in _check(phone, path, phone=True)]

    assert problems == []
