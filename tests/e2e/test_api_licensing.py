"""Licensed client devices through the members' API of a real server over HTTP, on SQLite
and PostgreSQL (SPEC Part B, B1-B4, B7, B8, P10, §5.1): products, licenses granted in
numbers, reusable and single-use pairing codes shown once with their link and QR,
configurations and assigning them to licensed devices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from onboard.domain.errors import PairingCodeRevoked, PairingCodeUsed
from onboard.domain.licensing import read_pairing_code
from onboard.services import licensing
from onboard.services.licensing import HardwareReport
from onboard.services.ports import Services
from tests.answers import json_of, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_member, make_org, token_for, unique


@pytest.fixture
def other(live_server: LiveServer, svc: Services) -> Iterator[httpx.Client]:
    """The Administrator of another organization."""
    with live_server.client(token_for(svc, make_org(svc).admin)) as client:
        yield client


def _client(live_server: LiveServer, svc: Services, org: Org, role: str) -> httpx.Client:
    return live_server.client(token_for(svc, make_member(svc, org, roles=[role])))


def _product(api: httpx.Client) -> dict[str, Any]:
    return json_of(api.post("/api/v1/products", json={"name": unique("Collector")}), 201)


def _grant(api: httpx.Client, product_id: str, count: int, **more: Any) -> list[dict[str, Any]]:
    body = {"product_id": product_id, "count": count, **more}
    items: list[dict[str, Any]] = json_of(api.post("/api/v1/licenses", json=body), 201)["items"]
    return items


def _licenses(api: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json_of(
        api.get("/api/v1/licenses", params={"limit": 200, **query})
    )["items"]
    return items


def _field_error(answer: httpx.Response, field: str) -> None:
    """A 422 problem naming the field."""
    body = problem_of(answer, 422, "invalid")
    assert any(field in error.get("field", "") for error in body["errors"] or []), body


def _aware(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pair(svc: Services, scanned: str, hardware_id: str) -> licensing.Paired:
    return licensing.pair(svc, scanned, HardwareReport(hardware_id, model="Handheld X"))


# --- products (B1) ------------------------------------------------------------------------


def test_a_product_is_created_listed_and_read(api: httpx.Client) -> None:
    """B1: a product has an id and a name; its organization lists it."""
    name = unique("Data collector")

    created = json_of(api.post("/api/v1/products", json={"name": name}), 201)

    assert set(created) >= {"id", "name", "created_at"}
    assert created["name"] == name
    assert json_of(api.get(f"/api/v1/products/{created['id']}")) == created
    listed = json_of(api.get("/api/v1/products"))
    assert created in listed["items"]
    assert listed["next_cursor"] is None


def test_a_product_name_must_be_given_and_unique(api: httpx.Client) -> None:
    """B1, P10: a blank name is 422 on its field, a taken one 409; nothing is made."""
    taken = _product(api)["name"]

    _field_error(api.post("/api/v1/products", json={"name": "  "}), "name")
    _field_error(api.post("/api/v1/products", json={}), "name")
    problem_of(api.post("/api/v1/products", json={"name": taken}), 409, "name_taken")

    assert [p["name"] for p in json_of(api.get("/api/v1/products"))["items"]] == [taken]


def test_another_organization_does_not_see_a_product(
    api: httpx.Client, other: httpx.Client
) -> None:
    """P1: products are their organization's alone."""
    product = _product(api)

    problem_of(other.get(f"/api/v1/products/{product['id']}"), 404, "not_found")
    assert json_of(other.get("/api/v1/products"))["items"] == []


def test_a_viewer_creates_no_product(live_server: LiveServer, svc: Services, org: Org) -> None:
    """B1, §0: viewers change nothing."""
    with _client(live_server, svc, org, "viewer") as viewer:
        problem_of(viewer.post("/api/v1/products", json={"name": "Mine"}), 403, "permission_denied")
        assert json_of(viewer.get("/api/v1/products"))["items"] == []


# --- licenses (B2) ------------------------------------------------------------------------


def test_licenses_are_granted_in_number_free_with_their_expiry(api: httpx.Client) -> None:
    """B2: ``count`` free licenses of the product with the expiry given; lists filter by
    product and status."""
    product, spare = _product(api), _product(api)
    expiry = "2031-06-30T12:00:00Z"

    granted = _grant(api, product["id"], 3, expires_at=expiry)
    _grant(api, spare["id"], 1)

    assert len(granted) == 3
    for license_ in granted:
        assert license_["product_id"] == product["id"]
        assert (license_["status"], license_["device_id"]) == ("free", None)
        assert _aware(license_["expires_at"]) == datetime(2031, 6, 30, 12, tzinfo=UTC)
    mine = _licenses(api, product_id=product["id"])
    assert sorted(x["id"] for x in mine) == sorted(x["id"] for x in granted)
    assert len(_licenses(api, status="free")) == 4
    assert _licenses(api, status="assigned") == []
    assert _licenses(api, product_id=spare["id"])[0]["expires_at"] is None


def test_granting_licenses_refuses_bad_input_and_changes_nothing(
    api: httpx.Client, other: httpx.Client
) -> None:
    """B2, P10: the count is 1 to 100,000 and the product must be one of the
    organization's; a list filter must be free or assigned."""
    product = _product(api)["id"]

    for count in (0, -1, 100_001):
        _field_error(
            api.post("/api/v1/licenses", json={"product_id": product, "count": count}), "count"
        )
    _field_error(api.post("/api/v1/licenses", json={"count": 1}), "product_id")
    _field_error(
        api.post(
            "/api/v1/licenses", json={"product_id": product, "count": 1, "expires_at": "soon"}
        ),
        "expires_at",
    )
    other_product = _product(other)["id"]
    problem_of(
        api.post("/api/v1/licenses", json={"product_id": other_product, "count": 1}),
        404,
        "not_found",
    )
    problem_of(
        other.post("/api/v1/licenses", json={"product_id": product, "count": 1}), 404, "not_found"
    )
    _field_error(api.get("/api/v1/licenses", params={"status": "lent"}), "status")

    assert _licenses(api) == []
    assert _licenses(other) == []


@pytest.mark.parametrize("role", ["device_manager", "viewer"])
def test_only_administrators_grant_licenses(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, role: str
) -> None:
    """B2: a grant stands in for a purchase; a Device Manager or a Viewer may not."""
    product = _product(api)["id"]

    with _client(live_server, svc, org, role) as member:
        answer = member.post("/api/v1/licenses", json={"product_id": product, "count": 5})
        problem_of(answer, 403, "permission_denied")
        assert _licenses(member) == []


# --- reusable pairing codes (B3) ----------------------------------------------------------


def test_a_reusable_pairing_code_is_shown_once_with_its_link_and_qr(api: httpx.Client) -> None:
    """B3: valid 30 days by default; its code, link and QR are shown in the answer that
    made it and never again (only its digest is kept)."""
    product = _product(api)["id"]

    made = json_of(api.post("/api/v1/pairing-codes", json={"product_id": product}), 201)

    assert made["code"]
    assert made["url"].endswith("/p/" + made["code"])
    assert read_pairing_code(made["url"]) == made["code"]
    assert made["qr_svg"].lstrip().startswith("<svg")
    assert made["qr_svg"].rstrip().endswith("</svg>")
    assert (made["uses"], made["max_uses"], made["revoked"]) == (0, None, False)
    assert made["kind"] == "reusable"
    validity = _aware(made["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < validity <= timedelta(days=30)
    listed = json_of(api.get("/api/v1/pairing-codes", params={"product_id": product}))
    assert [c["id"] for c in listed["items"]] == [made["id"]]
    (shown,) = listed["items"]
    assert (shown["code"], shown["url"], shown["qr_svg"]) == (None, None, None)
    assert made["code"] not in api.get("/api/v1/pairing-codes").text


def test_a_pairing_code_takes_its_validity_and_maximum_uses(api: httpx.Client) -> None:
    """B3: ``valid_days`` and ``max_uses`` as given."""
    product = _product(api)["id"]

    made = json_of(
        api.post(
            "/api/v1/pairing-codes", json={"product_id": product, "valid_days": 2, "max_uses": 7}
        ),
        201,
    )

    validity = _aware(made["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=1, hours=23) < validity <= timedelta(days=2)
    assert made["max_uses"] == 7


def test_a_pairing_code_refuses_bad_input_and_strangers(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, other: httpx.Client
) -> None:
    """B3, P10: 422 per field, 404 for another organization's product, 403 for a viewer;
    no code is made."""
    product = _product(api)["id"]

    for field, value in (("valid_days", 0), ("valid_days", 3651), ("max_uses", 0)):
        answer = api.post("/api/v1/pairing-codes", json={"product_id": product, field: value})
        _field_error(answer, field)
    problem_of(other.post("/api/v1/pairing-codes", json={"product_id": product}), 404, "not_found")
    with _client(live_server, svc, org, "viewer") as viewer:
        answer = viewer.post("/api/v1/pairing-codes", json={"product_id": product})
        problem_of(answer, 403, "permission_denied")
        problem_of(viewer.get("/api/v1/pairing-codes"), 403, "permission_denied")

    assert json_of(api.get("/api/v1/pairing-codes"))["items"] == []


def test_a_device_manager_makes_pairing_codes(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client
) -> None:
    """B3: Administrators and Device Managers make pairing codes."""
    product = _product(api)["id"]

    with _client(live_server, svc, org, "device_manager") as manager:
        made = manager.post("/api/v1/pairing-codes", json={"product_id": product})

    assert json_of(made, 201)["url"].endswith(made.json()["code"])


def test_a_revoked_pairing_code_pairs_no_more_devices(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, other: httpx.Client
) -> None:
    """B3, B7: DELETE revokes (204, like the API's other deletions); the code stays
    listed as revoked and pairing with it is ``pairing_code_revoked``. Only the
    organization's Administrators and Device Managers revoke."""
    product = _product(api)["id"]
    _grant(api, product, 1)
    made = json_of(api.post("/api/v1/pairing-codes", json={"product_id": product}), 201)
    url = f"/api/v1/pairing-codes/{made['id']}"

    problem_of(other.delete(url), 404, "not_found")
    with _client(live_server, svc, org, "viewer") as viewer:
        problem_of(viewer.delete(url), 403, "permission_denied")
    assert json_of(api.get("/api/v1/pairing-codes"))["items"][0]["revoked"] is False

    assert api.delete(url).status_code == 204

    assert json_of(api.get("/api/v1/pairing-codes"))["items"][0]["revoked"] is True
    assert api.delete(url).status_code == 204
    problem_of(api.delete("/api/v1/pairing-codes/NOSUCHCODE"), 404, "not_found")
    with pytest.raises(PairingCodeRevoked):
        _pair(svc, made["url"], unique("hw"))
    assert _licenses(api, status="free") != []


# --- single-use pairing codes (B4) --------------------------------------------------------


def test_a_single_use_code_is_made_from_a_free_license(api: httpx.Client) -> None:
    """B4: "Assign device" answers the code, its link, its QR and when it expires, 60
    seconds from now unless said otherwise (30-300)."""
    product = _product(api)["id"]
    first, second = _grant(api, product, 2)

    made = json_of(api.post(f"/api/v1/licenses/{first['id']}/pairing-code"), 201)
    longer = json_of(
        api.post(f"/api/v1/licenses/{second['id']}/pairing-code", json={"ttl_seconds": 300}), 201
    )

    assert made["url"].endswith("/p/" + made["code"])
    assert "<svg" in made["qr_svg"]
    assert (made["kind"], made["license_id"], made["max_uses"]) == (
        "single_use",
        first["id"],
        1,
    )
    now = datetime.now(UTC)
    assert timedelta(seconds=50) < _aware(made["expires_at"]) - now <= timedelta(seconds=60)
    assert timedelta(seconds=290) < _aware(longer["expires_at"]) - now <= timedelta(seconds=300)


def test_a_single_use_code_refuses_bad_lifetimes_strangers_and_assigned_licenses(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, other: httpx.Client
) -> None:
    """B4, B7: lifetime 30-300 s (422), another organization's license (404), a viewer
    (403), and a license that serves a device (409): it cannot be assigned again."""
    product = _product(api)["id"]
    (license_,) = _grant(api, product, 1)
    url = f"/api/v1/licenses/{license_['id']}/pairing-code"

    for ttl in (29, 301):
        _field_error(api.post(url, json={"ttl_seconds": ttl}), "ttl_seconds")
    problem_of(other.post(url), 404, "not_found")
    with _client(live_server, svc, org, "viewer") as viewer:
        problem_of(viewer.post(url), 403, "permission_denied")
    problem_of(api.post("/api/v1/licenses/NOSUCHLICENSE/pairing-code"), 404, "not_found")
    assert json_of(api.get("/api/v1/pairing-codes"))["items"] == []

    made = json_of(api.post(url), 201)
    paired = _pair(svc, made["code"], unique("hw"))

    assert paired.license_id == license_["id"]
    problem_of(api.post(url), 409, "license_not_free")
    with pytest.raises(PairingCodeUsed):
        _pair(svc, made["url"], unique("hw"))
    assert [c["uses"] for c in json_of(api.get("/api/v1/pairing-codes"))["items"]] == [1]


# --- configurations (B8) ------------------------------------------------------------------


def test_a_configuration_is_created_listed_and_read_with_its_body(api: httpx.Client) -> None:
    """B8: a named JSON document of a product with an ETag; the list leaves bodies out,
    reading one shows it."""
    product, spare = _product(api)["id"], _product(api)["id"]
    body = {"server": "https://collect.example.com", "interval": 30, "tags": ["a", "b"]}

    made = json_of(
        api.post(
            "/api/v1/configurations", json={"product_id": product, "name": "Field", "body": body}
        ),
        201,
    )
    same = json_of(
        api.post(
            "/api/v1/configurations", json={"product_id": spare, "name": "Copy", "body": body}
        ),
        201,
    )

    assert set(made) >= {"id", "product_id", "name", "etag", "created_at"}
    assert (made["product_id"], made["name"]) == (product, "Field")
    assert made["etag"]
    assert made["etag"] == same["etag"]
    assert json_of(api.get(f"/api/v1/configurations/{made['id']}")) == {**made, "body": body}
    listed = json_of(api.get("/api/v1/configurations", params={"product_id": product}))["items"]
    assert listed == [made]


def test_a_configuration_refuses_bad_bodies_strangers_and_viewers(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, other: httpx.Client
) -> None:
    """B8, P10: the body is a JSON object of at most 64 KiB with finite numbers; the name
    is not blank; the product is the organization's; viewers make none."""
    product = _product(api)["id"]
    good = {"product_id": product, "name": "Field", "body": {"a": 1}}

    for field, value in (("body", [1, 2]), ("body", "x"), ("name", " "), ("product_id", None)):
        _field_error(api.post("/api/v1/configurations", json={**good, field: value}), field)
    huge = {**good, "body": {"blob": "x" * 70_000}}
    _field_error(api.post("/api/v1/configurations", json=huge), "body")
    not_a_number = f'{{"product_id": "{product}", "name": "N", "body": {{"a": NaN}}}}'
    answer = api.post(
        "/api/v1/configurations",
        content=not_a_number,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    problem_of(other.post("/api/v1/configurations", json=good), 404, "not_found")
    with _client(live_server, svc, org, "viewer") as viewer:
        problem_of(viewer.post("/api/v1/configurations", json=good), 403, "permission_denied")
    assert json_of(api.get("/api/v1/configurations"))["items"] == []

    made = json_of(api.post("/api/v1/configurations", json=good), 201)

    problem_of(other.get(f"/api/v1/configurations/{made['id']}"), 404, "not_found")
    assert json_of(other.get("/api/v1/configurations"))["items"] == []


# --- the whole flow: licenses, a code, two devices, a configuration for both -------------


def test_two_devices_pair_take_both_licenses_and_get_a_new_configuration(
    api: httpx.Client, svc: Services
) -> None:
    """B2, B3, B5, B8: two licenses, one reusable code, two devices pair (each takes a
    license and the newest configuration); a new configuration goes to both at once, then
    one device is put back on the first."""
    product = _product(api)["id"]
    _grant(api, product, 2)
    first = json_of(
        api.post(
            "/api/v1/configurations",
            json={"product_id": product, "name": "First", "body": {"interval": 60}},
        ),
        201,
    )
    code = json_of(api.post("/api/v1/pairing-codes", json={"product_id": product}), 201)

    paired = [_pair(svc, code["url"], unique("hw")), _pair(svc, code["code"], unique("hw"))]

    assert [p.configuration.id if p.configuration else None for p in paired] == [
        first["id"],
        first["id"],
    ]
    assigned = _licenses(api, status="assigned", product_id=product)
    assert sorted(x["device_id"] for x in assigned) == sorted(p.device_id for p in paired)
    assert sorted(x["id"] for x in assigned) == sorted(p.license_id for p in paired)
    assert _licenses(api, status="free") == []
    assert json_of(api.get("/api/v1/pairing-codes"))["items"][0]["uses"] == 2

    second = json_of(
        api.post(
            "/api/v1/configurations",
            json={"product_id": product, "name": "Second", "body": {"interval": 5}},
        ),
        201,
    )
    device_ids = [p.device_id for p in paired]
    url = f"/api/v1/configurations/{second['id']}/assign"
    assert json_of(api.post(url, json={"device_ids": device_ids})) == {"assigned": 2}
    assert json_of(api.post(url, json={"device_ids": device_ids})) == {"assigned": 0}

    back = json_of(
        api.put(
            f"/api/v1/devices/{device_ids[0]}/configuration",
            json={"configuration_id": first["id"]},
        )
    )
    assert back["id"] == device_ids[0]
    assert json_of(api.post(url, json={"device_ids": device_ids})) == {"assigned": 1}


def test_assigning_a_configuration_refuses_what_it_cannot_assign(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client, other: httpx.Client
) -> None:
    """B8, P5, P10: devices must be licensed devices of the configuration's product that
    the member sees; all or nothing; viewers assign nothing."""
    product, spare = _product(api)["id"], _product(api)["id"]
    _grant(api, product, 1)
    _grant(api, spare, 1)
    configuration = json_of(
        api.post("/api/v1/configurations", json={"product_id": product, "name": "C", "body": {}}),
        201,
    )
    spare_configuration = json_of(
        api.post("/api/v1/configurations", json={"product_id": spare, "name": "S", "body": {}}),
        201,
    )
    code = json_of(api.post("/api/v1/pairing-codes", json={"product_id": product}), 201)
    device = _pair(svc, code["code"], unique("hw")).device_id
    plain = json_of(api.post("/api/v1/devices", json={"name": "Not licensed"}), 201)["id"]
    assign = f"/api/v1/configurations/{configuration['id']}/assign"
    put = f"/api/v1/devices/{device}/configuration"

    _field_error(api.post(assign, json={"device_ids": []}), "device_ids")
    problem_of(api.post(assign, json={"device_ids": [device, plain]}), 404, "not_found")
    problem_of(
        api.put(
            f"/api/v1/devices/{plain}/configuration", json={"configuration_id": configuration["id"]}
        ),
        404,
        "not_found",
    )
    problem_of(
        api.post(
            f"/api/v1/configurations/{spare_configuration['id']}/assign",
            json={"device_ids": [device]},
        ),
        422,
        "invalid",
    )
    problem_of(api.put(put, json={"configuration_id": "NOSUCH"}), 404, "not_found")
    _field_error(api.put(put, json={}), "configuration_id")
    problem_of(other.post(assign, json={"device_ids": [device]}), 404, "not_found")
    problem_of(other.put(put, json={"configuration_id": configuration["id"]}), 404, "not_found")
    with _client(live_server, svc, org, "viewer") as viewer:
        problem_of(viewer.post(assign, json={"device_ids": [device]}), 403, "permission_denied")
        problem_of(
            viewer.put(put, json={"configuration_id": configuration["id"]}),
            403,
            "permission_denied",
        )

    # Nothing changed: the device still has the configuration it paired with.
    assert json_of(api.put(put, json={"configuration_id": configuration["id"]}))["id"] == device
    assert json_of(api.post(assign, json={"device_ids": [device]})) == {"assigned": 0}
