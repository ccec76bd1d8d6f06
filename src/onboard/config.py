"""Settings: the only reader of the environment (prefix ``ONBOARD_``)."""

from __future__ import annotations

import base64
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """The settings cannot be used as they are."""


class Settings(BaseSettings):
    """Every setting of onboard; each can be set as an ``ONBOARD_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="ONBOARD_", extra="ignore")

    mode: Mode = Field(
        Mode.DEVELOPMENT,
        description="development or production; production requires an explicit secret key.",
    )
    var_dir: Path = Field(
        Path("var"), description="Folder for the SQLite database, generated key and uploads."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Default: SQLite file var/onboard.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs CSRF tokens and other values held by browsers. In development it "
        "is generated once into var/secret_key when absent; required in production.",
    )
    data_keys: SecretStr = Field(
        SecretStr(""),
        description="Keys that encrypt device secrets at rest (access keys, group secrets): "
        "id:base64 entries of 32 bytes, comma-separated, the current key first; "
        "`onboard keys new ID` makes one. In development one is generated once into "
        "var/data_keys when absent; required in production.",
    )
    public_url: str = Field(
        "",
        description="Base URL people and devices reach; code URLs are built from it. "
        "Default: http://HOST:PORT.",
    )
    host: str = Field("127.0.0.1", description="Address `onboard serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `onboard serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes for `onboard serve`.")
    log_level: str = Field("info", description="debug, info, warning or error.")
    session_hours: int = Field(
        12, ge=1, le=24 * 30, description="Lifetime of a web session, in hours."
    )
    login_attempts: int = Field(
        10, ge=1, description="Failed sign-ins allowed per email (and 5x per address) per window."
    )
    login_window_seconds: int = Field(
        900, ge=1, description="Window of the sign-in rate limit, in seconds."
    )
    pair_attempts: int = Field(
        30, ge=1, description="Device pairing attempts allowed per source address a minute (B5)."
    )
    activation_failures: int = Field(
        30,
        ge=1,
        description="Failed device activations allowed per source address a minute (D4); a "
        "factory's devices share an address, so only failures count.",
    )
    activation_attempts: int = Field(
        10, ge=1, description="Activations allowed per device (group and serial) a minute (D4)."
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        le=200,
        description="PostgreSQL connections per process and pool (two: transactions, and "
        "autocommit units), kept open once made.",
    )
    files_dir: Path | None = Field(
        None,
        description="Folder of uploaded documents and photos. Default: var/files. Several "
        "hosts serving one database need it on storage they share.",
    )
    upload_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest document or photo accepted, in bytes.",
    )

    @model_validator(mode="after")
    def _check_log_level(self) -> Settings:
        if self.log_level.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("log_level must be one of debug, info, warning, error")
        self.log_level = self.log_level.lower()
        if not self.public_url:
            host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host  # noqa: S104
            self.public_url = f"http://{host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'onboard.db'}"

    @property
    def effective_files_dir(self) -> Path:
        return self.files_dir or self.var_dir / "files"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def masked(self) -> dict[str, Any]:
        """The effective values, secrets replaced by a mask (for `onboard config show`)."""
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else "(not set)"
            elif name == "database_url":
                value = _mask_url_password(self.effective_database_url)
            elif name == "files_dir":
                value = self.effective_files_dir
            values[name] = str(value)
        return values


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':********' if has_password else ''}@{host}"


def get_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment and make sure a secret key is available."""
    settings = Settings(**overrides)
    if not settings.secret_key.get_secret_value():
        if settings.mode is Mode.PRODUCTION:
            raise SettingsError("ONBOARD_SECRET_KEY is required when ONBOARD_MODE=production")
        settings.secret_key = SecretStr(_development_secret_key(settings.var_dir))
    if not settings.data_keys.get_secret_value():
        if settings.mode is Mode.PRODUCTION:
            raise SettingsError("ONBOARD_DATA_KEYS is required when ONBOARD_MODE=production")
        settings.data_keys = SecretStr(_development_data_keys(settings.var_dir))
    return settings


def _development_secret_key(var_dir: Path) -> str:
    """Generate the development key once and keep it under var/ so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _development_data_keys(var_dir: Path) -> str:
    """Generate the development keyring once and keep it under var/: what it sealed must
    open after a restart."""
    path = var_dir / "data_keys"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    entry = f"dev1:{base64.b64encode(secrets.token_bytes(32)).decode('ascii')}"
    path.write_text(entry + "\n")
    path.chmod(0o600)
    return entry
