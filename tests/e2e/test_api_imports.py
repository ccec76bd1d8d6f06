"""Devices imported from a CSV file over HTTP, on SQLite and PostgreSQL (SPEC A3, A4):
every row checked and reported, all or nothing unless `valid_only`, bad files refused
with a problem and nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from onboard.services.ports import Services
from tests.factories import Org, make_department, make_org, unique

PROBLEM = "application/problem+json"


def _import(api: httpx.Client, text: str, **params: Any) -> httpx.Response:
    return api.post(
        "/api/v1/devices/import",
        content=text.encode(),
        params=params,
        headers={"Content-Type": "text/csv"},
    )


def _names(api: httpx.Client) -> set[str]:
    return {d["name"] for d in api.get("/api/v1/devices", params={"limit": 200}).json()["items"]}


def _template(api: httpx.Client) -> None:
    fields = [{"name": "pressure", "type": "number", "required": True}]
    assert api.post("/api/v1/templates", json={"name": "Pump", "fields": fields}).status_code == 201


def test_a_good_file_imports_every_row_with_templates_and_departments_by_name(
    api: httpx.Client, svc: Services, org: Org
) -> None:
    _template(api)
    south = make_department(svc, org, name=unique("South"))
    text = (
        "name,serial,template,departments,location,attr:pressure\n"
        f"Pump 1,S-1,pump,{south.name},Hall 1,4.5\n"
        "\n"
        "Pump 2,S-2,Pump,,,7\n"
    )

    answer = _import(api, text)

    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "imported": 2,
        "rows": [{"row": 2, "ok": True, "code": None, "detail": None},
                 {"row": 4, "ok": True, "code": None, "detail": None}],
    }  # fmt: skip
    found = {d["name"]: d for d in api.get("/api/v1/devices").json()["items"]}
    assert found["Pump 1"]["departments"] == [south.id]
    assert found["Pump 1"]["attributes"] == {"pressure": 4.5}
    assert found["Pump 2"]["attributes"] == {"pressure": 7}


def test_one_bad_row_refuses_the_whole_file_and_names_every_bad_row(api: httpx.Client) -> None:
    _template(api)
    text = "name,template,attr:pressure\nGood,Pump,1\nBad,Pump,high\nWorse,Chiller,\n"

    answer = _import(api, text)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["code"] == "import_refused"
    assert {e["field"]: e["message"].split(":")[0] for e in body["errors"]} == {
        "rows.3": "invalid_attributes",
        "rows.4": "invalid",
    }
    assert _names(api) == set()


def test_valid_only_imports_the_good_rows_and_reports_the_bad_ones(api: httpx.Client) -> None:
    text = "name,customer\nKept,\nSkipped,Nobody Inc\n"

    answer = _import(api, text, valid_only="true")

    assert answer.status_code == 201, answer.text
    rows = answer.json()["rows"]
    assert answer.json()["imported"] == 1
    assert rows[1] == {"row": 3, "ok": False, "code": "invalid",
                       "detail": "No customer 'Nobody Inc' here."}  # fmt: skip
    assert _names(api) == {"Kept"}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("serial\nS-1\n", "no name column"),
        ("name,colour\nA,red\n", "unknown column"),
        ("name,name\nA,B\n", "repeated column"),
        ("name\n\n\n", "no rows"),
    ],
)
def test_a_file_without_a_usable_header_or_rows_is_refused(
    api: httpx.Client, text: str, why: str
) -> None:
    answer = _import(api, text)

    assert answer.status_code == 422, why
    assert answer.json()["code"] == "invalid"
    assert _names(api) == set()


def test_a_file_that_is_not_utf8_is_refused(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/devices/import",
        content="name\nPumpe Größe\n".encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    )

    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "file", "message": "not UTF-8"}]


def test_another_organizations_departments_are_unknown_to_the_import(
    api: httpx.Client, svc: Services
) -> None:
    other = make_org(svc)
    theirs = make_department(svc, other, name=unique("Theirs"))

    answer = _import(api, f"name,departments\nPump,{theirs.id}\n")

    assert answer.status_code == 422
    assert _names(api) == set()
