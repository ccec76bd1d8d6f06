"""The device API under /device/v1 (SPEC §6): an application of its own, with its own
OpenAPI document, answering errors as problem+json exactly as the members' API does."""

from __future__ import annotations

from fastapi import FastAPI

import onboard
from onboard.bootstrap import Container
from onboard.entrypoints.api import errors
from onboard.entrypoints.device_api import checkin, enrollment, pairing, provisioning

PREFIX = "/device/v1"


def device_app(built: Container) -> FastAPI:
    """The device API, to be mounted at PREFIX: its document is PREFIX/openapi.json."""
    app = FastAPI(
        title="onboard device API",
        version=onboard.__version__,
        description="What devices call: activating, pairing with a scanned code, enrolling and "
        "checking in (SPEC §6).",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    # A mounted application sees itself as request.app: it needs the container too.
    app.state.container = built
    errors.install(app)
    app.include_router(pairing.router)
    app.include_router(checkin.router)
    app.include_router(enrollment.router)
    app.include_router(provisioning.router)
    return app
