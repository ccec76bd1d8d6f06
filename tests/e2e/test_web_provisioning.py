"""The back office of provisioning in headless Chromium against the real server (SPEC D1,
D3, D4, P2, §5): a group created with every setting and its secret shown once, its
settings changed, a bad value refused next to its field with nothing changed, the secret
rotated (the new one shown once) and the rotation finished, serials uploaded and one
registration disabled and enabled again, the platform's environments listed, and a
Viewer who reads everything and is shown no form and refused every change."""

from __future__ import annotations

import base64
import io
import re
import secrets

from playwright.sync_api import Page, expect

from onboard.domain.enrollment_import import ListFormat
from onboard.services import licensing
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import environments, groups, registrations
from onboard.services.provisioning.groups import GroupInput
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.test_web_accessibility import _PROBLEMS, _answer_problems, _check
from tests.e2e.test_web_browser import sign_in
from tests.provisioning import key_of


def group_id() -> str:
    return f"web-{secrets.token_hex(6)}"


def environment(svc: Services, *, region: str = "eu", up: bool = True, weight: int = 1) -> str:
    """A platform-wide environment with a name no other test uses."""
    name = f"env-{secrets.token_hex(4)}"
    environments.create_environment(
        svc,
        name=name,
        api_url=f"https://{name}.example.com/api",
        mqtt_url=f"mqtts://{name}.example.com:8883",
        region=region,
        weight=weight,
        up=up,
    )
    return name


def key_derived(svc: Services, org: factories.Org, group_ref: str, serial: str) -> str:
    """The device key the platform derives for ``serial`` under the group's primary secret."""
    (derived,) = groups.derive_keys(svc, org.actor, group_ref, lambda: [serial])
    return derived.device_key


def secret_shown(page: Page) -> str:
    secret = page.get_by_test_id("group-secret").inner_text().strip()
    assert len(base64.b64decode(secret, validate=True)) == 32
    return secret


def group_count(svc: Services, org: factories.Org) -> int:
    return len(groups.list_groups(svc, org.actor, PageRequest(None, 500)).items)


def test_an_iot_manager_creates_a_group_with_every_setting_and_sees_its_secret_once(
    page: Page, live_server: LiveServer
) -> None:
    """D1, D2: the new-group form takes every setting; a bad group id is refused next to
    its field and makes nothing; the page that answers shows the secret once with a
    warning (the secret the platform derives device keys from), and no page shows it
    again."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    manager = factories.make_member(svc, org, roles=["iot_manager"])
    first, second = environment(svc, region="eu-west"), environment(svc, region="us-east")
    public_id = group_id()
    sign_in(page, manager.email, factories.PASSWORD)

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Provisioning").click()
    page.get_by_role("link", name="New group").click()
    page.get_by_label("Group id (optional)").fill("Not A Group Id!")
    page.get_by_label("Name", exact=True).fill("Boilers 2027")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_label("Group id (optional)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("group id")
    assert group_count(svc, org) == 0

    page.get_by_label("Group id (optional)").fill(public_id)
    page.get_by_role("radio", name=re.compile(r"^Open ·")).check()
    page.get_by_role("checkbox", name=re.compile(first)).check()
    page.get_by_role("checkbox", name=re.compile(second)).check()
    page.get_by_label(f"Position of {second}").select_option("1")
    page.get_by_label(f"Position of {first}").select_option("2")
    page.get_by_role("radio", name=re.compile(r"^Hashed ·")).check()
    page.get_by_role("radio", name=re.compile(r"^Reset ·")).check()
    page.get_by_label("Configuration", exact=True).fill('{"interval_s": 60}')
    page.get_by_label("Initial attributes").fill('{"colour": "red"}')
    page.get_by_role("checkbox", name=re.compile("Any organization may claim")).check()
    page.get_by_role("button", name="Create group").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Group Boilers 2027 created")
    expect(page.get_by_role("alert")).to_contain_text("shown only this once")
    expect(page.get_by_test_id("group-id")).to_have_text(public_id)
    secret = secret_shown(page)
    assert key_derived(svc, org, public_id, "SN-1") == key_of(secret, "SN-1")
    made = groups.find_group_now(svc, org.actor, public_id)
    assert made.registration_mode.value == "open"
    assert made.allocation_policy.value == "hashed"
    assert made.reprovision_policy.value == "reset"
    assert made.defaults.configuration == {"interval_s": 60}
    assert made.defaults.attributes == {"colour": "red"}
    assert made.open_claims
    names = {e.id: e.name for e in environments.list_environments(svc)}
    assert [names[i] for i in made.environment_ids] == [second, first]

    page.get_by_role("link", name=re.compile("go to the group")).click()
    settings = page.get_by_role("region", name="Settings", exact=True)
    expect(settings).to_contain_text("Open")
    expect(settings).to_contain_text("Hashed")
    expect(settings.locator(".tag")).to_have_text([second, first])
    expect(page.get_by_test_id("group-configuration")).to_contain_text('"interval_s": 60')
    assert secret not in page.content()
    page.goto("/provisioning")
    row = page.get_by_role("row", name=re.compile(public_id))
    expect(row).to_contain_text("Boilers 2027")
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text("Reset")
    assert secret not in page.content()


def test_a_group_is_changed_and_a_bad_value_is_refused_with_nothing_changed(
    page: Page, live_server: LiveServer
) -> None:
    """D1, P10: configuration that is not JSON is refused next to its field, the form
    keeps what was typed, and the group stays as it was; then a good change is saved."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = groups.create_group(svc, org.actor, group_id(), GroupInput(name="Meters"))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/provisioning/{made.group.id}")

    form = page.locator("#group-form")
    form.get_by_label("Name", exact=True).fill("Meters renamed")
    form.get_by_label("Configuration", exact=True).fill('{"broken": ')
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_label("Configuration", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("not JSON")
    expect(page.get_by_label("Configuration", exact=True)).to_have_value('{"broken": ')
    assert groups.find_group_now(svc, org.actor, made.group.id) == made.group

    form = page.locator("#group-form")
    form.get_by_label("Configuration", exact=True).fill('{"broken": false}')
    form.get_by_role("radio", name=re.compile(r"^Never ·")).check()
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Group Meters renamed saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meters renamed")
    expect(page.get_by_role("region", name="Settings", exact=True)).to_contain_text("Never")
    after = groups.find_group_now(svc, org.actor, made.group.id)
    assert (after.name, after.reprovision_policy.value) == ("Meters renamed", "never")
    assert after.defaults.configuration == {"broken": False}
    assert after.group_id == made.group.group_id


def test_a_group_takes_a_named_configuration_chosen_in_its_form(
    page: Page, live_server: LiveServer
) -> None:
    """§5.1 Part D `configuration_id`, B8: a product's configuration picked by name is the
    group's configuration, shown with its name on the group's page."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    product = licensing.create_product(svc, org.actor, name="Meter firmware")
    named = licensing.create_configuration(
        svc, org.actor, product.id, name="Rollout 3", body={"interval": 30}
    )
    made = groups.create_group(
        svc, org.actor, group_id(), GroupInput(name="Meters", configuration={"a": 1})
    )
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/provisioning/{made.group.id}")

    form = page.locator("#group-form")
    form.get_by_label("Named configuration").select_option(label="Rollout 3")
    form.get_by_role("button", name="Save settings").click()

    expect(page.get_by_role("status")).to_contain_text("Group Meters saved.")
    expect(page.get_by_test_id("group-configuration-name")).to_have_text("Rollout 3")
    expect(page.get_by_test_id("group-configuration")).to_contain_text('"interval": 30')
    after = groups.find_group_now(svc, org.actor, made.group.id).defaults
    assert (after.configuration, after.configuration_id) == ({"interval": 30}, named.id)


def test_rotating_the_secret_shows_the_new_one_once_and_finishing_drops_the_old(
    page: Page, live_server: LiveServer
) -> None:
    """D1: "Rotate secret" asks first, then shows the new secret once (keys now derive
    from it, the old one is kept as the secondary); "Finish rotation" asks first, then
    drops the secondary."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = groups.create_group(svc, org.actor, group_id(), GroupInput(name="Sensors"))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/provisioning/{made.group.id}")
    # §5.1: a group is made with a secondary secret, which a rotation replaces.
    expect(page.get_by_role("link", name="Finish rotation")).to_have_count(1)

    page.get_by_role("link", name="Rotate secret").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotate the secret of Sensors?")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_role("alert")).to_contain_text("shown only this once")
    rotated = secret_shown(page)
    assert rotated != made.secret
    assert key_derived(svc, org, made.group.id, "SN-9") == key_of(rotated, "SN-9")

    page.get_by_role("link", name=re.compile("go to the group")).click()
    expect(page.get_by_text("Secondary secret held")).to_be_visible()
    assert rotated not in page.content()
    page.get_by_role("link", name="Finish rotation").click()
    page.get_by_role("button", name="Finish rotation").click()
    expect(page.get_by_role("status")).to_contain_text("Rotation finished")
    expect(page.get_by_role("link", name="Finish rotation")).to_have_count(0)
    assert not groups.find_group_now(svc, org.actor, made.group.id).rotating


def test_serials_are_uploaded_and_a_registration_is_disabled_then_enabled(
    page: Page, live_server: LiveServer
) -> None:
    """D3, D4: a list with a bad row registers nothing and says which row; the valid list
    registers its serials with their attributes; one registration is disabled after
    confirmation (the others stay enabled), then enabled again."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = groups.create_group(svc, org.actor, group_id(), GroupInput(name="Pumps"))
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto(f"/provisioning/{made.group.id}")
    expect(page.get_by_text("No serials registered yet")).to_be_visible()

    page.get_by_role("link", name="Upload serials").click()
    upload = page.get_by_label("List (.csv, .jsonl or .ndjson)")
    upload.set_input_files(
        {"name": "s.csv", "mimeType": "text/csv", "buffer": b"serial,colour\nP-1,red\nbad one,x\n"}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing registered")
    expect(page.get_by_role("table").get_by_role("row").nth(1)).to_contain_text("malformed")
    listed = registrations.list_registrations(svc, org.actor, made.group.id, PageRequest())
    assert listed.items == []

    page.get_by_role("link", name="Upload another list").click()
    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(
        {"name": "s.csv", "mimeType": "text/csv", "buffer": b"serial,colour\nP-1,red\nP-2,\n"}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2 registered")
    page.get_by_role("link", name="Back to the group").click()
    table = page.get_by_role("region", name="Registrations")
    first = table.get_by_role("row", name=re.compile("P-1"))
    expect(first).to_contain_text('"colour": "red"')
    expect(first).to_contain_text("Enabled")
    expect(first).to_contain_text("Not activated")

    first.get_by_role("link", name="Disable P-1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disable the registration of P-1")
    page.get_by_role("button", name="Disable registration").click()
    expect(page.get_by_role("status")).to_contain_text("Registration of P-1 disabled.")
    table = page.get_by_role("region", name="Registrations")
    expect(table.get_by_role("row", name=re.compile("P-1"))).to_contain_text("Disabled")
    expect(table.get_by_role("row", name=re.compile("P-2"))).to_contain_text("Enabled")
    states = {
        r.serial: r.disabled
        for r in registrations.list_registrations(
            svc, org.actor, made.group.id, PageRequest()
        ).items
    }
    assert states == {"P-1": True, "P-2": False}

    table.get_by_role("link", name="Enable P-1").click()
    page.get_by_role("button", name="Enable registration").click()
    expect(page.get_by_role("status")).to_contain_text("Registration of P-1 enabled.")
    found = registrations.list_registrations(svc, org.actor, made.group.id, PageRequest())
    assert not any(r.disabled for r in found.items)


def test_a_viewer_reads_groups_and_environments_but_sees_no_forms_and_is_refused(
    page: Page, live_server: LiveServer
) -> None:
    """D1, P2, §0: a Viewer sees the groups, a group's settings and registrations and the
    platform's environments (up or down, weight, URLs; the page says the operator manages
    them from the CLI), is shown no form or button that changes them, and a change
    posted anyway is refused and changes nothing."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    up_name = environment(svc, region="eu-north", weight=7)
    down_name = environment(svc, up=False)
    made = groups.create_group(
        svc, org.actor, group_id(), GroupInput(name="Valves", environments=(up_name,))
    )
    registrations.register_serials(
        svc, org.actor, made.group.id, io.BytesIO(b"serial\nV-1\n"), format=ListFormat.CSV
    )
    viewer = factories.make_member(svc, org, roles=["viewer"])
    sign_in(page, viewer.email, factories.PASSWORD)

    page.goto("/provisioning")
    expect(page.get_by_role("row", name=re.compile(made.group.group_id))).to_contain_text(up_name)
    expect(page.get_by_role("link", name="New group")).to_have_count(0)
    page.get_by_role("link", name=made.group.group_id).click()
    expect(page.get_by_role("region", name="Registrations")).to_contain_text("V-1")
    expect(page.locator("main form")).to_have_count(0)
    for action in ("Rotate secret", "Upload serials", "Disable V-1"):
        expect(page.get_by_role("link", name=action)).to_have_count(0)
    assert page.request.get("/provisioning/new").status == 403

    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    posts = {
        "/provisioning": {"name": "Sneaky", "group_id": group_id()},
        f"/provisioning/{made.group.id}": {"name": "Renamed"},
        f"/provisioning/{made.group.id}/rotate": {},
        f"/provisioning/{made.group.id}/registrations/disable?serial=V-1": {},
    }
    for path, form in posts.items():
        answer = page.request.post(path, form={"csrf_token": csrf, **form}, max_redirects=0)
        assert answer.status == 403, path
    assert groups.find_group_now(svc, org.actor, made.group.id) == made.group
    assert group_count(svc, org) == 1
    listed = registrations.list_registrations(svc, org.actor, made.group.id, PageRequest())
    assert [r.disabled for r in listed.items] == [False]

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Environments").click()
    expect(page.get_by_text("from the command line")).to_be_visible()
    up_row = page.get_by_role("row", name=re.compile(up_name))
    expect(up_row).to_contain_text("eu-north")
    expect(up_row).to_contain_text("Up")
    expect(up_row).to_contain_text("7")
    expect(up_row).to_contain_text(f"https://{up_name}.example.com/api")
    expect(up_row).to_contain_text(f"mqtts://{up_name}.example.com:8883")
    expect(page.get_by_role("row", name=re.compile(down_name))).to_contain_text("Down")
    expect(page.locator("main form")).to_have_count(0)


def test_every_provisioning_screen_names_its_controls_and_has_one_heading(
    page: Page, live_server: LiveServer
) -> None:
    """§5: the provisioning pages, their confirmations and the pages only a form's answer
    shows (a new secret, an upload's report) pass the back office's accessibility checks."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    environment(svc, up=False)
    made = groups.create_group(svc, org.actor, group_id(), GroupInput(name="Taps"))
    registrations.register_serials(
        svc,
        org.actor,
        made.group.id,
        io.BytesIO(b"serial,colour\nT-1,blue\n"),
        format=ListFormat.CSV,
    )
    groups.rotate_group_secret(svc, org.actor, made.group.id)
    sign_in(page, org.admin.email, factories.PASSWORD)
    base = f"/provisioning/{made.group.id}"
    paths = [
        "/provisioning",
        "/provisioning/new",
        base,
        f"{base}/rotate",
        f"{base}/finish-rotation",
        f"{base}/registrations/disable?serial=T-1",
        f"{base}/registrations/import",
        "/environments",
    ]
    problems = [p for path in paths for p in _check(page, path)]
    page.goto(f"{base}/rotate")
    rotate = page.get_by_role("button", name="Rotate secret")
    problems += [f"new secret: {p}" for p in _answer_problems(page, rotate)]
    page.goto(f"{base}/registrations/import")
    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(
        {"name": "s.jsonl", "mimeType": "application/x-ndjson", "buffer": b'{"serial": "T-2"}\n'}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("1 registered")
    problems += [f"upload report: {p}" for p in page.evaluate(_PROBLEMS)]
    assert problems == []
