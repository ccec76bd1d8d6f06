"""Settings from ONBOARD_* variables, the development key, masking (issue 2 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from onboard.config import SettingsError, get_settings


def test_defaults_use_a_sqlite_file_under_var(tmp_path: Path) -> None:
    settings = get_settings(var_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'onboard.db'}"
    assert settings.port == 8000


def test_variables_with_the_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ONBOARD_PORT", "9123")
    monkeypatch.setenv("ONBOARD_PUBLIC_URL", "https://onboard.example.com/")
    settings = get_settings(var_dir=tmp_path)
    assert settings.port == 9123
    assert settings.public_url == "https://onboard.example.com"
    assert settings.secure_cookies


def test_the_development_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = get_settings(var_dir=tmp_path).secret_key.get_secret_value()
    second = get_settings(var_dir=tmp_path).secret_key.get_secret_value()
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_requires_an_explicit_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        get_settings(var_dir=tmp_path, mode="production")
    assert not (tmp_path / "secret_key").exists()


def test_secrets_and_database_passwords_are_masked(tmp_path: Path) -> None:
    settings = get_settings(
        var_dir=tmp_path,
        secret_key="super-secret-value",
        database_url="postgresql+psycopg://app:hunter2@db.example.com/onboard",
    )
    shown = settings.masked()
    assert "super-secret-value" not in str(shown)
    assert "hunter2" not in shown["database_url"]
    assert shown["database_url"] == "postgresql+psycopg://app:********@db.example.com/onboard"


def test_an_invalid_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        get_settings(var_dir=tmp_path, port=70000)


def test_the_public_url_follows_the_port_unless_set(tmp_path: Path) -> None:
    assert get_settings(var_dir=tmp_path, port=8765).public_url == "http://127.0.0.1:8765"
    assert get_settings(var_dir=tmp_path, host="0.0.0.0").public_url == "http://127.0.0.1:8000"
    explicit = get_settings(var_dir=tmp_path, port=8765, public_url="https://x.example.com")
    assert explicit.public_url == "https://x.example.com"
