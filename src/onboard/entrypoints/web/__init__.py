"""Server-rendered pages: back office, mobile app under /m, customer pages, public code
pages under /c."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from onboard.entrypoints.web import (
    audit,
    auth,
    batches,
    codepage,
    codes,
    configurations,
    customers,
    dashboard,
    departments,
    device_replacement,
    device_templates,
    devices,
    digital_link,
    enrollment_import,
    enrollments,
    environments,
    licensed_devices,
    members,
    mobile,
    onboarding,
    pairing_links,
    portal,
    products,
    provisioning_groups,
    registrations_pages,
)
from onboard.entrypoints.web.rendering import STATIC, build_environment
from onboard.entrypoints.web.routing import install_error_pages


def mount_code_pages(app: FastAPI) -> None:
    """Attach the public code pages, ahead of every other route: FastAPI tries routes in
    order, a few microseconds each, and /c/{TOKEN} is by far the most requested (A12, §7)."""
    app.include_router(codepage.router)


def mount_web(app: FastAPI) -> None:
    """Attach the web pages (all but the code pages) and static files to the application."""
    app.state.web_templates = build_environment()
    for module in (
        auth,
        dashboard,
        codes,
        batches,
        device_replacement,
        devices,
        device_templates,
        departments,
        members,
        customers,
        products,
        configurations,
        licensed_devices,
        enrollment_import,
        enrollments,
        provisioning_groups,
        registrations_pages,
        environments,
        audit,
        mobile,
        portal,
        pairing_links,
        digital_link,
        onboarding,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)
