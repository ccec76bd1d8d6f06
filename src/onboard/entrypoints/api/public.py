"""/api/v1/public/codes: what a code user reaches with no account — the code page's states,
the PIN, notifications (SPEC A10-A13). Nothing here names the code's organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from onboard.domain.codes import normalize_token
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import PathId, Svc
from onboard.entrypoints.api.files import DOCUMENT_FILE, PHOTO_FILE, file_response, photo_name
from onboard.entrypoints.api.schemas import NO_NUL, PIN_PATTERN
from onboard.entrypoints.http import client_ip, pin_cookie_name, set_cookie
from onboard.services import public

router = APIRouter(prefix="/public/codes", tags=["public"])

Token = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="The token from the sticker, in any letter case (A2).",
    ),
]
CodePin = Annotated[
    str | None,
    Header(
        alias="X-Code-Pin",
        pattern=PIN_PATTERN,
        description="The code's PIN, for a client that keeps no cookie (A11).",
    ),
]


def _pin_pass(request: Request, token: str) -> str | None:
    """This browser's PIN pass for the code, from its cookie (one cookie per code)."""
    canonical = normalize_token(token)
    return request.cookies.get(pin_cookie_name(canonical)) if canonical else None


@router.get("/{token}", response_model=s.CodeStatePublic)
async def view(token: Token, request: Request, svc: Svc, pin: CodePin = None) -> s.CodeStatePublic:
    """The code page's state (A12): ``not_found``, ``deactivated``, ``unpaired``,
    ``pin_required`` or ``paired`` with the device's public view. An unknown token is a
    state, not an error."""
    # The most requested route (§7: 2,000 a second): only the use case, which blocks on the
    # database, goes to a worker thread; as a plain ``def`` FastAPI would also hand the
    # response's validation to one, a second thread hop per request.
    shown = await run_in_threadpool(
        public.view_code,
        svc,
        token,
        pin_pass=_pin_pass(request, token),
        pin=pin,
        client=client_ip(request),
    )
    return present.code_state(shown)


@router.post("/{token}/pin", status_code=204, responses={204: {"description": "PIN accepted"}})
def enter_pin(token: Token, body: s.PinEntry, request: Request, svc: Svc) -> Response:
    """A11: a right PIN sets this browser's pass for the code (a session cookie); a wrong
    one is 403 ``wrong_pin``; five wrong from one client lock it out for 15 minutes (429
    ``pin_locked``, with Retry-After)."""
    issued = public.enter_pin(svc, token, body.pin, client=client_ip(request))
    response = Response(status_code=204)
    canonical = normalize_token(token) or token
    set_cookie(request, response, pin_cookie_name(canonical), issued, max_age=None)
    return response


@router.post("/{token}/notifications", status_code=201, response_model=s.NotificationSent)
def notify(
    token: Token, body: s.NotificationCreate, request: Request, svc: Svc, pin: CodePin = None
) -> s.NotificationSent:
    """A13: a message to the device's owners from a paired, active code (after its PIN,
    if it has one). Rate-limited per client."""
    sent = public.send_notification(
        svc,
        token,
        message=body.message,
        contact=body.contact,
        pin_pass=_pin_pass(request, token),
        pin=pin,
        client=client_ip(request),
    )
    return s.NotificationSent(
        message=sent.message, contact=sent.contact, created_at=sent.created_at
    )


@router.get("/{token}/photo", response_class=Response, responses=PHOTO_FILE)
def photo(token: Token, request: Request, svc: Svc, pin: CodePin = None) -> Response:
    """A12: the installation photo of the device behind the code, under the code page's
    checks (404 unless the code is paired and active; 403 ``pin_required`` before the
    PIN)."""
    stored = public.public_photo(
        svc, token, pin_pass=_pin_pass(request, token), pin=pin, client=client_ip(request)
    )
    return file_response(stored, filename=photo_name(stored.content_type))


@router.get("/{token}/documents/{document_id}", response_class=Response, responses=DOCUMENT_FILE)
def document(
    token: Token, document_id: PathId, request: Request, svc: Svc, pin: CodePin = None
) -> Response:
    """A12: a public document's file, under the code page's checks; internal documents
    are not found."""
    shown, stored = public.public_document(
        svc,
        token,
        document_id,
        pin_pass=_pin_pass(request, token),
        pin=pin,
        client=client_ip(request),
    )
    return file_response(stored, filename=shown.file_name)
