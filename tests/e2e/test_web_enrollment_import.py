"""Batch enrollment in the back office, in headless Chromium against the real server (SPEC
C7, C8): a list uploaded from the Enrollments page, refused whole with its rejected rows
in mode all, enrolled but for the rejected rows in mode valid, and the page offered only
to members who may enroll."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from playwright.sync_api import Page, Response, expect

from onboard.domain.enrollment import EnrollmentFilter
from onboard.entrypoints.web.enrollment_import import SHOWN
from onboard.services import enrollments
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.groups import GroupInput
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient
from tests.e2e.test_web_browser import sign_in

HEADER = "serial,access_key,kind,gateway_id,name,location\n"


def enrolled(svc: Services, org: factories.Org) -> set[str]:
    page = enrollments.list_enrollments(svc, org.actor, EnrollmentFilter(), PageRequest(None, 500))
    return {e.serial for e in page.items}


def test_a_list_is_refused_with_its_rejected_rows_then_enrolled_but_for_them(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    prefix = factories.unique("WEB").replace(" ", "-")
    rows = "".join(f"{prefix}-{n},key-of-row-{n},direct,,Meter {n},\n" for n in range(1, 4))
    listed = tmp_path / "devices.csv"
    listed.write_text(HEADER + rows + "bad serial,key-of-bad,direct,,,\n", encoding="utf-8")
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.goto("/enrollments")
    page.get_by_role("link", name="Import a list").click()
    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(listed)
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing enrolled")
    expect(page.get_by_role("alert")).to_contain_text("1 of 4 rows were rejected")
    rejected = page.get_by_role("table").get_by_role("row").nth(1)
    expect(rejected).to_contain_text("4")
    expect(rejected).to_contain_text("malformed")
    expect(rejected).to_contain_text("serial:")
    assert enrolled(svc, org) == set()

    page.get_by_role("link", name="Import another list").click()
    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(listed)
    page.get_by_role("radio", name="Enroll the valid rows").check()
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("3 enrolled")
    assert enrolled(svc, org) == {f"{prefix}-{n}" for n in range(1, 4)}
    assert "key-of-row-1" not in page.content()


def test_a_file_that_is_not_a_list_is_refused_next_to_the_field(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    org = factories.make_org(live_server.container.services)
    listed = tmp_path / "devices.csv"
    listed.write_text("name,colour\nPump,red\n", encoding="utf-8")
    sign_in(page, org.admin.email, factories.PASSWORD)

    page.goto("/enrollments/import")
    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(listed)
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("alert")).to_contain_text("unknown column(s) 'colour'")
    expect(page.get_by_label("List (.csv, .jsonl or .ndjson)")).to_have_attribute(
        "aria-invalid", "true"
    )


def test_members_who_may_not_enroll_get_no_import(page: Page, live_server: LiveServer) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    member = factories.make_member(svc, org, roles=["device_manager"])
    sign_in(page, member.email, factories.PASSWORD)

    page.goto("/enrollments")
    expect(page.get_by_role("link", name="Import a list")).to_have_count(0)
    answer = page.goto("/enrollments/import")
    assert answer is not None
    assert answer.status == 403


def test_the_page_shows_the_import_s_progress_as_the_server_streams_it(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    """C7 "progress in the back office": the page's script sends the list, reads the
    server's progress lines while the import runs, then shows the report."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    prefix = factories.unique("PRG").replace(" ", "-")
    listed = tmp_path / "devices.csv"
    listed.write_text(
        HEADER + "".join(f"{prefix}-{n},key-of-row-{n},direct,,,\n" for n in range(2_000)),
        encoding="utf-8",
    )
    streamed: list[Response] = []
    page.on(
        "response",
        lambda r: streamed.append(r) if "x-ndjson" in r.headers.get("content-type", "") else None,
    )
    statuses: list[str] = []
    sign_in(page, org.admin.email, factories.PASSWORD)
    page.goto("/enrollments/import")
    page.expose_function("noteStatus", lambda text: statuses.append(text))
    page.evaluate(
        """() => new MutationObserver(() => window.noteStatus(
               document.querySelector("[data-import-status]")?.textContent || ""))
             .observe(document.querySelector("[data-import-progress]"),
                      {subtree: true, childList: true, characterData: true})"""
    )

    page.get_by_label("List (.csv, .jsonl or .ndjson)").set_input_files(listed)
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("2000 enrolled")
    (answer,) = streamed
    lines = [json.loads(line) for line in answer.text().splitlines()]
    phases = [line["phase"] for line in lines[:-1]]
    assert {"reading", "checking", "applying"} <= set(phases), phases
    assert lines[-1]["status"] == 200
    assert "2000 enrolled" in lines[-1]["page"]
    # The page shows the server's progress lines as they come: which phases it catches
    # depends on how the stream is cut into chunks (a fast run sends a phase in one).
    shown = ("Reading and checking the rows", "Enrolling")
    assert any(s.startswith(shown) for s in statuses), statuses
    assert f"{prefix}-1999" in enrolled(svc, org)


def test_without_javascript_the_form_posts_and_the_report_follows(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    assert web.sign_in(org.admin.email, factories.PASSWORD).status_code == 303
    web.get("/enrollments/import")
    prefix = factories.unique("NOJS").replace(" ", "-")
    listed = HEADER + f"{prefix}-1,key-of-row-1,direct,,,\n{prefix}-1,key-again-1,direct,,,\n"

    refused = web.http.post(
        "/enrollments/import",
        data={"csrf_token": web.token, "mode": "all"},
        files={"file": ("devices.csv", listed.encode(), "text/csv")},
    )

    assert refused.status_code == 422
    assert "duplicate_in_list" in refused.text
    assert enrolled(svc, org) == set()


def test_a_long_report_shows_the_first_rejected_rows_and_where_to_get_them_all(
    web: WebClient, live_server: LiveServer
) -> None:
    """C8, D3: both list reports (enrollments and a group's serials) count the rejections
    by code and, past the first SHOWN rows, say which command lists every one."""
    svc = live_server.container.services
    org = factories.make_org(svc)
    made = groups.create_group(svc, org.actor, f"rep-{secrets.token_hex(6)}", GroupInput(name="G"))
    assert web.sign_in(org.admin.email, factories.PASSWORD).status_code == 303
    bad = SHOWN + 2
    uploads = {
        "/enrollments/import": (HEADER + "bad serial,k,direct,,,\n" * bad, "enrollments import"),
        f"/provisioning/{made.group.id}/registrations/import": (
            "serial\n" + "bad serial\n" * bad,
            "registrations import",
        ),
    }
    for path, (listed, command) in uploads.items():
        web.get(path)
        refused = web.http.post(
            path,
            data={"csrf_token": web.token, "mode": "all"},
            files={"file": ("list.csv", listed.encode(), "text/csv")},
        )

        assert refused.status_code == 422, path
        assert f"<code>malformed</code>: {bad}" in refused.text, path
        assert f"The first {SHOWN} of {bad} rejected rows" in refused.text, path
        assert f"<code>onboard {command}" in refused.text, path
        assert refused.text.count('<td data-label="Reason">') == SHOWN, path
