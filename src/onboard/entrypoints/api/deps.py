"""FastAPI dependencies of the API: the acting member, the services, paging."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from onboard.domain.access import Actor
from onboard.domain.errors import Invalid, Unauthenticated
from onboard.entrypoints.api.schemas import NO_NUL
from onboard.entrypoints.http import (
    CSRF_HEADER,
    SAFE_METHODS,
    check_csrf,
    client_ip,
    container,
    session_of,
)
from onboard.services import auth
from onboard.services.ports import Page, PageRequest, Services


async def _services(request: Request) -> Services:
    # async: no I/O, so FastAPI runs it on the event loop instead of handing it to a
    # worker thread (one thread hop less on every request).
    return container(request).services


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="A personal API token (`onboard tokens create` or POST /api/v1/tokens). "
    "The web session cookie works too; changes made with it need the X-CSRF-Token header.",
)


def _actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """A bearer API token, or the web session (with its CSRF header for changes)."""
    if bearer is not None and bearer.credentials.strip():
        return auth.authenticate_token(
            container(request).services, bearer.credentials.strip(), source_ip=client_ip(request)
        )
    found = session_of(request)
    if found is None or found[1] is None:
        raise Unauthenticated("Send a bearer API token or sign in.")
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return found[1]


def encode_cursor(after: str | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def _page(
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageRequest:
    if cursor is None:
        return PageRequest(None, limit)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise Invalid(
            "The cursor is not one this API gave out.", fields={"cursor": "invalid cursor"}
        ) from None
    if not after.isalnum() or len(after) > 64:
        raise Invalid(
            "The cursor is not one this API gave out.", fields={"cursor": "invalid cursor"}
        )
    return PageRequest(after, limit)


Svc = Annotated[Services, Depends(_services)]
CurrentActor = Annotated[Actor, Depends(_actor)]
Paging = Annotated[PageRequest, Depends(_page)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]


def next_cursor(page: Page[object]) -> str | None:
    return encode_cursor(page.next_after)
