"""Reading the members' API answers in tests: a success's JSON body, or a problem's details
after checking it is one (RFC 9457, SPEC P10)."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def json_of(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def problem_of(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert body["type"].endswith(code)
    assert body["title"]
    assert body["detail"]
    return body
