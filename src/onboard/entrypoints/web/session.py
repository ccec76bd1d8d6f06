"""Who is signed in to the web: dependencies that require a member or a customer user and
send everyone else where they belong (sign-in, organization choice, portal)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from onboard.domain.access import Actor, ActorKind
from onboard.entrypoints import http
from onboard.services.ports import Services, WebSession

MOBILE_PREFIX = "/m"


class Redirect(Exception):
    """Send the browser elsewhere (303); raised by dependencies, answered by WebRoute."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def is_mobile(request: Request) -> bool:
    path = request.url.path
    return path == MOBILE_PREFIX or path.startswith(MOBILE_PREFIX + "/")


def login_url(request: Request) -> str:
    """The sign-in page, coming back here afterwards (for a page one can come back to)."""
    login = f"{MOBILE_PREFIX}/login" if is_mobile(request) else "/login"
    if request.method != "GET":
        return login
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{login}?{urlencode({'next': back}, safe='/')}"


async def _services(request: Request) -> Services:
    # async: no I/O, so it runs on the event loop rather than in a worker thread.
    return http.container(request).services


def _session(request: Request) -> tuple[WebSession, Actor | None]:
    found = http.session_of(request)
    if found is None:
        raise Redirect(login_url(request))
    return found


def _web_session(request: Request) -> WebSession:
    return _session(request)[0]


def _member(request: Request) -> Actor:
    """A member working in an organization; a person who has not chosen one yet picks it
    first, and a customer user goes to their portal."""
    _, actor = _session(request)
    if actor is None:
        back = request.url.path if request.method == "GET" else "/"
        raise Redirect(f"/choose?{urlencode({'next': back}, safe='/')}")
    if actor.kind is not ActorKind.MEMBER:
        raise Redirect("/portal")
    return actor


def _customer_user(request: Request) -> Actor:
    _, actor = _session(request)
    if actor is None:
        raise Redirect("/choose")
    if actor.kind is not ActorKind.CUSTOMER_USER:
        raise Redirect("/")
    return actor


Svc = Annotated[Services, Depends(_services)]
SignedIn = Annotated[WebSession, Depends(_web_session)]
MemberActor = Annotated[Actor, Depends(_member)]
CustomerUserActor = Annotated[Actor, Depends(_customer_user)]
