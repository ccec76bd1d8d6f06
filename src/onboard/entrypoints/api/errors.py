"""The one mapping from errors to RFC 9457 problem+json responses (SPEC P10)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from onboard.domain.errors import (
    DomainError,
    RateLimited,
    Unauthenticated,
)
from onboard.entrypoints.http import status_of

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:onboard:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def domain_problem(error: DomainError) -> JSONResponse:
    headers = None
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    if isinstance(error, Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    errors = [{"field": f, "message": m} for f, m in error.fields.items()]
    return problem(
        status_of(error), error.code, error.title, error.detail, errors=errors, headers=headers
    )


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def invalid_problem(found: Sequence[Any]) -> JSONResponse:
    """422 `invalid`, one entry a field, from pydantic's errors (of a request's parameters
    and body, or of a body validated on its own)."""
    errors = [
        {"field": "body", "message": "malformed JSON: " + str(e.get("ctx", {}).get("error"))}
        if e.get("type") == "json_invalid"
        else {"field": _field_name(tuple(e.get("loc", ()))), "message": str(e.get("msg"))}
        for e in found
    ]
    return problem(422, "invalid", "Invalid input", "The request is not valid.", errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method of the routes at this path: Starlette names only the first route's, and
    each method of a path is a route of its own here (RFC 9110 wants them all in Allow)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and route.methods:
            methods |= route.methods
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers; every error the API answers goes through here."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_problem(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # A body that cannot be read at all (not UTF-8, broken multipart) is invalid
            # input like any other, which the API answers with a documented 422 (P10).
            return problem(
                422,
                "invalid",
                "Invalid input",
                "The request body cannot be read.",
                errors=[{"field": "body", "message": str(exc.detail)}],
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return problem(
            exc.status_code,
            code,
            code.replace("_", " ").capitalize(),
            str(exc.detail),
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return internal_problem()


def internal_problem() -> JSONResponse:
    """What an unexpected error is answered with (it is logged)."""
    return problem(
        500,
        "internal_error",
        "Internal error",
        "Something went wrong on our side; it has been logged.",
    )
