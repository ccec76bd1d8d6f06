"""Notices carried across a redirect after a POST: a message and, once, a secret to hand over."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import Request, Response

from onboard.adapters.crypto import Sealer
from onboard.entrypoints import http

NOTICE_COOKIE = "onboard_notice"
_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Notice:
    """What the next page shows once: a message, and maybe a one-time password with the
    email it belongs to."""

    message: str
    secret: str | None = None
    secret_for: str | None = None


def _sealer(request: Request) -> Sealer:
    key = http.container(request).settings.secret_key.get_secret_value()
    return Sealer(key, purpose="web.notice")


def put(request: Request, response: Response, notice: Notice) -> None:
    """Encrypted and authenticated, so a page never shows a notice onboard did not write
    and a one-time password cannot be read from the cookie; short-lived, so it does not
    linger in the browser."""
    payload = json.dumps([notice.message, notice.secret, notice.secret_for]).encode()
    value = _sealer(request).seal(payload)
    http.set_cookie(request, response, NOTICE_COOKIE, value, max_age=_MAX_AGE_SECONDS)


def take(request: Request) -> Notice | None:
    """The notice waiting for this page, if any (the caller deletes the cookie)."""
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    payload = _sealer(request).open(raw, max_age_seconds=_MAX_AGE_SECONDS)
    if payload is None:
        return None
    try:
        message, secret, secret_for = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not isinstance(message, str):
        return None
    return Notice(
        message,
        secret if isinstance(secret, str) else None,
        secret_for if isinstance(secret_for, str) else None,
    )


def clear(response: Response) -> None:
    response.delete_cookie(NOTICE_COOKIE, path="/")
