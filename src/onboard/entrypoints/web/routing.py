"""The route class of the web pages: a domain error becomes a friendly page, a sign-in
redirect a 303, and nothing a user sends becomes a bare 500."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from onboard.domain.errors import DomainError, RateLimited, Unauthenticated
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.session import Redirect, login_url

log = logging.getLogger(__name__)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_TITLES = {
    400: "That request was not understood",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "That clashes with something",
    422: "That input was not accepted",
    429: "Too many attempts",
    500: "Something went wrong",
}


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "errors/page.html",
        {"status": status, "title": _TITLES.get(status, "Request refused"), "message": message},
        status=status,
        headers=headers,
    )


def domain_error_page(request: Request, error: DomainError) -> Response:
    """A refusal no form handled: permission (403), not found (404), and the rest."""
    if isinstance(error, Unauthenticated):
        return RedirectResponse(login_url(request), status_code=303)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return error_page(request, status_of(error), error.detail, headers)


def http_error_page(request: Request, exc: StarletteHTTPException) -> Response:
    message = {
        400: "The form could not be read. Go back and try again.",
        404: "There is no page at this address.",
        405: "This page cannot be used that way.",
    }.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers) if exc.headers else None
    return error_page(request, exc.status_code, message, headers)


class WebRoute(APIRoute):
    """Answers what a page handler raised with a page, never with problem+json."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Redirect as redirect:
                return RedirectResponse(redirect.url, status_code=303)
            except DomainError as error:
                return await run_in_threadpool(domain_error_page, request, error)
            except RequestValidationError:
                return await run_in_threadpool(
                    error_page,
                    request,
                    400,
                    "Some of what was sent is missing or too long. Go back and try again.",
                )
            except StarletteHTTPException as exc:
                return await run_in_threadpool(http_error_page, request, exc)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return await run_in_threadpool(
                    error_page,
                    request,
                    500,
                    "Something went wrong on our side; it has been logged. Try again.",
                )

        return handle


def web_router() -> APIRouter:
    return APIRouter(route_class=WebRoute, include_in_schema=False)


_NOT_WEB = ("/api/", "/device/", "/healthz")


def install_error_pages(app: FastAPI) -> None:
    """A browser asking for a page that does not exist gets a page saying so; API clients
    keep their problem+json from the handler already installed."""
    previous = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if previous is not None and (not wants_html or request.url.path.startswith(_NOT_WEB)):
            answer = previous(request, exc)
            if inspect.isawaitable(answer):
                answer = await answer
            assert isinstance(answer, Response)
            return answer
        return await run_in_threadpool(http_error_page, request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
