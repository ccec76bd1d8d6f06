"""Destructive actions confirm first: a GET shows what will go, its POST does it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request, Response

from onboard.domain.errors import Conflict
from onboard.entrypoints import http
from onboard.entrypoints.web.rendering import redirect, render


def confirmed(
    request: Request,
    csrf: str,
    *,
    template: str,
    context: Mapping[str, Any],
    action: Callable[[], object],
    back: str,
    notice: str,
) -> Response:
    """The POST of a confirmation page: check the CSRF token, act, and go back with a
    notice. A refusal by the rules (still in use, the last Administrator) shows the
    confirmation page again with the reason."""
    http.check_csrf(request, csrf)
    try:
        action()
    except Conflict as error:
        return render(request, template, context, error=error)
    return redirect(request, back, notice=notice)
