"""What the web pages and the API share about requests: the container, cookies, CSRF, the
client's address, and resolving the session behind a cookie."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from onboard.bootstrap import Container
from onboard.domain.access import Actor
from onboard.domain.errors import Forbidden, Unauthenticated
from onboard.services import auth
from onboard.services.ports import WebSession

SESSION_COOKIE = "onboard_session"
CSRF_COOKIE = "onboard_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (double-submit: cookie and form field must match);
    a new one is made when the browser has none, and set by ensure_csrf_cookie()."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    token: str | None = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token:
        set_cookie(request, response, CSRF_COOKIE, token, max_age=None)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a state-changing request whose token does not match the browser's cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
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
