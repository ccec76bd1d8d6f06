"""Back-office page of environments (SPEC P2, D4): the platform's deployment targets with
their region, status, weight and URLs, read-only for members (the operator manages them
from the CLI)."""

from __future__ import annotations

from fastapi import Request, Response

from onboard.entrypoints.web.rendering import render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services.provisioning.environments import list_environments

router = web_router()


@router.get("/environments")
def list_(request: Request, svc: Svc, actor: MemberActor) -> Response:
    """P2: every environment, by name; groups choose among them (D4)."""
    return render(
        request,
        "environments/list.html",
        {"area": "environments", "environments": list_environments(svc, actor)},
    )
