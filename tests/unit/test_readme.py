"""The README stays true: its settings table and CLI table match the code."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from onboard.config import Settings
from onboard.entrypoints.cli import app

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_the_readme_lists_every_setting_and_no_other() -> None:
    documented = set(re.findall(r"^\| `ONBOARD_([A-Z_]+)`", README, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_every_cli_command_in_the_readme_exists() -> None:
    commands = re.findall(r"^\| `onboard ([a-z ]+?)(?: \[| --|`)", README, flags=re.M)
    assert len(commands) >= 6
    runner = CliRunner()
    for command in commands:
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, f"onboard {command}: {result.output}"
