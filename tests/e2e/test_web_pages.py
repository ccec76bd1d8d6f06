"""The web pages through their forms, as a browser without JavaScript uses them, against the
real server: CSRF, members, departments, customers, audit, portal, sign-in rules."""

from __future__ import annotations

import dataclasses
import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from onboard.bootstrap import Container
from onboard.domain.access import Role
from onboard.domain.errors import NotFound
from onboard.entrypoints.app import create_app
from onboard.services import customers, departments, members
from onboard.services.auth import SignInPolicy
from onboard.services.ports import PageRequest
from tests import factories
from tests.conftest import LiveServer
from tests.e2e.conftest import WebClient

_TAGS = re.compile(r"<[^>]+>")
_OTP = re.compile(r'data-testid="one-time-password">([^<]+)<')


def visible(response: httpx.Response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.text, flags=re.S)
    return " ".join(html.unescape(_TAGS.sub(" ", body)).split())


def one_time_password(response: httpx.Response) -> str:
    found = _OTP.search(response.text)
    assert found, "the page shows a one-time password"
    return html.unescape(found.group(1))


def signed_in(web: WebClient, live_server: LiveServer) -> factories.Org:
    org = factories.make_org(live_server.container.services)
    answer = web.sign_in(org.admin.email, factories.PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    return org


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = signed_in(web, live_server)
    web.get("/departments")

    missing = web.post("/departments", {"name": "Forged A"}, csrf=False)
    forged = web.http.post("/departments", data={"name": "Forged B", "csrf_token": "x" * 43})
    sign_out = web.post("/logout", csrf=False)

    assert missing.status_code == forged.status_code == sign_out.status_code == 403
    assert missing.headers["content-type"].startswith("text/html")
    assert "did not come from onboard" in visible(missing)
    names = {d.name for d in departments.list_departments(svc, org.actor, PageRequest()).items}
    assert not names & {"Forged A", "Forged B"}
    assert web.get("/").status_code == 200, "the refused sign-out left the session alone"


def test_pages_cannot_be_framed_or_cached(web: WebClient, live_server: LiveServer) -> None:
    page = web.get("/login")

    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert 'name="viewport"' in page.text


def test_departments_are_created_renamed_and_deleted_after_confirmation(
    web: WebClient, live_server: LiveServer
) -> None:
    org = signed_in(web, live_server)
    web.get("/departments")

    created = web.follow(web.post("/departments", {"name": "Assembly"}))
    duplicate = web.post("/departments", {"name": "Assembly"})
    empty = web.post("/departments", {"name": "   "})

    assert "Department Assembly created." in visible(created)
    assert duplicate.status_code == 409
    assert "exists already" in visible(duplicate)
    assert empty.status_code == 422
    assert "must not be empty" in visible(empty)
    svc = live_server.container.services
    (department,) = departments.list_departments(svc, org.actor, PageRequest()).items
    renamed = web.follow(web.post(f"/departments/{department.id}/edit", {"name": "Final assembly"}))
    assert "Final assembly" in visible(renamed)
    confirm = web.get(f"/departments/{department.id}/delete")
    assert "Delete department Final assembly?" in visible(confirm)
    assert departments.get_department(svc, org.actor, department.id), "asking deletes nothing"
    deleted = web.follow(web.post(f"/departments/{department.id}/delete"))
    assert "Department Final assembly deleted." in visible(deleted)
    assert "No departments yet" in visible(deleted)


def test_a_department_still_given_to_a_member_is_not_deleted_and_the_page_says_why(
    web: WebClient, live_server: LiveServer
) -> None:
    org = signed_in(web, live_server)
    svc = live_server.container.services
    department = factories.make_department(svc, org)
    factories.make_member(svc, org, roles=["viewer"], departments=[department.id])
    web.get(f"/departments/{department.id}/delete")

    refused = web.post(f"/departments/{department.id}/delete")

    assert refused.status_code == 409
    assert "still used by 1 record" in visible(refused)
    assert departments.get_department(svc, org.actor, department.id)


def test_the_department_list_pages_with_a_next_link(
    web: WebClient, live_server: LiveServer
) -> None:
    org = signed_in(web, live_server)
    for number in range(52):
        factories.make_department(live_server.container.services, org, name=f"Bay {number:02}")

    first = web.get("/departments")
    link = re.search(r'href="(/departments\?after=[^"]+)" rel="next"', first.text)
    assert link, "the first page links to the next"
    second = web.get(html.unescape(link.group(1)))

    assert "Bay 00" in visible(first)
    assert "Bay 51" not in visible(first)
    assert "Bay 51" in visible(second)
    assert "Bay 00" not in visible(second)
    assert 'rel="next"' not in second.text
    assert web.get("/departments?after=not%20a%20cursor").status_code == 422


def test_members_are_added_edited_and_removed_through_the_forms(
    web: WebClient, other_web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = signed_in(web, live_server)
    north = factories.make_department(svc, org, name=factories.unique("North"))
    email = f"{factories.unique('tech').replace(' ', '-')}@example.com"
    assert "Roles" in visible(web.get("/members/new"))

    posted = web.post(
        "/members/new",
        {
            "email": email,
            "roles": ["technician"],
            "access": "some",
            "departments": [north.id],
        },
    )
    added = web.follow(posted)
    password = one_time_password(added)
    assert password not in str(posted.headers), "the cookie carrying it is encrypted"
    row = re.search(rf"<tr>\s*<td[^>]*>{re.escape(email)}.*?</tr>", added.text, flags=re.S)
    assert row
    assert "Technician" in row.group(0)
    assert north.name in row.group(0)
    assert _OTP.search(web.get("/members").text) is None, "the password is shown only once"
    assert other_web.sign_in(email, password).headers["location"] == "/"

    (member,) = [
        m for m in members.list_members(svc, org.actor, PageRequest()).items if m.email == email
    ]
    edited = web.follow(
        web.post(
            f"/members/{member.id}/edit",
            {
                "roles": ["viewer", "device_manager"],
                "access": "all",
            },
        )
    )
    assert f"{email} was updated." in visible(edited)
    assert "Device Manager, Viewer" in visible(edited)
    changed = members.get_member(svc, org.actor, member.id)
    assert changed.roles == {Role.VIEWER, Role.DEVICE_MANAGER}
    assert changed.departments is None

    assert f"Remove {email}?" in visible(web.get(f"/members/{member.id}/remove"))
    removed = web.follow(web.post(f"/members/{member.id}/remove"))
    assert f"{email} was removed." in visible(removed)
    assert f"Edit {email}" not in visible(removed)
    with pytest.raises(NotFound):
        members.get_member(svc, org.actor, member.id)


def test_refusals_of_the_member_forms_are_shown_on_the_page(
    web: WebClient, live_server: LiveServer
) -> None:
    org = signed_in(web, live_server)
    web.get("/members")

    last_admin = web.post(f"/members/{org.admin.id}/remove")
    demoted = web.post(f"/members/{org.admin.id}/edit", {"roles": ["viewer"], "access": "all"})
    no_role = web.post("/members/new", {"email": "someone@example.com", "access": "all"})
    no_department = web.post(
        "/members/new", {"email": "someone@example.com", "roles": ["viewer"], "access": "some"}
    )

    assert last_admin.status_code == demoted.status_code == 409
    assert "last Administrator" in visible(last_admin)
    assert "last Administrator" in visible(demoted)
    assert no_role.status_code == 422
    assert "at least one role" in visible(no_role)
    assert no_department.status_code == 422
    assert 'value="someone@example.com"' in no_department.text, "the form keeps what was typed"
    svc = live_server.container.services
    assert members.get_member(svc, org.actor, org.admin.id).roles == {Role.ADMINISTRATOR}


def test_customers_and_their_users_are_managed_through_the_forms(
    web: WebClient, other_web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = signed_in(web, live_server)
    web.get("/customers")
    name = factories.unique("Harbor")
    user_email = f"ops-{name.split()[-1]}@example.com"

    created = web.post("/customers", {"name": name})
    detail = web.follow(created)
    customer_path = created.headers["location"]
    assert f"Customer {name} created." in visible(detail)
    assert "No users yet" in visible(detail)
    assert web.post("/customers", {"name": name}).status_code == 409

    with_user = web.follow(web.post(f"{customer_path}/users", {"email": user_email}))
    password = one_time_password(with_user)
    assert user_email in visible(with_user)
    assert other_web.sign_in(user_email, password).headers["location"] == "/portal"

    renamed = web.follow(web.post(f"{customer_path}/rename", {"name": f"{name} Ltd"}))
    assert f"Customer renamed to {name} Ltd." in visible(renamed)

    customer_id = customer_path.rsplit("/", 1)[-1]
    (user,) = customers.list_customer_users(svc, org.actor, customer_id, PageRequest()).items
    confirm = web.get(f"{customer_path}/users/{user.id}/remove")
    assert f"Remove {user_email} from {name} Ltd?" in visible(confirm)
    without_user = web.follow(web.post(f"{customer_path}/users/{user.id}/remove"))
    assert f"{user_email} no longer has access." in visible(without_user)
    assert "No users yet" in visible(without_user)

    assert f"Delete customer {name} Ltd?" in visible(web.get(f"{customer_path}/delete"))
    deleted = web.follow(web.post(f"{customer_path}/delete"))
    assert f"Customer {name} Ltd deleted." in visible(deleted)
    with pytest.raises(NotFound):
        customers.get_customer(svc, org.actor, customer_id)


def test_the_audit_page_shows_entries_newest_first_and_filters_them(
    web: WebClient, live_server: LiveServer
) -> None:
    signed_in(web, live_server)
    web.get("/departments")
    web.post("/departments", {"name": "Audited"})
    web.post("/members/new", {"email": "audited@example.com", "roles": ["viewer"], "access": "all"})

    everything = visible(web.get("/audit"))
    departments_only = web.get("/audit?action=department")
    in_the_future = visible(web.get("/audit?since=2999-01-01T00:00"))
    not_a_time = web.get("/audit?since=yesterday-ish")

    assert everything.index("member.created") < everything.index("department.created")
    assert "audited@example.com" in everything
    assert "department.created" in visible(departments_only)
    assert "member.created" not in visible(departments_only)
    assert "No entries match these filters" in in_the_future
    assert not_a_time.status_code == 422
    assert "not a date and time" in visible(not_a_time)
    export = re.search(r'href="(/api/v1/audit\?[^"]+)"', departments_only.text)
    assert export, "the page links to the CSV export"
    query = parse_qs(urlsplit(html.unescape(export.group(1))).query)
    assert query == {"format": ["csv"], "action": ["department"]}
    csv = web.http.get(html.unescape(export.group(1)))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "department.created" in csv.text
    assert "member.created" not in csv.text


def test_a_customer_user_sees_their_customer_in_the_portal_with_no_devices_yet(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    customer = customers.create_customer(svc, org.actor, name=factories.unique("Dockside"))
    email = f"user-{customer.id.lower()}@example.com"
    customers.add_customer_user(
        svc, org.actor, customer.id, email=email, password=factories.PASSWORD
    )

    signed = web.sign_in(email, factories.PASSWORD)
    portal = web.get("/portal")

    assert signed.headers["location"] == "/portal"
    assert customer.name in visible(portal)
    assert org.organization.name in visible(portal)
    assert "No devices assigned yet." in visible(portal)
    kept_out = web.get("/members")
    assert kept_out.status_code == 303
    assert kept_out.headers["location"] == "/portal"


def test_a_member_without_the_permission_gets_a_friendly_403_page_and_unknown_things_a_404(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    org = factories.make_org(svc)
    viewer = factories.make_member(svc, org, roles=["viewer"])
    web.sign_in(viewer.email, factories.PASSWORD)
    web.get("/departments")

    refused = web.post("/departments", {"name": "Not mine to make"})
    no_form = web.get("/members/new")
    missing = web.get("/departments/01NOSUCHDEPARTMENT0000000/edit")
    no_page = web.get("/no/such/page")

    assert refused.status_code == no_form.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "Not allowed" in visible(refused)
    assert "Your roles do not allow this" in visible(refused)
    assert missing.status_code == 404
    assert "Not found" in visible(missing)
    assert no_page.status_code == 404
    assert "There is no page at this address" in visible(no_page)
    assert 'aria-label="Areas"' in refused.text, "the page keeps the back-office navigation"


def test_a_person_in_two_organizations_chooses_where_to_work(
    web: WebClient, live_server: LiveServer
) -> None:
    svc = live_server.container.services
    email = f"{factories.unique('both').replace(' ', '-')}@example.com"
    first = factories.make_org(svc, admin_email=email)
    second = factories.make_org(svc, admin_email=email)

    signed = web.sign_in(email, factories.PASSWORD)
    choice = web.get("/choose")
    chosen = web.post("/choose", {"context": second.admin.id, "next": "/members"})
    members_page = web.get("/members")

    assert signed.headers["location"].startswith("/choose")
    assert first.organization.name in visible(choice)
    assert second.organization.name in visible(choice)
    assert chosen.headers["location"] == "/members"
    assert second.organization.name in visible(members_page)
    assert first.organization.name not in visible(members_page)


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("/members", "/members"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
    ],
)
def test_signing_in_continues_only_to_pages_of_onboard(
    asked: str, expected: str, web: WebClient, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)
    web.get("/login", params={"next": asked})

    answer = web.post(
        "/login", {"email": org.admin.email, "password": factories.PASSWORD, "next": asked}
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == expected


def test_changing_ones_password_signs_out_and_the_new_password_works(
    web: WebClient, live_server: LiveServer
) -> None:
    org = factories.make_org(live_server.container.services)
    member = factories.make_member(live_server.container.services, org, roles=["viewer"])
    web.sign_in(member.email, factories.PASSWORD)
    web.get("/account")
    new = "a much longer new password"

    mismatch = web.post(
        "/account",
        {"current_password": factories.PASSWORD, "new_password": new, "confirm_password": "other"},
    )
    wrong = web.post(
        "/account",
        {"current_password": "not it at all", "new_password": new, "confirm_password": new},
    )
    short = web.post(
        "/account",
        {
            "current_password": factories.PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    changed = web.post(
        "/account",
        {"current_password": factories.PASSWORD, "new_password": new, "confirm_password": new},
    )

    assert mismatch.status_code == 422
    assert "differ" in visible(mismatch)
    assert wrong.status_code == 401
    assert "current password is wrong" in visible(wrong)
    assert short.status_code == 422
    assert "at least 10 characters" in visible(short)
    assert changed.headers["location"] == "/login"
    assert "Your password has been changed" in visible(web.get("/login"))
    assert web.get("/").headers["location"].startswith("/login")
    assert web.sign_in(member.email, factories.PASSWORD).status_code == 401
    assert web.sign_in(member.email, new).headers["location"] == "/"


def test_too_many_failed_sign_ins_are_refused_with_status_429(container: Container) -> None:
    limited = dataclasses.replace(
        container, sign_in_policy=SignInPolicy(attempts=2, window_seconds=900, session_hours=1)
    )
    org = factories.make_org(container.services)
    app = create_app(limited.settings, container=limited)

    with TestClient(app, follow_redirects=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        form = {"csrf_token": token.group(1), "email": org.admin.email}
        failures = [
            client.post("/login", data={**form, "password": "wrong guess"}) for _ in range(2)
        ]
        locked = client.post("/login", data={**form, "password": factories.PASSWORD})
        mobile = client.post("/m/login", data={**form, "password": factories.PASSWORD})

    assert [f.status_code for f in failures] == [401, 401]
    assert locked.status_code == mobile.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert "Too many failed sign-ins" in visible(locked)
    assert "onboard_session" not in locked.cookies
