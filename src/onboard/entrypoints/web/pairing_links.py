"""The page a pairing link opens in a browser (SPEC B3, B4): what the link is for and how a
device pairs with it. The link is meant for a device's client application; the page looks
nothing up, so it says nothing about the code, its product or its organization."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.domain.licensing import pairing_url, read_pairing_code
from onboard.entrypoints import http
from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.services.common import not_found

router = web_router()


@router.get("/p/{code}")
@router.get("/P/{code}")
def open_link(request: Request, code: str) -> Response:
    """A pairing link opened on a phone or a computer rather than by a client application;
    the QR holds it in capitals (/P/...), both work."""
    text = read_pairing_code(code)
    if text is None:
        raise not_found("pairing code", code)
    return render(
        request,
        "pairing_links/open.html",
        {"link": pairing_url(http.container(request).services.public_url, text)},
        headers={"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"},
    )
