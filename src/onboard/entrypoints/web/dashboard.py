"""The back-office home: what the organization holds, as far as the member can see."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.dashboard import dashboard_counts

router = web_router()

# How each dashboard count is labelled, and where it leads.
_TILES = {
    "codes": ("codes", "/codes"),
    "devices": ("devices", "/devices"),
    "members": ("members", "/members"),
    "departments": ("departments", "/departments"),
    "customers": ("customers", "/customers"),
    "audit_entries": ("audit entries", "/audit"),
}


@router.get("/")
def home(request: Request, svc: Svc, actor: MemberActor) -> Response:
    counts = dashboard_counts(svc, actor)
    tiles = [(_TILES[area][0], count, _TILES[area][1]) for area, count in counts.items()]
    return render(request, "dashboard/home.html", {"area": "dashboard", "tiles": tiles})
