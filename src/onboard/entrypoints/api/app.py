"""The /api/v1 router: every members' API route, with its documented problem responses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from onboard.entrypoints.api import (
    audit,
    batches,
    codes,
    customers,
    departments,
    devices,
    dynamic_rules,
    enrollment_import,
    enrollments,
    imports,
    licensing,
    me,
    members,
    onboarding,
    provisioning,
    public,
    registrations,
    templates,
    tokens,
)
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.schemas import Problem

_problem = {"content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, **_problem}
    for status, description in [
        (401, "No valid credentials"),
        (403, "Not allowed"),
        (404, "Not found, or not visible to you"),
        (409, "Conflicts with the current state"),
        (422, "Invalid input"),
        (429, "Too many requests"),
    ]
}


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
    # FastAPI tries routes in order, a few microseconds each: the public code routes, by
    # far the most requested (A12, §7), come first.
    for module in (
        public, me, departments, members, tokens, customers, audit, templates, imports, devices,
        codes, batches, dynamic_rules, enrollment_import, provisioning, registrations,
        onboarding,
    ):  # fmt: skip
        router.include_router(module.router)
    for part in (*licensing.routers, *enrollments.routers):
        router.include_router(part)
    return router
