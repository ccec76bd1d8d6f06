"""The application factory uvicorn imports in each worker process."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from onboard.config import get_settings
from onboard.entrypoints.app import create_app


def app() -> FastAPI:
    built = create_app(get_settings())
    # The objects made so far (modules, routes, models: some 200,000) live as long as the
    # process: kept out of the collector's full passes, which otherwise took about 90 ms
    # each, a pause every request in flight waits through (§7's p99).
    gc.freeze()
    return built
