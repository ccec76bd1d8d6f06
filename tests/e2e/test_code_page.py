"""The public code page /c/{TOKEN} against the real server (SPEC A2, A10-A13): each state in
A12's order, the PIN and its lockout, notifications and their rate limit, the staff view
and pairing for members, and the page on a phone."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.entrypoints import http
from onboard.services import codes, devices, pairing, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import PageRequest, Services
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_pages import visible

PIN = "482915"
PUBLIC_VALUE = "Model X100"
PRIVATE_VALUE = "internal-service-code-42"
SERIAL = "SN-PUMP-0007"


def fresh_ip() -> str:
    """A client address of its own: the server trusts X-Forwarded-For from loopback, so
    each test's PIN and notification limits are its own although tests share the server."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def as_client(web: WebClient) -> WebClient:
    web.http.headers["X-Forwarded-For"] = fresh_ip()
    return web


@pytest.fixture
def visitor(live_server: LiveServer) -> Iterator[WebClient]:
    """A code user's browser: no account, its own address."""
    client = as_client(WebClient(live_server.url))
    try:
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class Sticker:
    org: factories.Org
    device: Device
    code: Code

    @property
    def path(self) -> str:
        return f"/c/{self.code.token}"


def make_device(
    svc: Services, org: factories.Org, *, departments: list[str] | None = None
) -> Device:
    template = templates.create_template(
        svc,
        org.actor,
        name=factories.unique("Pump"),
        fields=[
            {"name": "model", "type": "string", "public": True},
            {"name": "service_code", "type": "string"},
        ],
    )
    return devices.create_device(
        svc,
        org.actor,
        DeviceInput(
            name=factories.unique("Pump"),
            serial=SERIAL,
            template_id=template.id,
            attributes={"model": PUBLIC_VALUE, "service_code": PRIVATE_VALUE},
            departments=departments,
        ),
    )


def make_sticker(
    svc: Services,
    org: factories.Org | None = None,
    *,
    pin: str | None = None,
    paired: bool = True,
    departments: list[str] | None = None,
) -> Sticker:
    """A code (with a PIN if given) and a device; paired unless told otherwise."""
    org = org or factories.make_org(svc)
    device = make_device(svc, org, departments=departments)
    (code,) = codes.create_codes(svc, org.actor, count=1, label="Scan me", pin=pin)
    if paired:
        code = pairing.pair_code(svc, org.actor, code.token, device.id)
    return Sticker(org, device, code)


def notifications_of(svc: Services, sticker: Sticker) -> list[tuple[str, str | None]]:
    page = codes.list_notifications(svc, sticker.org.actor, sticker.code.token, PageRequest())
    return [(n.message, n.contact) for n in page.items]


def no_back_office(page: httpx.Response) -> None:
    assert 'aria-label="Areas"' not in page.text
    assert "Sign out" not in page.text


def test_an_unknown_or_malformed_code_is_not_found(visitor: WebClient) -> None:
    unknown = visitor.get("/c/" + "7" * 16)
    malformed = visitor.get("/c/not-a-code")

    for page in (unknown, malformed):
        assert page.status_code == 404
        assert "Code not found" in visible(page)
        no_back_office(page)


def test_a_deactivated_code_says_so_and_gives_no_access_to_its_device(
    visitor: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc)
    codes.update_code(svc, sticker.org.actor, sticker.code.token, {"active": False})

    page = visitor.get(sticker.path)
    sent = visitor.post(f"{sticker.path}/notify", {"message": "Anyone there?"})

    assert page.status_code == 200
    assert "This code is deactivated" in visible(page)
    assert sticker.device.name not in page.text
    assert PUBLIC_VALUE not in page.text
    assert "/notify" not in page.text
    no_back_office(page)
    assert sent.status_code == 409
    assert notifications_of(svc, sticker) == []


def test_an_unpaired_code_says_so_and_offers_a_sign_in_rather_than_pairing_to_the_public(
    visitor: WebClient, live_server: LiveServer
) -> None:
    sticker = make_sticker(live_server.container.services, paired=False)

    page = visitor.get(sticker.path)

    assert page.status_code == 200
    assert "Code not paired" in visible(page)
    assert f"{sticker.path}/pair" not in page.text
    assert f'href="/m/login?next={sticker.path}"' in page.text
    no_back_office(page)


def test_a_paired_code_shows_the_device_name_and_only_its_public_attributes(
    visitor: WebClient, live_server: LiveServer
) -> None:
    sticker = make_sticker(live_server.container.services)

    page = visitor.get(sticker.path)

    assert page.status_code == 200
    text = visible(page)
    assert sticker.device.name in text
    assert PUBLIC_VALUE in text
    assert PRIVATE_VALUE not in text
    assert SERIAL not in text
    assert "Send a message" in text
    no_back_office(page)


def test_a_pin_protected_code_shows_the_device_only_after_the_right_pin(
    visitor: WebClient, live_server: LiveServer
) -> None:
    sticker = make_sticker(live_server.container.services, pin=PIN)

    asked = visitor.get(sticker.path)
    wrong = visitor.post(f"{sticker.path}/pin", {"pin": "000000"})
    right = visitor.post(f"{sticker.path}/pin", {"pin": PIN})

    assert asked.status_code == 200
    assert "Enter the PIN" in visible(asked)
    assert sticker.device.name not in asked.text
    assert wrong.status_code == 403
    assert "Wrong PIN" in visible(wrong)
    assert 'name="pin"' in wrong.text
    assert sticker.device.name not in wrong.text
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(http.pin_cookie_name(sticker.code.token) + "=")
    assert "max-age" not in cookie.lower(), "a cookie for the browser session"
    assert "expires" not in cookie.lower(), "a cookie for the browser session"
    assert "httponly" in cookie.lower()
    opened = visitor.follow(right)
    assert sticker.device.name in visible(opened)
    assert PUBLIC_VALUE in visible(opened)
    assert 'name="pin"' not in opened.text


def test_five_wrong_pins_lock_the_client_out_even_for_the_right_pin(
    visitor: WebClient, other_web: WebClient, live_server: LiveServer
) -> None:
    sticker = make_sticker(live_server.container.services, pin=PIN)
    visitor.get(sticker.path)

    wrong = [visitor.post(f"{sticker.path}/pin", {"pin": f"11111{i}"}) for i in range(5)]
    locked = visitor.post(f"{sticker.path}/pin", {"pin": PIN})
    elsewhere = as_client(other_web)
    elsewhere.get(sticker.path)
    other_client = elsewhere.post(f"{sticker.path}/pin", {"pin": PIN})

    assert [w.status_code for w in wrong] == [403] * 5
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == 15 * 60
    assert "15 minutes" in visible(locked)
    assert "set-cookie" not in locked.headers or "onboard_pin_" not in locked.headers["set-cookie"]
    assert sticker.device.name not in visitor.get(sticker.path).text
    assert other_client.status_code == 303, "the lock is for the client that guessed"


def test_a_notification_sent_from_the_page_is_stored_and_thanked_for(
    visitor: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc)
    visitor.get(sticker.path)

    sent = visitor.post(
        f"{sticker.path}/notify",
        {"message": "The pump is leaking oil.", "contact": "Ana, +49 170 1234567"},
    )

    assert sent.status_code == 303
    thanked = visitor.follow(sent)
    assert "Thank you! Your message has been sent" in visible(thanked)
    assert notifications_of(svc, sticker) == [("The pump is leaking oil.", "Ana, +49 170 1234567")]


def test_an_overlong_message_comes_back_with_its_text_and_is_not_stored(
    visitor: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc)
    visitor.get(sticker.path)
    message = "leak " * 401  # 2,005 characters

    refused = visitor.post(f"{sticker.path}/notify", {"message": message})

    assert refused.status_code == 422
    assert "at most 2000 characters" in visible(refused)
    assert message.strip() in visible(refused)
    assert notifications_of(svc, sticker) == []


def test_a_line_break_counts_as_one_character_as_the_browser_counts_it(
    visitor: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc)
    visitor.get(sticker.path)
    lines = "\r\n".join(["x"] * 1000)  # 1,999 characters in the textarea, 2,998 on the wire

    sent = visitor.post(f"{sticker.path}/notify", {"message": lines})

    assert sent.status_code == 303
    assert notifications_of(svc, sticker) == [(lines.replace("\r\n", "\n"), None)]


def test_notifications_are_rate_limited_per_client(
    visitor: WebClient, other_web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc)
    visitor.get(sticker.path)

    accepted = [visitor.post(f"{sticker.path}/notify", {"message": f"#{i}"}) for i in range(10)]
    limited = visitor.post(f"{sticker.path}/notify", {"message": "one too many"})
    elsewhere = as_client(other_web)
    elsewhere.get(sticker.path)
    other_client = elsewhere.post(f"{sticker.path}/notify", {"message": "from elsewhere"})

    assert [a.status_code for a in accepted] == [303] * 10
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    assert "Too many messages" in visible(limited)
    assert "one too many" in limited.text, "the message is kept in the form"
    assert other_client.status_code == 303
    stored = [m for m, _ in notifications_of(svc, sticker)]
    assert "one too many" not in stored
    assert len(stored) == 11


def test_codes_open_in_any_case_and_under_capital_c(
    visitor: WebClient, live_server: LiveServer
) -> None:
    sticker = make_sticker(live_server.container.services, pin=PIN)
    token = sticker.code.token
    assert token == token.upper()

    visitor.get(f"/c/{token.lower()}")
    entered = visitor.post(f"/c/{token.lower()}/pin", {"pin": PIN})
    pages = [visitor.get(p) for p in (f"/c/{token.lower()}", f"/C/{token}", f"/C/{token.lower()}")]

    assert entered.status_code == 303
    for page in pages:
        assert page.status_code == 200
        assert sticker.device.name in visible(page), "one PIN pass for every spelling"


def test_a_member_who_sees_the_device_gets_the_staff_view_and_unpairs_after_confirming(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc, pin=PIN)
    as_client(web).sign_in(sticker.org.admin.email, factories.PASSWORD)

    staff = web.get(sticker.path)
    text = visible(staff)
    confirm = web.get(f"{sticker.path}/unpair")
    unpaired = web.post(f"{sticker.path}/unpair")

    assert staff.status_code == 200
    assert "Staff view" in text
    for shown in (sticker.device.name, SERIAL, PRIVATE_VALUE, PUBLIC_VALUE):
        assert shown in text
    assert 'name="pin"' not in staff.text, "staff need no PIN"
    assert f'href="{sticker.path}/unpair"' in staff.text
    assert confirm.status_code == 200
    assert f"Unpair this code from {sticker.device.name}?" in visible(confirm)
    assert unpaired.status_code == 303
    assert codes.get_code(svc, sticker.org.actor, sticker.code.token).device_id is None
    after = web.follow(unpaired)
    assert "Code unpaired" in visible(after)
    assert "Code not paired" in visible(after)
    assert devices.get_device(svc, sticker.org.actor, sticker.device.id).name == sticker.device.name


def test_a_member_pairs_an_unpaired_code_with_a_device_found_on_its_page(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc, paired=False)
    other = make_device(svc, sticker.org)
    anonymous = as_client(web).get(sticker.path)
    sign_in_url = re.search(r'href="(/m/login\?next=[^"]+)"', anonymous.text)
    assert sign_in_url, "the page offers staff a sign-in"
    web.get(sign_in_url.group(1))
    signed_in = web.post(
        "/m/login",
        {"email": sticker.org.admin.email, "password": factories.PASSWORD, "next": sticker.path},
    )

    page = web.get(sticker.path)
    searched = web.get(sticker.path, params={"q": sticker.device.name})
    paired = web.post(f"{sticker.path}/pair", {"device_id": sticker.device.id})

    assert signed_in.headers["location"] == sticker.path, "back to the code after signing in"
    assert "Pair this code" in visible(page)
    assert sticker.device.name in page.text
    assert other.name in page.text
    assert sticker.device.name in searched.text
    assert other.name not in searched.text
    assert paired.status_code == 303
    assert f"Code paired with {sticker.device.name}." in visible(web.follow(paired))
    assert codes.get_code(svc, sticker.org.actor, sticker.code.token).device_id == sticker.device.id


def test_a_viewer_sees_the_unpaired_code_but_no_pair_action(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc, paired=False)
    viewer = factories.make_member(svc, sticker.org, roles=["viewer"])
    as_client(web).sign_in(viewer.email, factories.PASSWORD)

    page = web.get(sticker.path)
    forced = web.post(f"{sticker.path}/pair", {"device_id": sticker.device.id})

    assert "Code not paired" in visible(page)
    assert f"{sticker.path}/pair" not in page.text
    assert "do not allow pairing" in visible(page)
    assert forced.status_code == 403
    assert codes.get_code(svc, sticker.org.actor, sticker.code.token).device_id is None


@pytest.mark.parametrize("who", ["other department", "other organization"])
def test_members_who_do_not_see_the_device_get_the_public_page_and_cannot_unpair(
    web: WebClient, live_server: LiveServer, who: str
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    a, b = factories.make_department(svc, org), factories.make_department(svc, org)
    sticker = make_sticker(svc, org, departments=[a.id])
    if who == "other department":
        member = factories.make_member(svc, org, roles=["technician"], departments=[b.id])
        email = member.email
    else:
        email = factories.make_org(svc).admin.email
    as_client(web).sign_in(email, factories.PASSWORD)

    page = web.get(sticker.path)
    confirm = web.get(f"{sticker.path}/unpair")
    unpair = web.post(f"{sticker.path}/unpair")

    assert page.status_code == 200
    assert sticker.device.name in visible(page)
    for secret in (SERIAL, PRIVATE_VALUE, "Staff view", a.name):
        assert secret not in page.text
    assert confirm.status_code == 404
    assert unpair.status_code == 404
    assert sticker.device.name not in confirm.text
    assert codes.get_code(svc, org.actor, sticker.code.token).device_id == sticker.device.id


def test_forms_posted_without_their_csrf_token_are_refused_and_change_nothing(
    visitor: WebClient, web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc, pin=PIN)
    open_sticker = make_sticker(svc, sticker.org)
    free = make_sticker(svc, sticker.org, paired=False)
    visitor.get(sticker.path)
    as_client(web).sign_in(sticker.org.admin.email, factories.PASSWORD)

    pin = visitor.post(f"{sticker.path}/pin", {"pin": PIN}, csrf=False)
    notify = visitor.post(f"{open_sticker.path}/notify", {"message": "forged"}, csrf=False)
    forged = visitor.http.post(
        f"{open_sticker.path}/notify", data={"message": "forged", "csrf_token": "x" * 64}
    )
    unpair = web.post(f"{open_sticker.path}/unpair", csrf=False)
    pair = web.post(f"{free.path}/pair", {"device_id": free.device.id}, csrf=False)

    for refused in (pin, notify, forged, unpair, pair):
        assert refused.status_code == 403
        assert "did not come from onboard" in visible(refused)
    assert "onboard_pin_" not in pin.headers.get("set-cookie", "")
    assert notifications_of(svc, open_sticker) == []
    assert codes.get_code(svc, sticker.org.actor, open_sticker.code.token).device_id is not None
    assert codes.get_code(svc, sticker.org.actor, free.code.token).device_id is None


def test_on_a_phone_a_code_user_enters_the_pin_and_sends_a_notification(
    phone: Page, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    sticker = make_sticker(svc, pin=PIN)
    phone.set_extra_http_headers({"X-Forwarded-For": fresh_ip()})

    phone.goto(sticker.path)
    expect(phone.get_by_role("heading", name="Enter the PIN")).to_be_visible()
    phone.get_by_label("PIN").fill(PIN)
    open_button = phone.get_by_role("button", name="Open")
    assert (open_button.bounding_box() or {"height": 0})["height"] >= 44, "a thumb-sized button"
    open_button.click()

    expect(phone.get_by_role("heading", name=sticker.device.name)).to_be_visible()
    expect(phone.get_by_text(PUBLIC_VALUE)).to_be_visible()
    phone.get_by_label("Message", exact=True).fill("The display shows error E42.")
    phone.get_by_label(re.compile("Your contact details")).fill("ana@example.com")
    phone.get_by_role("button", name="Send message").click()

    expect(phone.get_by_role("status")).to_contain_text("Thank you!")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "nothing wider than the phone"
    )
    assert phone.get_by_role("navigation").count() == 0
    assert notifications_of(svc, sticker) == [("The display shows error E42.", "ana@example.com")]
