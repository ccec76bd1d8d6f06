"""What the web pages and the API share about requests: the container, cookies, CSRF, the
client's address, and resolving the session behind a cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from onboard.bootstrap import Container
from onboard.domain.access import Actor
from onboard.domain.errors import (
    Conflict,
    DomainError,
    FileTooLarge,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
    UnsupportedFileType,
)
from onboard.services import auth
from onboard.services.ports import WebSession

SESSION_COOKIE = "onboard_session"
CSRF_COOKIE = "onboard_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PIN_COOKIE_PREFIX = "onboard_pin_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The one mapping of domain errors to HTTP statuses, for the API and the pages alike;
# checked in order, so subclasses come before their parents.
STATUS_BY_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (Invalid, 422),
    (NotFound, 404),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (RateLimited, 429),
    (Gone, 410),
    (FileTooLarge, 413),
    (UnsupportedFileType, 415),
)


def status_of(error: DomainError) -> int:
    for kind, status in STATUS_BY_KIND:
        if isinstance(error, kind):
            return status
    return 400


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _sign(request: Request, value: str) -> str:
    key = container(request).settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token to put in this browser's forms (signed double-submit: a random cookie,
    and a form field that is its HMAC under the secret key). A browser without the cookie
    gets a new one, set on the response by ensure_csrf_cookie()."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        cookie = getattr(request.state, "new_csrf", None)
        if cookie is None:
            cookie = secrets.token_urlsafe(32)
            request.state.new_csrf = cookie
    return _sign(request, cookie)


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        set_cookie(request, response, CSRF_COOKIE, token, max_age=None)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a state-changing request whose token does not match the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(_sign(request, cookie), submitted):
        raise Forbidden("The form has expired or did not come from onboard; reload and retry.")


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=container(request).settings.secure_cookies,
        path="/",
    )


def session_of(request: Request) -> tuple[WebSession, Actor | None] | None:
    """The signed-in session behind the cookie, if any, cached on the request."""
    if hasattr(request.state, "session"):
        cached: tuple[WebSession, Actor | None] | None = request.state.session
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    found: tuple[WebSession, Actor | None] | None = None
    if token:
        try:
            found = auth.authenticate_session(
                container(request).services, token, source_ip=client_ip(request)
            )
        except Unauthenticated:
            found = None
    request.state.session = found
    return found


def pin_cookie_name(token: str) -> str:
    """The cookie holding this browser's PIN pass for one code (A11): one per code, for the
    browser session."""
    return PIN_COOKIE_PREFIX + token
