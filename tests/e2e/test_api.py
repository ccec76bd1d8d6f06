"""The members' API through a real server over HTTP, on SQLite and PostgreSQL: problem
details, authentication, cursor pagination, the audit log and its export (SPEC P7, P8,
P10, §5.1). The server is shared, so each test works in an organization of its own."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from onboard.services.ports import Services
from tests.answers import PROBLEM, problem_of
from tests.conftest import LiveServer
from tests.factories import Org, make_department, make_member, unique

AUDIT_COLUMNS = [
    "id", "at", "actor_kind", "actor_id", "actor_label", "action", "target_type", "target_id",
    "before", "after", "source_ip",
]  # fmt: skip


def _fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem["errors"]}


def _walk(api: httpx.Client, url: str, limit: int) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = api.get(url, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        yield page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


# --- problem details ---------------------------------------------------------------------


def test_malformed_json_is_refused_with_a_problem_naming_the_body(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/departments",
        content=b'{"name": "Workshop"',
        headers={"Content-Type": "application/json"},
    )

    problem = problem_of(answer, 422, "invalid")
    assert _fields(problem) == {"body"}


def test_a_body_that_is_not_utf8_is_refused_as_invalid_input(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/departments",
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )

    problem = problem_of(answer, 422, "invalid")
    assert _fields(problem) == {"body"}


def test_a_field_of_the_wrong_type_is_refused_with_a_problem_naming_it(
    api: httpx.Client,
) -> None:
    answer = api.post("/api/v1/members", json={"email": "x@example.com", "roles": "viewer"})

    problem = problem_of(answer, 422, "invalid")
    assert _fields(problem) == {"roles"}
    assert all(error["message"] for error in problem["errors"])


def test_an_unknown_field_is_refused_and_nothing_is_created(api: httpx.Client) -> None:
    answer = api.post("/api/v1/departments", json={"name": "Workshop", "colour": "red"})

    problem = problem_of(answer, 422, "invalid")
    assert _fields(problem) == {"colour"}
    assert api.get("/api/v1/departments").json()["items"] == []


def test_a_string_with_a_nul_character_is_refused_as_invalid_input(api: httpx.Client) -> None:
    answer = api.post("/api/v1/departments", json={"name": "Work\x00shop"})
    lookup = api.get("/api/v1/departments/abc%00def")
    search = api.get("/api/v1/audit", params={"action": "member\x00"})

    assert _fields(problem_of(answer, 422, "invalid")) == {"name"}
    assert _fields(problem_of(lookup, 422, "invalid")) == {"department_id"}
    assert _fields(problem_of(search, 422, "invalid")) == {"action"}


@pytest.mark.parametrize("cursor", ["not a cursor!", "Zm9vLWJhcg", "%%%", "x" * 201])
def test_a_cursor_the_api_never_gave_out_is_refused(api: httpx.Client, cursor: str) -> None:
    answer = api.get("/api/v1/members", params={"cursor": cursor})

    problem = problem_of(answer, 422, "invalid")
    assert _fields(problem) == {"cursor"}


def test_a_change_refused_for_one_field_changes_no_other(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    member = make_member(svc, org, roles=["viewer"])

    answer = api.patch(
        f"/api/v1/members/{member.id}",
        json={"roles": ["technician"], "departments": ["NO-SUCH-DEPARTMENT"]},
    )

    assert _fields(problem_of(answer, 422, "invalid")) == {"departments"}
    assert api.get(f"/api/v1/members/{member.id}").json()["roles"] == ["viewer"]


def test_an_unknown_id_is_answered_with_not_found(api: httpx.Client) -> None:
    answer = api.get("/api/v1/customers/01ABCDEFGHJKMNPQRSTVWXYZ00")

    problem_of(answer, 404, "not_found")


def test_a_method_a_path_does_not_have_is_answered_with_all_it_has(api: httpx.Client) -> None:
    answer = api.put("/api/v1/departments", json={"name": "x"})

    problem_of(answer, 405, "method_not_allowed")
    assert answer.headers["allow"] == "GET, POST"


# --- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer onb_not-a-token", "Bearer", "Basic dXNlcjpwYXNz", "onb_no-scheme"],
)
def test_a_request_without_a_valid_token_is_refused_with_401(
    live_server: LiveServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with live_server.client() as client:
        answer = client.get("/api/v1/members", headers=headers)

    problem_of(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_stops_working_at_once(live_server: LiveServer, api: httpx.Client) -> None:
    created = api.post("/api/v1/tokens", json={"name": "script"})
    assert created.status_code == 201, created.text
    token = created.json()
    with live_server.client(token["token"]) as script:
        assert script.get("/api/v1/me").status_code == 200

        assert api.delete(f"/api/v1/tokens/{token['id']}").status_code == 204

        problem_of(script.get("/api/v1/me"), 401, "unauthenticated")


# --- pagination --------------------------------------------------------------------------


def test_cursor_pagination_walks_every_member_once_even_when_one_joins_meanwhile(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    existing = {org.admin.id} | {make_member(svc, org, roles=["viewer"]).id for _ in range(6)}
    pages = _walk(api, "/api/v1/members", limit=2)
    seen = [m["id"] for m in next(pages)]
    newcomer = make_member(svc, org, roles=["technician"]).id

    seen += [m["id"] for page in pages for m in page]

    assert len(seen) == len(set(seen)), "a member appeared twice"
    assert set(seen) == existing | {newcomer}


def test_cursor_pagination_walks_every_department_once(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    created = {make_department(svc, org).id for _ in range(7)}

    pages = list(_walk(api, "/api/v1/departments", limit=3))

    seen = [d["id"] for page in pages for d in page]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert len(seen) == len(set(seen))
    assert set(seen) == created


def test_a_list_ends_with_no_cursor_when_the_last_page_is_full(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    for _ in range(4):
        make_department(svc, org)

    pages = list(_walk(api, "/api/v1/departments", limit=2))

    assert [len(page) for page in pages] == [2, 2], "no empty page at the end"


# --- the audit log -----------------------------------------------------------------------


def test_the_audit_log_records_who_what_target_before_after_and_source_ip_of_a_change(
    api: httpx.Client, org: Org
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    department = api.post("/api/v1/departments", json={"name": "Workshop"}).json()
    token_id = api.get("/api/v1/tokens").json()["items"][0]["id"]

    renamed = api.patch(f"/api/v1/departments/{department['id']}", json={"name": "Lab"})
    assert renamed.status_code == 200, renamed.text

    entries = api.get("/api/v1/audit", params={"target": department["id"]}).json()["items"]
    assert [e["action"] for e in entries] == ["department.renamed", "department.created"]
    entry = entries[0]
    assert entry["actor"]["kind"] == "token"
    assert entry["actor"]["id"] == token_id
    assert org.admin.email in entry["actor"]["label"]
    assert entry["target"] == {"type": "department", "id": department["id"]}
    assert (entry["before"], entry["after"]) == ({"name": "Workshop"}, {"name": "Lab"})
    assert entry["source_ip"] == "127.0.0.1"
    assert started <= datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)


def test_the_audit_log_records_each_change_of_a_member_with_its_states(
    api: httpx.Client,
) -> None:
    email = f"{unique('tech').replace(' ', '-')}@example.com"
    added = api.post("/api/v1/members", json={"email": email, "roles": ["technician"]}).json()
    api.patch(f"/api/v1/members/{added['id']}", json={"roles": ["viewer"]})
    api.delete(f"/api/v1/members/{added['id']}")

    entries = api.get("/api/v1/audit", params={"target": added["id"]}).json()["items"]

    assert [e["action"] for e in entries] == ["member.removed", "member.updated", "member.created"]
    removed, updated, created = entries
    assert created["before"] is None
    assert created["after"] == {"email": email, "roles": ["technician"], "departments": None}
    assert (updated["before"]["roles"], updated["after"]["roles"]) == (["technician"], ["viewer"])
    assert removed["before"]["roles"] == ["viewer"]
    assert removed["after"] is None
    assert {e["source_ip"] for e in entries} == {"127.0.0.1"}


def test_the_audit_log_filters_by_action_and_time(api: httpx.Client) -> None:
    api.post("/api/v1/departments", json={"name": "Workshop"})
    api.post("/api/v1/customers", json={"name": "ACME"})
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()

    departments = api.get("/api/v1/audit", params={"action": "department"}).json()["items"]
    future = api.get("/api/v1/audit", params={"since": later}).json()["items"]

    assert [e["action"] for e in departments] == ["department.created"]
    assert future == []


def test_the_audit_csv_export_has_a_header_and_every_entry(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    for _ in range(3):
        make_department(svc, org)
    api.post("/api/v1/customers", json={"name": 'ACME, "the" company'})

    export = api.get("/api/v1/audit", params={"format": "csv"})
    listed = [e for page in _walk(api, "/api/v1/audit", limit=200) for e in page]

    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == AUDIT_COLUMNS
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["id"] for r in records] == [e["id"] for e in listed]
    customer = next(r for r in records if r["action"] == "customer.created")
    assert json.loads(customer["after"])["name"] == 'ACME, "the" company'
    assert customer["source_ip"] == "127.0.0.1"


# --- the OpenAPI document ----------------------------------------------------------------


def test_the_openapi_document_is_served_and_describes_the_api(live_server: LiveServer) -> None:
    with live_server.client() as client:
        answer = client.get("/api/v1/openapi.json")

    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/members", "/api/v1/audit"} <= set(document["paths"])
    problem = document["paths"]["/api/v1/members"]["post"]["responses"]["422"]
    assert PROBLEM in problem["content"]
