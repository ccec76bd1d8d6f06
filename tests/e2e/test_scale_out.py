"""Stateless servers (SPEC §7 scale-out): any number of `onboard serve` processes on one
database act as one service — a session, a CSRF token and the sign-in rate limit made on
one process hold on another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, serving
from tests.factories import PASSWORD, make_org, unique

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def second_server(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """Another process, with two workers of its own, on the live server's database and key."""
    key = live_server.settings.secret_key.get_secret_value()
    limits = {"ONBOARD_LOGIN_ATTEMPTS": "3"}
    with serving(
        live_server.database, tmp_path, secret_key=key, workers=2, extra_env=limits
    ) as url:
        yield url


def _form_token(client: httpx.Client, path: str) -> str:
    found = _CSRF.search(client.get(path).text)
    assert found, f"{path} carries a CSRF token"
    return found.group(1)


def test_a_session_opened_on_one_process_works_on_another(
    live_server: LiveServer, second_server: str
) -> None:
    org = make_org(live_server.container.services)
    first = httpx.Client(base_url=live_server.url, timeout=30)
    token = _form_token(first, "/login")
    signed_in = first.post(
        "/login", data={"email": org.admin.email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 303

    other = httpx.Client(base_url=second_server, cookies=first.cookies, timeout=30)
    name = unique("Made elsewhere")
    for _ in range(6):  # several requests, so both workers of the second process serve some
        assert other.get("/departments").status_code == 200
    created = other.post(
        "/departments", data={"name": name, "csrf_token": _form_token(other, "/departments")}
    )

    assert created.status_code == 303
    assert name in first.get("/departments").text


def test_failed_sign_ins_count_across_processes(
    live_server: LiveServer, second_server: str
) -> None:
    org = make_org(live_server.container.services)
    wrong = {"email": org.admin.email, "password": "not the password"}
    for url in (live_server.url, second_server, live_server.url):
        with httpx.Client(base_url=url, timeout=30) as browser:
            token = _form_token(browser, "/login")
            assert browser.post("/login", data={**wrong, "csrf_token": token}).status_code == 401

    with httpx.Client(base_url=second_server, timeout=30) as browser:
        token = _form_token(browser, "/login")
        right = {"email": org.admin.email, "password": PASSWORD, "csrf_token": token}
        locked = browser.post("/login", data=right)

    assert locked.status_code == 429
    assert locked.headers["retry-after"]
