"""Fixtures of the integration tests: the command line run as users run it, over each
backend's database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from onboard.bootstrap import Container
from onboard.entrypoints.cli import app
from tests import factories
from tests.conftest import Database

CLI_PUBLIC_URL = "https://codes.example.com"


@pytest.fixture
def run(database: Database, container: Container, tmp_path: Path) -> Callable[..., Result]:
    """``onboard`` with the given arguments, over the test's database."""
    runner = CliRunner()
    env = {
        "ONBOARD_DATABASE_URL": database.url,
        "ONBOARD_VAR_DIR": str(tmp_path),
        "ONBOARD_SECRET_KEY": "cli-test-key",
        "ONBOARD_PUBLIC_URL": CLI_PUBLIC_URL,
    }

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke


@pytest.fixture
def org(container: Container) -> factories.Org:
    return factories.make_org(container.services)
