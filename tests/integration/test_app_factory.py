"""The factory uvicorn calls in each worker process (`onboard serve`)."""

from __future__ import annotations

import gc
import secrets
from pathlib import Path

import pytest

from onboard.entrypoints import asgi


def test_the_worker_factory_keeps_its_startup_objects_out_of_full_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # §7's p99: a full collection of the application's objects took about 90 ms.
    monkeypatch.setenv("ONBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'onboard.db'}")
    monkeypatch.setenv("ONBOARD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARD_SECRET_KEY", secrets.token_urlsafe(32))
    gc.unfreeze()
    app = asgi.app()
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        app.state.container.close()
