"""The Jinja2 environment, render() and redirect(), and the one mapping of domain errors to
form errors and page statuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import onboard
from onboard.domain.access import Role
from onboard.domain.errors import (
    DomainError,
)
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web import notices
from onboard.entrypoints.web.layout import shell_of

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

ROLE_LABELS: dict[str, str] = {
    Role.ADMINISTRATOR.value: "Administrator",
    Role.DEVICE_MANAGER.value: "Device Manager",
    Role.IOT_MANAGER.value: "IoT Manager",
    Role.TECHNICIAN.value: "Technician",
    Role.VIEWER.value: "Viewer",
}

# Headers of every page: no framing, no foreign scripts, nothing cached (pages may carry
# one-time passwords and personal data).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class FormErrors:
    """What a form shows after a refusal: one message on top, and one per field."""

    message: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.message is not None or bool(self.fields)


NO_ERRORS = FormErrors()


def form_errors(error: DomainError, *, fields: Mapping[str, str] | None = None) -> FormErrors:
    """The one mapping from a domain error to a form's errors. ``fields`` renames the
    use case's field names to the form's (``password`` → ``new_password``)."""
    renamed = fields or {}
    return FormErrors(
        error.detail, {renamed.get(name, name): message for name, message in error.fields.items()}
    )


def _when(moment: datetime | None, *, zone: bool = True) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else ""))


def _role_label(role: object) -> str:
    value = str(role.value if isinstance(role, Role) else role)
    return ROLE_LABELS.get(value, value)


def _sentence(text: object) -> str:
    """The text with its first letter raised and the rest left as written: a field's
    message starts a sentence without lowering "JSON" or "PIN", as ``capitalize`` would."""
    words = str(text)
    return words[:1].upper() + words[1:]


def build_environment() -> Environment:
    """The templates of the web pages, escaped by default; an undefined name is an error."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package and change only with it: compiled once, not
        # checked against the files (a stat() each, per page) on every render.
        auto_reload=False,
    )
    env.filters["when"] = _when
    env.filters["role_label"] = _role_label
    env.filters["sentence"] = _sentence
    env.globals["version"] = onboard.__version__
    env.globals["csrf_field"] = http.CSRF_FIELD
    return env


def _environment(request: Request) -> Environment:
    env: Environment = request.app.state.web_templates
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int | None = None,
    errors: FormErrors = NO_ERRORS,
    error: DomainError | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page. A domain ``error`` becomes the form's errors and sets the status,
    unless one is given. Every page gets the CSRF token, the shell and a waiting notice."""
    if error is not None:
        errors = form_errors(error)
        status = status or status_of(error)
    notice = notices.take(request)
    values: dict[str, Any] = {
        "request": request,
        "csrf_token": http.csrf_token(request),
        "shell": shell_of(request),
        "area": None,
        "notice": notice,
        "errors": errors,
    }
    values.update(context or {})
    html = _environment(request).get_template(template).render(values)
    response = HTMLResponse(
        html, status_code=status or 200, headers={**PAGE_HEADERS, **(headers or {})}
    )
    http.ensure_csrf_cookie(request, response)
    if notice is not None:
        notices.clear(response)
    return response


def redirect(
    request: Request,
    url: str,
    *,
    notice: str | None = None,
    secret: str | None = None,
    secret_for: str | None = None,
) -> RedirectResponse:
    """303 See Other after a successful POST, with a notice for the next page."""
    response = RedirectResponse(url, status_code=303)
    if notice is not None:
        notices.put(request, response, notices.Notice(notice, secret, secret_for))
    return response
