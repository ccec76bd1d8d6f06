"""The mobile app under /m: sign-in and the home of field staff, made for a phone held in
one hand (SPEC §5). Scanning, the devices and the code pages are in mobile_scan,
mobile_devices and mobile_codes; their routes join this router."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from onboard.entrypoints import http
from onboard.entrypoints.web import auth, mobile_codes, mobile_devices, mobile_enroll, mobile_scan
from onboard.entrypoints.web.forms import CsrfField, NextField, NextQuery, Text
from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor

router = web_router()


@dataclass(frozen=True)
class Tile:
    label: str
    hint: str
    icon: str
    path: str | None
    """None while the area is not built yet: shown as coming soon, not as a dead link."""


TILES = (
    Tile("Scan", "Scan a code sticker", "scan", "/m/scan"),
    Tile("Devices", "Find and look after devices", "devices", "/m/devices"),
    Tile("Enroll", "Enroll a connected device", "enroll", "/m/enroll"),
)


@router.get("/m/login")
def login_form(request: Request, next_url: NextQuery = None) -> Response:
    return auth.show_login(request, next_url, mobile=True)


@router.post("/m/login")
def login(
    request: Request,
    csrf: CsrfField = "",
    email: Text = "",
    password: Text = "",
    next_url: NextField = "",
) -> Response:
    http.check_csrf(request, csrf)
    return auth.sign_in(request, email=email, password=password, next_url=next_url, mobile=True)


@router.get("/m")
def home(request: Request, actor: MemberActor) -> Response:
    return render(request, "mobile/home.html", {"tiles": TILES, "email": actor.label})


for _area in (mobile_scan, mobile_codes, mobile_devices, mobile_enroll):
    router.include_router(_area.router)
