"""Batch enrollment over HTTP on SQLite and PostgreSQL (SPEC C7, C8, §5.1): a CSV or JSON
lines list answered with the accepted count and every rejected row, 422 import_refused
with the same rows and nothing enrolled in mode all, and refusals for what cannot be a
list."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.requests import Request

from onboard.domain.enrollment import Enrollment, EnrollmentFilter, EnrollmentState
from onboard.domain.errors import FileTooLarge
from onboard.entrypoints.api import enrollment_import
from onboard.services import enrollments
from onboard.services.ports import PageRequest, Services
from tests.conftest import LiveServer
from tests.factories import Org, make_member, token_for

PROBLEM = "application/problem+json"
HEADER = "serial,access_key,kind,gateway_id,name,location\n"


def post(api: httpx.Client, body: str, media: str = "text/csv", **params: str) -> httpx.Response:
    return api.post(
        "/api/v1/enrollments/batch",
        content=body.encode(),
        params=params,
        headers={"Content-Type": media},
    )


def enrolled(svc: Services, org: Org) -> dict[str, Enrollment]:
    page = enrollments.list_enrollments(svc, org.actor, EnrollmentFilter(), PageRequest(None, 500))
    return {e.serial: e for e in page.items}


def test_a_csv_list_is_enrolled_and_its_rows_are_pending(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    body = HEADER + "API-1,key-of-api-1,gateway,,Hall,\nAPI-2,key-of-api-2,node,API-1,,\n"

    answer = post(api, body)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"accepted": 2, "rejected": []}
    found = enrolled(svc, org)
    assert found["API-2"].gateway_id == found["API-1"].id
    assert {e.state for e in found.values()} == {EnrollmentState.PENDING}


def test_mode_all_refuses_with_every_rejected_row_and_mode_valid_enrolls_the_rest(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    lines = [
        {"serial": "NJ-1", "access_key": "key-of-nj-1", "kind": "direct"},
        {"serial": "NJ-1", "access_key": "key-of-nj-1", "kind": "direct"},
        {"serial": "NJ-2", "access_key": "short", "kind": "direct"},
        {"serial": "NJ-3", "access_key": "key-of-nj-3", "kind": "node", "gateway_id": "nope"},
        {"serial": "NJ-4", "access_key": "key-of-nj-4", "kind": "direct"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    expected = [
        (1, "duplicate_in_list"), (2, "duplicate_in_list"), (3, "malformed"),
        (4, "unknown_gateway"),
    ]  # fmt: skip

    refused = post(api, body, "application/x-ndjson")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["code"] == "import_refused"
    assert [(r["row"], r["code"]) for r in problem["rejected"]] == expected
    assert enrolled(svc, org) == {}

    applied = post(api, body, "application/x-ndjson", mode="valid")
    assert applied.status_code == 200
    assert applied.json()["accepted"] == 1
    assert [(r["row"], r["code"]) for r in applied.json()["rejected"]] == expected
    assert set(enrolled(svc, org)) == {"NJ-4"}

    again = post(api, body, "application/x-ndjson", mode="valid").json()
    assert again["accepted"] == 0
    assert (5, "already_enrolled") in [(r["row"], r["code"]) for r in again["rejected"]]


def test_what_cannot_be_a_list_is_refused_and_changes_nothing(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    bad_header = post(api, "serial,secret\nA,B\n")
    assert (bad_header.status_code, bad_header.json()["code"]) == (422, "malformed")
    wrong_type = post(api, HEADER + "X-1,key-of-x-1,direct,,,\n", "application/json")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "unsupported_media_type")
    not_utf8 = api.post(
        "/api/v1/enrollments/batch",
        content=HEADER.encode() + b"\xff\xfe,x,y\n",
        headers={"Content-Type": "text/csv"},
    )
    assert (not_utf8.status_code, not_utf8.json()["code"]) == (422, "malformed")
    assert enrolled(svc, org) == {}


def test_only_members_who_may_enroll_import(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client
) -> None:
    technician = make_member(svc, org, roles=["device_manager", "technician"])
    with live_server.client(token_for(svc, technician)) as client:
        answer = post(client, HEADER + "T-1,key-of-t-1,direct,,,\n")
    assert (answer.status_code, answer.json()["code"]) == (403, "enrollment_forbidden")
    assert enrolled(svc, org) == {}


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_limit_is_refused_as_it_comes(
    monkeypatch: pytest.MonkeyPatch, declared: bool
) -> None:
    """413 file_too_large as soon as the declared length or the bytes come over the limit
    (256 MiB; 100 bytes here), before any of it is read as a list."""
    monkeypatch.setattr(enrollment_import, "MAX_LIST_BYTES", 100)
    chunks = [b"x" * 60, b"x" * 60]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    headers = [(b"content-type", b"text/csv")]
    if declared:
        headers.append((b"content-length", b"120"))
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    # On an event loop of its own thread: the browser tests may hold one running in this.
    with ThreadPoolExecutor(max_workers=1) as thread, pytest.raises(FileTooLarge):
        thread.submit(asyncio.run, enrollment_import._spooled(request)).result()
