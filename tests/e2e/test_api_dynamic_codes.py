"""Dynamic codes over HTTP against the real server, on SQLite and PostgreSQL (SPEC A14,
§5.1): GTINs on templates and devices and their problems, the rules API, POST /api/v1/scan
as the mobile app calls it, and GS1 Digital Link paths on the public site leading into the
code page's flow (A12).

The server is shared, so each test works in an organization of its own, with serials of its
own (GS1 Digital Link paths look devices up across organizations)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from onboard.services import codes, dynamic_codes, pairing
from onboard.services.devices import DeviceInput, create_device
from onboard.services.ports import Services
from tests import factories
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_pages import visible
from tests.factories import Org, make_member, make_org, token_for

GTIN = "09506000134352"


def serial() -> str:
    return f"SN{secrets.token_hex(5).upper()}"


def _fields(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem.get("errors", [])}


# --- GTINs on templates and devices --------------------------------------------------------


def test_templates_and_devices_take_show_and_change_a_gtin(api: httpx.Client) -> None:
    template = json_of(
        api.post("/api/v1/templates", json={"name": "Pump", "gtin": "9506000134352"}), 201
    )
    sn = serial()
    body = {"name": "Pump 1", "serial": sn, "template_id": template["id"]}
    device = json_of(api.post("/api/v1/devices", json=body), 201)

    assert template["gtin"] == GTIN
    assert device["gtin"] == GTIN, "a device made from the template gets its GTIN"
    changed = json_of(api.patch(f"/api/v1/devices/{device['id']}", json={"gtin": "96385074"}))
    assert changed["gtin"] == "00000096385074"
    assert json_of(api.get(f"/api/v1/devices/{device['id']}"))["gtin"] == "00000096385074"
    cleared = json_of(api.patch(f"/api/v1/templates/{template['id']}", json={"gtin": None}))
    assert cleared["gtin"] is None
    assert json_of(api.get(f"/api/v1/templates/{template['id']}"))["name"] == "Pump"


@pytest.mark.parametrize("wrong", ["09506000134353", "123456789", "abc", "950600013435"])
def test_a_wrong_gtin_is_invalid_with_a_field_error(api: httpx.Client, wrong: str) -> None:
    for url, body in (
        ("/api/v1/templates", {"name": "Pump", "gtin": wrong}),
        ("/api/v1/devices", {"name": "Pump", "serial": "S1", "gtin": wrong}),
    ):
        problem = problem_of(api.post(url, json=body), 422, "invalid")
        assert _fields(problem) == {"gtin"}, problem
    assert json_of(api.get("/api/v1/devices"))["items"] == []


def test_a_second_template_with_a_gtin_or_device_with_gtin_and_serial_is_a_conflict(
    api: httpx.Client,
) -> None:
    json_of(api.post("/api/v1/templates", json={"name": "Pump", "gtin": GTIN}), 201)
    sn = serial()
    json_of(api.post("/api/v1/devices", json={"name": "A", "serial": sn, "gtin": GTIN}), 201)
    other = json_of(api.post("/api/v1/devices", json={"name": "B", "serial": sn}), 201)

    problem_of(api.post("/api/v1/templates", json={"name": "Pump 2", "gtin": GTIN}), 409,
             "gtin_taken")  # fmt: skip
    problem_of(api.post("/api/v1/devices", json={"name": "C", "serial": sn, "gtin": GTIN}), 409,
             "gtin_serial_taken")  # fmt: skip
    problem_of(api.patch(f"/api/v1/devices/{other['id']}", json={"gtin": GTIN}), 409,
             "gtin_serial_taken")  # fmt: skip
    assert len(json_of(api.get("/api/v1/devices"))["items"]) == 2


# --- the rules API -------------------------------------------------------------------------


def test_rules_are_created_listed_by_page_read_and_deleted(api: httpx.Client) -> None:
    bodies = [
        {"name": f"Rule {n}", "kind": "regex", "pattern": f"R{n}-(?P<serial>.+)"} for n in range(3)
    ]
    made = [json_of(api.post("/api/v1/dynamic-code-rules", json=body), 201) for body in bodies]
    gs1 = json_of(api.post("/api/v1/dynamic-code-rules",
                       json={"name": "GS1", "kind": "gs1", "pattern": "950600"}), 201)  # fmt: skip

    first = json_of(api.get("/api/v1/dynamic-code-rules?limit=2"))
    rest = json_of(api.get(f"/api/v1/dynamic-code-rules?limit=2&cursor={first['next_cursor']}"))
    assert [r["id"] for r in first["items"] + rest["items"]] == [r["id"] for r in [*made, gs1]]
    assert rest["next_cursor"] is None
    assert json_of(api.get(f"/api/v1/dynamic-code-rules/{gs1['id']}")) == gs1
    assert (gs1["kind"], gs1["pattern"], gs1["template_id"]) == ("gs1", "950600", None)
    assert api.delete(f"/api/v1/dynamic-code-rules/{gs1['id']}").status_code == 204
    problem_of(api.get(f"/api/v1/dynamic-code-rules/{gs1['id']}"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "R", "kind": "regex", "pattern": "(?P<serial>"}, "pattern"),
        ({"name": "R", "kind": "regex", "pattern": "[0-9]+"}, "pattern"),
        ({"name": "R", "kind": "regex"}, "pattern"),
        ({"name": "R", "kind": "gs1", "pattern": "ACME"}, "pattern"),
        ({"name": "R", "kind": "qr"}, "kind"),
        ({"name": "R", "kind": "gs1", "template_id": "NOPE"}, "template_id"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_with_a_field_error(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    problem = problem_of(api.post("/api/v1/dynamic-code-rules", json=body), 422, "invalid")

    assert field in _fields(problem), problem
    assert json_of(api.get("/api/v1/dynamic-code-rules"))["items"] == []


def test_rule_names_are_unique_and_technicians_do_not_manage_rules(
    api: httpx.Client, live_server: LiveServer, svc: Services, org: Org
) -> None:
    json_of(api.post("/api/v1/dynamic-code-rules", json={"name": "GS1", "kind": "gs1"}), 201)
    problem_of(api.post("/api/v1/dynamic-code-rules", json={"name": "GS1", "kind": "gs1"}), 409,
             "name_taken")  # fmt: skip
    technician = make_member(svc, org, roles=["technician"])
    with live_server.client(token_for(svc, technician)) as tech:
        problem_of(tech.post("/api/v1/dynamic-code-rules", json={"name": "T", "kind": "gs1"}), 403,
                 "permission_denied")  # fmt: skip
        assert len(json_of(tech.get("/api/v1/dynamic-code-rules"))["items"]) == 1


# --- scanning --------------------------------------------------------------------------------


def test_scanning_a_new_gs1_label_creates_the_device_and_a_bound_code_then_finds_them(
    api: httpx.Client, live_server: LiveServer
) -> None:
    template = json_of(api.post("/api/v1/templates", json={"name": "Pump X", "gtin": GTIN}), 201)
    json_of(api.post("/api/v1/dynamic-code-rules", json={"name": "GS1", "kind": "gs1"}), 201)
    sn = serial()
    payload = f"https://id.maker.example/01/{GTIN}/21/{sn}"

    looked = json_of(api.post("/api/v1/scan", json={"payload": payload}))
    created = json_of(api.post("/api/v1/scan", json={"payload": payload, "create": True}))
    again = json_of(api.post("/api/v1/scan", json={"payload": f"  {payload}  ", "create": True}))
    by_elements = json_of(api.post("/api/v1/scan", json={"payload": f"(01){GTIN}(21){sn}"}))

    assert looked == {"result": "unknown", "code": None, "device": None, "gtin": GTIN,
                      "serial": sn}  # fmt: skip
    assert created["result"] == "created"
    device, code = created["device"], created["code"]
    assert (device["name"], device["serial"], device["gtin"]) == (f"Pump X {sn}", sn, GTIN)
    assert device["template_id"] == template["id"]
    assert device["codes"] == [code["token"]]
    assert (code["device_id"], code["payload"]) == (device["id"], payload)
    assert code["url"] == f"{live_server.url}/c/{code['token']}"
    assert (again["result"], again["code"]["token"], again["device"]["id"]) == (
        "code", code["token"], device["id"],
    )  # fmt: skip
    assert (by_elements["result"], by_elements["device"]["id"]) == ("device", device["id"])
    assert json_of(api.get(f"/api/v1/codes/{code['token']}"))["payload"] == payload
    assert len(json_of(api.get("/api/v1/devices"))["items"]) == 1


def test_scanning_our_own_sticker_answers_the_code(api: httpx.Client) -> None:
    device = json_of(api.post("/api/v1/devices", json={"name": "Boiler"}), 201)
    code = json_of(api.post(f"/api/v1/devices/{device['id']}/codes", json={"new": True}), 201)

    for payload in (code["url"], code["url"].upper(), code["token"].lower()):
        found = json_of(api.post("/api/v1/scan", json={"payload": payload, "create": True}))
        assert found["result"] == "code"
        assert (found["code"]["token"], found["device"]["id"]) == (code["token"], device["id"])
        assert (found["gtin"], found["serial"]) == (None, None)


def test_a_payload_nothing_knows_is_unknown_and_a_bad_one_is_invalid(api: httpx.Client) -> None:
    for payload in ("hello", "https://example.com/x", f"(01){GTIN}(21)X"):
        found = json_of(api.post("/api/v1/scan", json={"payload": payload, "create": True}))
        assert found["result"] == "unknown"
    for body in ({"payload": ""}, {"payload": "   "}, {"payload": "x" * 501}, {}):
        problem_of(api.post("/api/v1/scan", json=body), 422, "invalid")
    assert json_of(api.get("/api/v1/devices"))["items"] == []


def test_a_viewer_may_scan_but_not_create(
    api: httpx.Client, live_server: LiveServer, svc: Services, org: Org
) -> None:
    json_of(api.post("/api/v1/dynamic-code-rules", json={"name": "GS1", "kind": "gs1"}), 201)
    payload = f"(01){GTIN}(21){serial()}"
    viewer = make_member(svc, org, roles=["viewer"])
    with live_server.client(token_for(svc, viewer)) as client:
        assert (
            json_of(client.post("/api/v1/scan", json={"payload": payload}))["result"] == "unknown"
        )
        problem_of(client.post("/api/v1/scan", json={"payload": payload, "create": True}), 403,
                 "permission_denied")  # fmt: skip
    assert json_of(api.get("/api/v1/devices"))["items"] == []


# --- GS1 Digital Link paths on the public site -------------------------------------------------


def registered(svc: Services, org: Org, sn: str, *, with_code: bool) -> str | None:
    device = create_device(svc, org.actor, DeviceInput("Labelled pump", serial=sn, gtin=GTIN))
    if not with_code:
        return None
    return pairing.create_code_for_device(svc, org.actor, device.id).token


@pytest.fixture
def visitor(live_server: LiveServer) -> Iterator[WebClient]:
    client = WebClient(live_server.url)
    try:
        yield client
    finally:
        client.close()


def test_a_digital_link_path_of_a_registered_device_leads_to_its_code_page(
    svc: Services, org: Org, visitor: WebClient
) -> None:
    sn = serial()
    token = registered(svc, org, sn, with_code=True)

    for path in (
        f"/01/{GTIN}/21/{sn}",
        f"/01/9506000134352/21/{sn}",
        f"/01/{GTIN}/21/{sn}/10/LOT?x=1",
        f"/01/{GTIN}/21/{sn}/",
    ):
        answer = visitor.get(path)
        assert answer.status_code == 303, (path, answer.status_code)
        assert answer.headers["location"] == f"/c/{token}"
    page = visitor.follow(visitor.get(f"/01/{GTIN}/21/{sn}"))
    assert "Labelled pump" in visible(page)


@pytest.mark.parametrize("kind", ["unknown serial", "wrong check digit", "two organizations"])
def test_an_unknown_or_ambiguous_digital_link_is_not_found(
    svc: Services, org: Org, visitor: WebClient, kind: str
) -> None:
    sn = serial()
    registered(svc, org, sn, with_code=True)
    path = {
        "unknown serial": f"/01/{GTIN}/21/{serial()}",
        "wrong check digit": f"/01/09506000134353/21/{sn}",
        "two organizations": f"/01/{GTIN}/21/{sn}",
    }[kind]
    if kind == "two organizations":
        registered(svc, make_org(svc), sn, with_code=True)

    answer = visitor.get(path)

    assert answer.status_code == 404
    assert "Labelled pump" not in answer.text


def test_a_registered_device_without_a_code_shows_code_not_paired_and_a_member_creates_one(
    svc: Services, org: Org, visitor: WebClient, live_server: LiveServer
) -> None:
    sn = serial()
    registered(svc, org, sn, with_code=False)
    path = f"/01/{GTIN}/21/{sn}/10/LOT"
    outsider = make_org(svc)

    anonymous = visitor.get(path)
    assert anonymous.status_code == 200
    assert "Code not paired" in visible(anonymous)
    assert "Labelled pump" not in anonymous.text
    assert "Sign in to pair" in visible(anonymous)

    stranger = WebClient(live_server.url)
    try:
        stranger.sign_in(outsider.admin.email, factories.PASSWORD)
        theirs = stranger.get(path)
        assert "Labelled pump" not in theirs.text
        assert 'method="post"' not in theirs.text
        refused = stranger.post(path)
        assert refused.status_code == 404
    finally:
        stranger.close()

    visitor.sign_in(org.admin.email, factories.PASSWORD)
    staff = visitor.get(path)
    assert "Create a code paired with Labelled pump" in visible(staff)
    created = visitor.post(path)
    assert created.status_code == 303
    token = created.headers["location"].removeprefix("/c/")
    code = codes.get_code(svc, org.actor, token)
    assert code.payload == f"{live_server.url}{path}"
    assert code.device_id is not None
    assert visitor.get(path).headers["location"] == f"/c/{token}"
    # The same label scanned in the app finds the code bound to it.
    scanned = dynamic_codes.scan(svc, org.actor, f"{live_server.url}{path}")
    assert scanned.code is not None
    assert scanned.code.token == token
