"""Organization and department isolation (SPEC P5) on every page of the back office.

The pages call the same use cases as the API, so the one access-control mechanism applies;
this proves it from the browser's side. Each page that names a record is aimed at
department A of organization 1 and opened, or its form posted (with a valid CSRF token), by
a member of department B and by a member of another organization: they get a refusal page,
see nothing of department A, and change nothing. The organization's Administrator gets the
page. Lists never show department A to either. A new page joins by itself: pages are
collected from the application and fail until PAGES or NOT_AIMED says how to treat them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from onboard.bootstrap import Container
from onboard.domain.codes import Code
from onboard.domain.provisioning import claim_code
from onboard.entrypoints import http
from onboard.entrypoints.app import create_app
from onboard.entrypoints.web.routing import WebRoute
from onboard.services import auth, batches, codes
from onboard.services.ports import CodeFilter, PageRequest
from tests.factories import PASSWORD
from tests.integration.test_isolation_matrix import (
    ADMIN,
    IN_B,
    OUTSIDER,
    World,
    _rows,
    _world,
)

_CSRF = re.compile(rf'name="{http.CSRF_FIELD}" value="([^"]+)"')


Form = dict[str, str | list[str]]


@dataclass(frozen=True)
class Page:
    """How to aim a page at department A: its path parameters and, for a POST, the form."""

    params: Callable[[World], dict[str, str]]
    form: Form | Callable[[World], Form] | None = None
    """The form to post; a function of the world when it names a record."""
    organization_wide: bool = False
    """Templates belong to the whole organization (A4): only another organization is
    refused; members of every department use them."""
    query: Callable[[World], dict[str, str]] | None = None
    """The query string, for a page that names its record there."""
    files: Callable[[World], dict[str, tuple[str, bytes, str]]] | None = None
    """Files to upload with the form."""


def _department(w: World) -> dict[str, str]:
    return {"department_id": w.a.id}


def _member(w: World) -> dict[str, str]:
    return {"member_id": w.member_a.id}


def _customer(w: World) -> dict[str, str]:
    return {"customer_id": w.customer_a.id}


def _customer_user(w: World) -> dict[str, str]:
    return {"customer_id": w.customer_a.id, "user_id": w.user_a.id}


def _paired(w: World) -> dict[str, str]:
    return {"token": w.paired_a.token}


def _unpaired(w: World) -> dict[str, str]:
    return {"token": w.unpaired_a.token}


def _notification(w: World) -> dict[str, str]:
    return {"token": w.paired_a.token, "notification_id": w.notification.id}


def _device(w: World) -> dict[str, str]:
    return {"device_id": w.device_a.id}


def _device_code(w: World) -> dict[str, str]:
    return {"device_id": w.device_a.id, "token": w.paired_a.token}


def _nothing(w: World) -> dict[str, str]:
    return {}


def _document(w: World) -> dict[str, str]:
    return {"device_id": w.device_a.id, "document_id": w.document.id}


def _template(w: World) -> dict[str, str]:
    return {"template_id": w.template.id}


def _spare_template(w: World) -> dict[str, str]:
    return {"template_id": w.spare_template.id}


def _template_document(w: World) -> dict[str, str]:
    return {"template_id": w.template.id, "document_id": w.template_document.id}


# A batch of department A's codes, made in the browsers fixture (issue 5).
BATCH_OF_A = "WEB-ISOLATION-A"


def _batch(w: World) -> dict[str, str]:
    return {"batch_id": batches.find_batch(w.svc, w.org.actor, BATCH_OF_A).batch.id}


def _code_label(w: World) -> dict[str, str]:
    return {"token": w.paired_a.token, "kind": "svg"}


def _product(w: World) -> dict[str, str]:
    return {"product_id": w.product.id}


def _license(w: World) -> dict[str, str]:
    return {"license_id": w.free_license.id}


def _licensed(w: World) -> dict[str, str]:
    return {"device_id": w.licensed_a.id}


def _newer(w: World) -> Form:
    return {"configuration": w.newer_configuration.id}


def _group(w: World) -> dict[str, str]:
    return {"group_ref": w.group.group_id}


def _spare(w: World) -> dict[str, str]:
    return {"serial": w.spare_serial}


def _label(w: World) -> dict[str, str]:
    """The onboarding label of a serial of the group (D5): group id, serial and code."""
    code = claim_code(w.group_secret, w.spare_serial)
    return {"group_id": w.group.group_id, "rest": f"{w.spare_serial}/{code}"}


def _upper_label(w: World) -> dict[str, str]:
    return {**_label(w), "group_id": w.group.group_id.upper()}


def _provisioned(w: World) -> dict[str, str]:
    return {"device_id": w.provisioned_a.id}


def _failed(w: World) -> dict[str, str]:
    return {"enrollment_id": w.failed_a.id}


def _node(w: World) -> dict[str, str]:
    return {"enrollment_id": w.node_a.id}


PAGES: dict[tuple[str, str], Page] = {
    ("GET", "/departments/{department_id}/edit"): Page(_department),
    ("POST", "/departments/{department_id}/edit"): Page(_department, {"name": "Taken over"}),
    ("GET", "/departments/{department_id}/delete"): Page(_department),
    ("POST", "/departments/{department_id}/delete"): Page(_department, {}),
    ("GET", "/members/{member_id}/edit"): Page(_member),
    ("POST", "/members/{member_id}/edit"): Page(
        _member, {"roles": ["administrator"], "access": "all"}
    ),
    ("GET", "/members/{member_id}/remove"): Page(_member),
    ("POST", "/members/{member_id}/remove"): Page(_member, {}),
    ("GET", "/customers/{customer_id}"): Page(_customer),
    ("POST", "/customers/{customer_id}/rename"): Page(_customer, {"name": "Taken over"}),
    ("GET", "/customers/{customer_id}/delete"): Page(_customer),
    ("POST", "/customers/{customer_id}/delete"): Page(_customer, {}),
    ("POST", "/customers/{customer_id}/users"): Page(_customer, {"email": "intruder@example.com"}),
    ("GET", "/customers/{customer_id}/users/{user_id}/remove"): Page(_customer_user),
    ("POST", "/customers/{customer_id}/users/{user_id}/remove"): Page(_customer_user, {}),
    # Codes (A1, A6-A11, A13)
    ("GET", "/codes/{token}"): Page(_paired),
    ("POST", "/codes/{token}/label"): Page(_paired, {"label": "Taken over"}),
    ("POST", "/codes/{token}/activate"): Page(_paired, {}),
    ("POST", "/codes/{token}/pin"): Page(_paired, {"pin": "1234"}),
    ("POST", "/codes/{token}/departments"): Page(_paired, {}),
    ("GET", "/codes/{token}/unpair"): Page(_paired),
    ("POST", "/codes/{token}/unpair"): Page(_paired, {}),
    ("GET", "/codes/{token}/deactivate"): Page(_paired),
    ("POST", "/codes/{token}/deactivate"): Page(_paired, {}),
    ("GET", "/codes/{token}/clear-pin"): Page(_paired),
    ("POST", "/codes/{token}/clear-pin"): Page(_paired, {}),
    ("GET", "/codes/{token}/delete"): Page(_paired),
    ("POST", "/codes/{token}/delete"): Page(_paired, {}),
    ("GET", "/codes/{token}/notifications/{notification_id}/delete"): Page(_notification),
    ("POST", "/codes/{token}/notifications/{notification_id}/delete"): Page(_notification, {}),
    ("GET", "/codes/{token}/notifications/delete"): Page(_paired),
    ("POST", "/codes/{token}/notifications/delete"): Page(_paired, {}),
    ("GET", "/codes/{token}/pair"): Page(_unpaired),
    ("POST", "/codes/{token}/pair"): Page(_unpaired, lambda w: {"device_id": w.device_a.id}),
    # Devices (A3-A9)
    ("GET", "/devices/{device_id}"): Page(_device),
    ("GET", "/devices/{device_id}/edit"): Page(_device),
    ("POST", "/devices/{device_id}/edit"): Page(_device, {"name": "Taken over"}),
    ("GET", "/devices/{device_id}/delete"): Page(_device),
    ("POST", "/devices/{device_id}/delete"): Page(_device, {}),
    ("POST", "/devices/{device_id}/photo"): Page(_device, {}),
    ("GET", "/devices/{device_id}/photo/remove"): Page(_device),
    ("POST", "/devices/{device_id}/photo/remove"): Page(_device, {}),
    ("GET", "/devices/{device_id}/codes"): Page(_device),
    ("GET", "/devices/{device_id}/codes/pair"): Page(_device),
    ("POST", "/devices/{device_id}/codes/pair"): Page(
        _device, lambda w: {"code": w.unpaired_a.token}
    ),
    ("POST", "/devices/{device_id}/codes/new"): Page(_device, {}),
    ("GET", "/devices/{device_id}/codes/{token}/unpair"): Page(_device_code),
    ("POST", "/devices/{device_id}/codes/{token}/unpair"): Page(_device_code, {}),
    ("GET", "/devices/{device_id}/documents"): Page(_device),
    ("POST", "/devices/{device_id}/documents/file"): Page(_device, {"file_title": "Taken over"}),
    ("POST", "/devices/{device_id}/documents/link"): Page(
        _device, {"link_title": "Taken over", "url": "https://example.com/x"}
    ),
    ("POST", "/devices/{device_id}/documents/{document_id}/public"): Page(
        _document, {"public": "yes"}
    ),
    ("GET", "/devices/{device_id}/documents/{document_id}/delete"): Page(_document),
    ("POST", "/devices/{device_id}/documents/{document_id}/delete"): Page(_document, {}),
    ("GET", "/devices/{device_id}/service"): Page(_device),
    ("POST", "/devices/{device_id}/service"): Page(
        _device, {"performed_on": "2026-01-02", "text": "Taken over"}
    ),
    ("GET", "/devices/{device_id}/interactions"): Page(_device),
    ("POST", "/devices/{device_id}/interactions"): Page(
        _device, {"kind": "note", "text": "Taken over"}
    ),
    ("GET", "/devices/{device_id}/timeline"): Page(_device),
    # Templates (A4) are organization-wide
    ("GET", "/templates/{template_id}"): Page(_template, organization_wide=True),
    ("POST", "/templates/{template_id}"): Page(
        _template,
        {
            "name": "Taken over",
            "field_name": ["power"],
            "field_type": ["number"],
            "departments_shown": "1",
        },
        organization_wide=True,
    ),
    ("GET", "/templates/{template_id}/delete"): Page(_spare_template, organization_wide=True),
    ("POST", "/templates/{template_id}/delete"): Page(_spare_template, {}, organization_wide=True),
    ("POST", "/templates/{template_id}/documents"): Page(
        _template, {"title": "Taken over", "url": "https://example.com/x"}, organization_wide=True
    ),
    ("GET", "/templates/{template_id}/documents/{document_id}/delete"): Page(
        _template_document, organization_wide=True
    ),
    ("POST", "/templates/{template_id}/documents/{document_id}/delete"): Page(
        _template_document, {}, organization_wide=True
    ),
    # Batches (issue 5) are organization-wide like templates; what a member sees of their
    # codes follows the codes' departments, tried in the tests below.
    ("GET", "/batches/{batch_id}"): Page(_batch, organization_wide=True),
    ("POST", "/batches/{batch_id}/labels"): Page(
        _batch, {"format": "csv", "layout": "a4-24", "error": "M"}, organization_wide=True
    ),
    # One code's label names the code: as closed as the code itself.
    ("GET", "/codes/{token}/label.{kind}"): Page(_code_label),
    # Part B (issue 6): products, licenses, pairing codes and configurations are the
    # organization's; the devices they serve are their departments' (tried below).
    ("GET", "/products/{product_id}"): Page(_product, organization_wide=True),
    ("GET", "/products/{product_id}/codes"): Page(_product, organization_wide=True),
    ("GET", "/products/{product_id}/devices"): Page(_product, organization_wide=True),
    ("GET", "/products/{product_id}/configurations"): Page(_product, organization_wide=True),
    ("POST", "/products/{product_id}/licenses"): Page(
        _product, {"count": "1"}, organization_wide=True
    ),
    ("POST", "/products/{product_id}/codes"): Page(
        _product, {"valid_days": "1"}, organization_wide=True
    ),
    ("POST", "/products/{product_id}/configurations"): Page(
        _product, {"name": "Taken over", "body": "{}"}, organization_wide=True
    ),
    ("POST", "/products/{product_id}/devices/configuration"): Page(
        _product, lambda w: {**_newer(w), "devices": w.licensed_a.id}
    ),
    ("POST", "/devices/{device_id}/configuration"): Page(_licensed, _newer),
    ("POST", "/licenses/{license_id}/assign"): Page(_license, {}, organization_wide=True),
    ("POST", "/licenses/{license_id}/pairing-code"): Page(_license, {}, organization_wide=True),
    ("GET", "/licenses/{license_id}/state"): Page(_license, organization_wide=True),
    ("POST", "/pairing-codes/{code_id}/revoke"): Page(
        lambda w: {"code_id": w.pairing_code.id}, {}, organization_wide=True
    ),
    ("GET", "/configurations/{configuration_id}"): Page(
        lambda w: {"configuration_id": w.configuration.id}, organization_wide=True
    ),
    # Part C (issue 7): enrollments follow their departments.
    ("GET", "/enrollments/{enrollment_id}"): Page(_failed),
    ("POST", "/enrollments/{enrollment_id}/retry"): Page(_failed, {}),
    ("GET", "/enrollments/{enrollment_id}/delete"): Page(_node),
    ("POST", "/enrollments/{enrollment_id}/delete"): Page(_node, {}),
    ("GET", "/m/enroll/{enrollment_id}"): Page(_failed),
    # Part D (issue 8): provisioning groups, their registrations and batches of onboarding
    # labels are organization-wide like templates; the devices they make follow their
    # departments (P5).
    ("GET", "/provisioning/{group_ref}"): Page(_group, organization_wide=True),
    ("POST", "/provisioning/{group_ref}"): Page(
        _group, {"name": "Taken over", "open_claims": "yes"}, organization_wide=True
    ),
    ("GET", "/provisioning/{group_ref}/rotate"): Page(_group, organization_wide=True),
    ("POST", "/provisioning/{group_ref}/rotate"): Page(_group, {}, organization_wide=True),
    ("GET", "/provisioning/{group_ref}/finish-rotation"): Page(_group, organization_wide=True),
    ("POST", "/provisioning/{group_ref}/finish-rotation"): Page(_group, {}, organization_wide=True),
    ("GET", "/provisioning/{group_ref}/registrations/disable"): Page(
        _group, organization_wide=True, query=_spare
    ),
    ("POST", "/provisioning/{group_ref}/registrations/disable"): Page(
        _group, {}, organization_wide=True, query=_spare
    ),
    ("GET", "/provisioning/{group_ref}/registrations/enable"): Page(
        _group, organization_wide=True, query=_spare
    ),
    ("POST", "/provisioning/{group_ref}/registrations/enable"): Page(
        _group, {}, organization_wide=True, query=_spare
    ),
    ("GET", "/provisioning/{group_ref}/registrations/import"): Page(_group, organization_wide=True),
    ("POST", "/provisioning/{group_ref}/registrations/import"): Page(
        _group,
        {"mode": "all"},
        organization_wide=True,
        files=lambda w: {"file": ("serials.csv", b"serial\nTAKEN-OVER-1\n", "text/csv")},
    ),
    ("GET", "/provisioning/{group_ref}/batches"): Page(_group, organization_wide=True),
    ("POST", "/provisioning/{group_ref}/batches"): Page(
        _group, {"count": "1"}, organization_wide=True
    ),
    ("POST", "/provisioning/{group_ref}/batches/{number}/labels"): Page(
        lambda w: {**_group(w), "number": "1"}, {"layout": "a4-24"}, organization_wide=True
    ),
    # An onboarding label (D5) names its group and serial: the group's organization opens
    # it (and may claim); another one, which the group does not allow, is refused
    # (claim_not_allowed, 403) and claims nothing.
    ("GET", "/o/{group_id}/{rest:path}"): Page(_label, organization_wide=True),
    ("POST", "/o/{group_id}/{rest:path}"): Page(
        _label, {"name": "Taken over"}, organization_wide=True
    ),
    ("GET", "/O/{group_id}/{rest:path}"): Page(_upper_label, organization_wide=True),
    ("POST", "/O/{group_id}/{rest:path}"): Page(
        _upper_label, {"name": "Taken over"}, organization_wide=True
    ),
    # A provisioned device's hardware is replaced from its page (D7): as closed as the device.
    ("GET", "/devices/{device_id}/replace"): Page(
        _provisioned, query=lambda w: {"serial": w.new_serial}
    ),
    ("POST", "/devices/{device_id}/replace"): Page(
        _provisioned, lambda w: {"serial": w.new_serial}
    ),
    # The mobile app (§5)
    ("GET", "/m/devices/{device_id}"): Page(_device),
    ("GET", "/m/devices/{device_id}/pair"): Page(_device),
    ("POST", "/m/devices/{device_id}/pair"): Page(_device, lambda w: {"token": w.unpaired_a.token}),
    ("POST", "/m/devices/{device_id}/codes/new"): Page(_device, {}),
    ("GET", "/m/devices/{device_id}/codes"): Page(_device),
    ("GET", "/m/devices/{device_id}/codes/{token}/unpair"): Page(_device_code),
    ("POST", "/m/devices/{device_id}/codes/{token}/unpair"): Page(_device_code, {}),
    ("GET", "/m/devices/{device_id}/records/new"): Page(_device),
    ("POST", "/m/devices/{device_id}/records"): Page(_device, {"text": "Taken over"}),
    ("GET", "/m/devices/{device_id}/photo"): Page(_device),
    ("POST", "/m/devices/{device_id}/photo"): Page(_device, {}),
    ("GET", "/m/devices/{device_id}/done/{token}"): Page(_device_code),
    ("GET", "/m/codes/{token}"): Page(_unpaired),
    ("GET", "/m/codes/{token}/pair"): Page(_unpaired),
    ("GET", "/m/codes/{token}/pair/existing"): Page(_unpaired),
    ("POST", "/m/codes/{token}/pair/existing"): Page(
        _unpaired, lambda w: {"device_id": w.device_a.id}
    ),
    ("GET", "/m/codes/{token}/pair/new"): Page(_unpaired),
    ("POST", "/m/codes/{token}/pair/new"): Page(
        _unpaired, {"name": "Taken over", "template_id": "none"}
    ),
    # Scanning names the code by what was scanned; pairing mode names the device too.
    ("POST", "/m/scan"): Page(
        _nothing, lambda w: {"payload": w.unpaired_a.token, "pair_device": w.device_a.id}
    ),
}

# Lists: they must show department A to the Administrator and to no one outside it.
LISTS = [
    "/",
    "/codes",
    "/devices",
    "/templates",
    "/batches",
    "/products",
    "/enrollments",
    "/m/enroll",
    "/m/devices",
    "/departments",
    "/members",
    "/customers",
    "/audit",
    "/provisioning",
    # Environments are the platform's (P2): every member of every organization reads them.
    "/environments",
]

# Pages that name no record of the organization: signing in and out, the person's own
# account, creation forms (covered by the API matrix's department checks), the shells.
NOT_AIMED = {
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/choose"),
    ("POST", "/choose"), ("GET", "/account"), ("POST", "/account"), ("GET", "/m/login"),
    ("POST", "/m/login"), ("GET", "/m"), ("GET", "/portal"), ("GET", "/members/new"),
    ("POST", "/members/new"), ("POST", "/departments"), ("POST", "/customers"), ("POST", "/codes"),
    # The scan page takes no record; decoding a picture or a camera frame yields text that
    # then goes through POST /m/scan (aimed above).
    ("GET", "/m/scan"), ("POST", "/m/scan/photo"), ("POST", "/m/scan/frame"),
    ("GET", "/devices/new"), ("POST", "/devices/new"), ("GET", "/templates/new"),
    ("POST", "/templates"), ("GET", "/batches/new"), ("POST", "/batches"),
    ("POST", "/products"), ("GET", "/enrollments/new"), ("POST", "/enrollments"),
    ("GET", "/provisioning/new"), ("POST", "/provisioning"),
    # Enrolling in the app starts from a label, not a record; what the label names is
    # looked up through the scoped use cases (tests/integration/test_enrollment_app.py).
    ("POST", "/m/enroll/scan"), ("POST", "/m/enroll/scan/photo"), ("GET", "/m/enroll/new"),
    ("POST", "/m/enroll/new"),
    # A list's gateways are checked row by row in the scope (the API matrix's batch case).
    ("GET", "/enrollments/import"), ("POST", "/enrollments/import"),
    *(("GET", path) for path in LISTS),
    # Public code pages (A12) carry no tenant scope: anyone holding the sticker opens them.
    # Their staff view and pair/unpair go through the scoped use cases; crossing departments
    # and organizations there is tried in tests/e2e/test_code_page.py.
    ("GET", "/c/{token}"), ("GET", "/C/{token}"), ("POST", "/c/{token}/pin"),
    ("POST", "/c/{token}/notify"), ("POST", "/c/{token}/pair"), ("GET", "/c/{token}/unpair"),
    ("POST", "/c/{token}/unpair"),
    # A pairing link opened in a browser (B3, B4) explains itself and looks nothing up.
    ("GET", "/p/{code}"), ("GET", "/P/{code}"),
    # GS1 Digital Link paths (A14) are public too: they name a device by GTIN and serial
    # platform-wide and lead to its code page; creating a code there goes through the
    # scoped use case (tests/e2e/test_api_dynamic_codes.py tries another organization).
    ("GET", "/01/{gtin}/21/{serial}"), ("GET", "/01/{gtin}/21/{serial}/{rest:path}"),
    ("POST", "/01/{gtin}/21/{serial}"), ("POST", "/01/{gtin}/21/{serial}/{rest:path}"),
    # The customer portal is for customer users, who have no departments: a member is sent
    # away, and another customer's device is not found (tests/e2e/test_portal.py).
    ("GET", "/portal/devices/{device_id}"), ("GET", "/portal/devices/{device_id}/photo"),
    ("GET", "/portal/devices/{device_id}/documents/{document_id}"),
}  # fmt: skip


def _web_routes(app: object) -> set[tuple[str, str]]:
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)  # type: ignore[attr-defined]
        if isinstance(context.route, WebRoute)
        for method in context.methods or ()
    }


@pytest.fixture
def browsers(container: Container) -> Iterator[tuple[World, dict[str, TestClient]]]:
    """The matrix's world, and a signed-in browser (its own cookie jar) for three actors."""
    app = create_app(container.settings, container=container)
    with TestClient(app) as api:
        world = _world(container, api)
        batches.create_batch(
            world.svc, world.org.actor, count=3, number=BATCH_OF_A, departments=[world.a.id]
        )
        clients: dict[str, TestClient] = {}
        for actor in (ADMIN, IN_B, OUTSIDER):
            signed = auth.sign_in(
                container.services,
                container.sign_in_policy,
                email=world.members[actor].email,
                password=PASSWORD,
                source_ip=None,
            )
            browser = TestClient(app, follow_redirects=False)
            browser.cookies.set(http.SESSION_COOKIE, signed.token)
            clients[actor] = browser
        yield world, clients
        for browser in clients.values():
            browser.close()


def _csrf(browser: TestClient) -> str:
    found = _CSRF.search(browser.get("/account").text)
    assert found, "the account page carries a CSRF token"
    return found.group(1)


def _open(browser: TestClient, method: str, path: str, page: Page, world: World) -> object:
    url = re.sub(r"\{(\w+):\w+\}", r"{\1}", path).format(**page.params(world))
    if page.query is not None:
        url += "?" + urlencode(page.query(world))
    if method == "GET":
        return browser.get(url)
    given = page.form(world) if callable(page.form) else page.form
    form = {**(given or {}), http.CSRF_FIELD: _csrf(browser)}
    files = page.files(world) if page.files is not None else None
    return browser.post(url, data=form, files=files)


def test_every_page_is_either_aimed_at_department_a_or_declared_not_aimed(
    container: Container,
) -> None:
    found = _web_routes(create_app(container.settings, container=container))
    missing = sorted(found - set(PAGES) - NOT_AIMED)
    stale = sorted((set(PAGES) | NOT_AIMED) - found)
    assert not missing, f"pages with no isolation case; add them to PAGES or NOT_AIMED: {missing}"
    assert not stale, f"cases for pages that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "path"), sorted(PAGES))
def test_a_page_about_department_a_is_refused_outside_it_and_changes_nothing(
    browsers: tuple[World, dict[str, TestClient]], method: str, path: str
) -> None:
    world, clients = browsers
    page = PAGES[(method, path)]
    for actor in (OUTSIDER,) if page.organization_wide else (IN_B, OUTSIDER):
        before = _rows(world.engine)
        answer = _open(clients[actor], method, path, page, world)
        status = answer.status_code  # type: ignore[attr-defined]
        text = answer.text  # type: ignore[attr-defined]
        assert status in {403, 404}, f"{actor} on {method} {path}: {status}"
        for secret in (world.a.name, world.customer_a.name, world.member_a.email):
            assert secret not in text, f"{actor} sees {secret!r} on {method} {path}"
        assert _rows(world.engine) == before, f"{actor} changed something via {method} {path}"
    if method == "GET":
        assert _open(clients[ADMIN], method, path, page, world).status_code == 200  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", LISTS)
def test_lists_show_department_a_only_to_members_who_may_see_it(
    browsers: tuple[World, dict[str, TestClient]], path: str
) -> None:
    world, clients = browsers
    shown = {actor: clients[actor].get(path) for actor in (ADMIN, IN_B, OUTSIDER)}
    for actor, answer in shown.items():
        assert answer.status_code == 200, (actor, path, answer.status_code)
    for actor in (IN_B, OUTSIDER):
        secrets = (world.a.name, world.customer_a.name, world.member_a.email, world.nearby_serial)
        for secret in secrets:
            assert secret not in shown[actor].text, f"{actor} sees {secret!r} on {path}"
    admin_sees = {"/departments": world.a.name, "/customers": world.customer_a.name,
                  "/members": world.member_a.email, "/audit": world.a.id,
                  "/m/enroll": world.nearby_serial}  # fmt: skip
    if path in admin_sees:
        assert admin_sees[path] in shown[ADMIN].text


def test_a_batch_shows_and_prints_only_the_codes_a_member_may_see(
    browsers: tuple[World, dict[str, TestClient]],
) -> None:
    """P5 and issue 5: a batch is the organization's, but its progress and its labels are
    made of its codes, which follow their departments: the Administrator prints department
    A's codes, a member of department B sees none of them and prints nothing, and another
    organization finds no batch and no label at all."""
    world, clients = browsers
    batch_id = _batch(world)["batch_id"]
    page = f"/batches/{batch_id}"
    a_tokens = {c.token for c in _codes_of_batch(world)}
    assert len(a_tokens) == 3

    admin = clients[ADMIN].post(
        f"{page}/labels", data={"format": "csv", http.CSRF_FIELD: _csrf(clients[ADMIN])}
    )
    assert admin.status_code == 200
    assert {row.split(",")[0] for row in admin.text.splitlines()[1:]} == a_tokens

    before = _rows(world.engine)
    shown = clients[IN_B].get(page)
    assert shown.status_code == 200
    assert 'data-testid="batch-codes">0<' in shown.text
    refused = clients[IN_B].post(
        f"{page}/labels", data={"format": "csv", http.CSRF_FIELD: _csrf(clients[IN_B])}
    )
    assert refused.status_code == 422
    assert "no codes you can see" in refused.text
    assert not any(token in refused.text for token in a_tokens)
    assert _rows(world.engine) == before, "nothing was printed"

    outsider = clients[OUTSIDER]
    assert outsider.get(page).status_code == 404
    assert outsider.get(f"/codes/{world.paired_a.token}/label.png").status_code == 404
    assert BATCH_OF_A not in outsider.get("/batches").text


def _codes_of_batch(world: World) -> list[Code]:
    found = codes.list_codes(
        world.svc, world.org.actor, CodeFilter(batch=BATCH_OF_A), PageRequest()
    )
    return found.items


def test_a_product_names_department_a_s_licensed_device_only_to_members_who_see_it(
    browsers: tuple[World, dict[str, TestClient]],
) -> None:
    """P5 and B2: every member of the organization sees the product, its licenses and its
    configurations, but department A's licensed device (its name, its row among the paired
    devices and among a configuration's users) only the Administrator does; a member of
    department B reads that its license serves "a device you do not see"."""
    world, clients = browsers
    product = f"/products/{world.product.id}"
    pages = (product, f"{product}/devices", f"/configurations/{world.configuration.id}")
    for page in pages:
        assert world.licensed_a.name in clients[ADMIN].get(page).text, page
        shown = clients[IN_B].get(page)
        assert shown.status_code == 200, page
        assert world.licensed_a.name not in shown.text, page
        assert world.licensed_a.id not in shown.text, page
    assert "a device you do not see" in clients[IN_B].get(product).text
    state = clients[IN_B].get(f"/licenses/{world.free_license.id}/state").json()
    assert state == {"status": "free", "device_name": None, "device_url": None}


def test_a_label_of_the_group_tells_another_organization_it_may_not_onboard_the_device(
    browsers: tuple[World, dict[str, TestClient]],
) -> None:
    """D5, P1: an onboarding label opened by a member of an organization the group does
    not allow says so (403) and onboarding from it makes nothing; the group's own
    organization is offered the device."""
    world, clients = browsers
    url = "/o/{group_id}/{rest}".format(**_label(world))
    before = _rows(world.engine)

    shown = clients[OUTSIDER].get(url)
    posted = clients[OUTSIDER].post(
        url, data={"name": "Mine now", http.CSRF_FIELD: _csrf(clients[OUTSIDER])}
    )

    for answer in (shown, posted):
        assert answer.status_code == 403
        assert "cannot be onboarded into your organization" in answer.text
    assert _rows(world.engine) == before
    offered = clients[ADMIN].get(url)
    assert offered.status_code == 200
    assert f"Onboard this device into {world.org.organization.name}" in offered.text


def test_a_group_s_page_leads_a_member_of_b_to_no_device_of_a(
    browsers: tuple[World, dict[str, TestClient]],
) -> None:
    """P5: the group and its registrations are the organization's, so a member of B reads
    its page; the twin of a registration is A's device, which B neither sees named there
    nor opens, with or without its provisioning card (D4-D7)."""
    world, clients = browsers
    group_page = clients[IN_B].get(f"/provisioning/{world.group.id}")
    device_page = f"/devices/{world.provisioned_a.id}"

    assert group_page.status_code == 200
    assert world.spare_serial in group_page.text
    assert world.provisioned_a.name not in group_page.text
    assert clients[IN_B].get(device_page).status_code == 404
    admin = clients[ADMIN].get(device_page)
    assert admin.status_code == 200
    assert 'data-testid="device-provisioning"' in admin.text
    assert world.group.group_id in admin.text
