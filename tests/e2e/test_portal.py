"""Customer users see their customer's devices without any code, and no others (P6, A15)."""

from __future__ import annotations

from onboard.services import customers, devices
from onboard.services.devices import DeviceInput
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.factories import PASSWORD, make_org, unique


def test_a_customer_user_sees_their_customers_devices_and_only_those(
    live_server: LiveServer,
) -> None:
    svc = live_server.container.services
    org = make_org(svc)
    ours = customers.create_customer(svc, org.actor, name=unique("Ours"))
    theirs = customers.create_customer(svc, org.actor, name=unique("Theirs"))
    email = f"{unique('cu').replace(' ', '-')}@example.com"
    customers.add_customer_user(svc, org.actor, ours.id, email=email, password=PASSWORD)
    mine = devices.create_device(
        svc, org.actor, DeviceInput(name=unique("Boiler"), serial="SN-1", customer_id=ours.id)
    )
    other = devices.create_device(
        svc, org.actor, DeviceInput(name=unique("Chiller"), customer_id=theirs.id)
    )
    unassigned = devices.create_device(svc, org.actor, DeviceInput(name=unique("Spare")))
    web = WebClient(live_server.url)
    assert web.sign_in(email, PASSWORD).headers["location"] == "/portal"

    portal = web.get("/portal")
    detail = web.get(f"/portal/devices/{mine.id}")
    foreign = web.get(f"/portal/devices/{other.id}")
    back_office = web.get(f"/api/v1/devices/{mine.id}")

    assert portal.status_code == 200
    assert mine.name in portal.text
    assert other.name not in portal.text
    assert unassigned.name not in portal.text
    assert detail.status_code == 200
    assert "SN-1" in detail.text
    assert foreign.status_code == 404
    assert other.name not in foreign.text
    assert back_office.status_code in {401, 403}, "a customer user has no member API access"


def test_members_are_sent_to_the_back_office_not_the_portal(live_server: LiveServer) -> None:
    org = make_org(live_server.container.services)
    web = WebClient(live_server.url)
    web.sign_in(org.admin.email, PASSWORD)

    answer = web.get("/portal")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
