"""The application factory uvicorn imports in each worker process."""

from __future__ import annotations

from fastapi import FastAPI

from onboard.config import get_settings
from onboard.entrypoints.app import create_app


def app() -> FastAPI:
    return create_app(get_settings())
