"""create_app(): the one ASGI application — API, device API, web pages and static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

import onboard
from onboard.bootstrap import Container, build
from onboard.config import Settings
from onboard.entrypoints.api import errors
from onboard.entrypoints.api.app import api_router
from onboard.entrypoints.device_api import PREFIX as DEVICE_PREFIX
from onboard.entrypoints.device_api import device_app
from onboard.entrypoints.device_api.activation_lane import ActivationLane
from onboard.entrypoints.web import mount_code_pages, mount_web


class Onboard(FastAPI):
    """The application. Activations (D4, §7: by the thousand a second) are answered by its
    lane, before the framework's middleware and routing."""

    lane: ActivationLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.lane is not None and self.lane.takes(scope):
            await self.lane(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, container: Container | None = None) -> FastAPI:
    """Build the application for these settings; nothing is built at import time."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    built = container or build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if container is None:
            built.close()

    app = Onboard(
        title="onboard",
        version=onboard.__version__,
        description="Devices from the factory to the field, tracked for life.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = built
    errors.install(app)
    mount_code_pages(app)
    # Devices call in numbers (D4, §7: activations by the thousand a second): their API is
    # tried before the hundred routes of the members' API.
    app.mount(DEVICE_PREFIX, device_app(built))
    app.lane = ActivationLane(built)
    app.include_router(api_router())

    @app.get("/healthz", include_in_schema=False)
    def health() -> JSONResponse:
        with built.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    mount_web(app)
    return app
