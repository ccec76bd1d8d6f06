"""Fixtures of the end-to-end tests: headless Chromium through Playwright, pages sized as a
desktop and as a phone, a form-aware HTTP client for the web pages, and an Administrator's
API client in an organization of each test's own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from onboard.services.ports import Services
from tests.conftest import CHROMIUM, LiveServer, unavailable
from tests.factories import Org, make_org, token_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run; each test gets its own context."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed")
        raise
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _page(browser: Browser, live_server: LiveServer, **options: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser profile (no cookies) at desktop size."""
    yield from _page(browser, live_server, viewport=DESKTOP)


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser profile held like a phone: 390x844, touch."""
    yield from _page(
        browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )


class WebClient:
    """The web pages as a browser without JavaScript uses them: it reads each form's CSRF
    token from the last page and sends it back with the form."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(
            base_url=url, timeout=30, follow_redirects=False, headers={"Accept": "text/html"}
        )
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        if csrf and not self.token:
            self.get("/login")
        form = {**(data or {})}
        if csrf:
            form["csrf_token"] = self.token
        return self.http.post(path, data=form)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """The page a 303 after a form leads to."""
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])

    def sign_in(self, email: str, password: str) -> httpx.Response:
        self.get("/login")
        return self.post("/login", {"email": email, "password": password})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def camera(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> Iterator[tuple[Page, Path]]:
    """A phone whose back camera films ``tmp_path / "camera.mjpeg"`` (written by the test
    before the page opens), with the permission to use it granted."""
    film = tmp_path / "camera.mjpeg"
    film.write_bytes(b"")
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={film}",
        ],
    )
    try:
        context = launched.new_context(
            base_url=live_server.url,
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        context.grant_permissions(["camera"], origin=live_server.url)
        context.set_default_timeout(15_000)
        yield context.new_page(), film
    finally:
        launched.close()


@pytest.fixture
def web(live_server: LiveServer) -> Iterator[WebClient]:
    client = WebClient(live_server.url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def other_web(live_server: LiveServer) -> Iterator[WebClient]:
    """A second browser, for a second person."""
    client = WebClient(live_server.url)
    try:
        yield client
    finally:
        client.close()


# --- the members' API over HTTP: each test in an organization of its own ---------------


@pytest.fixture
def svc(live_server: LiveServer) -> Services:
    return live_server.container.services


@pytest.fixture
def org(svc: Services) -> Org:
    return make_org(svc)


@pytest.fixture
def api(live_server: LiveServer, svc: Services, org: Org) -> Iterator[httpx.Client]:
    """A client holding a bearer token of the organization's Administrator."""
    with live_server.client(token_for(svc, org.admin)) as client:
        yield client
