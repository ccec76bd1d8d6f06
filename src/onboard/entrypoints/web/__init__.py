"""Server-rendered pages: back office, mobile app under /m, customer pages, public code
pages under /c."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from onboard.entrypoints.web import (
    audit,
    auth,
    codepage,
    customers,
    dashboard,
    departments,
    members,
    mobile,
    portal,
)
from onboard.entrypoints.web.rendering import STATIC, build_environment
from onboard.entrypoints.web.routing import install_error_pages


def mount_web(app: FastAPI) -> None:
    """Attach the web pages and static files to the application."""
    app.state.web_templates = build_environment()
    for module in (
        auth,
        dashboard,
        departments,
        members,
        customers,
        audit,
        mobile,
        portal,
        codepage,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)
