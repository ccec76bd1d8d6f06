"""Composition root: builds the engine, the unit of work, clock, ids and hashing, once."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine

from onboard.adapters.crypto import Argon2Passwords, HmacSigner
from onboard.adapters.db.engine import build_engine, is_postgresql
from onboard.adapters.db.uow import SqlUnitOfWork
from onboard.adapters.gs1 import BiipGs1Reader
from onboard.adapters.keyring import Keyring, KeyringError
from onboard.adapters.patterns import Re2Patterns
from onboard.adapters.storage import LocalFiles
from onboard.adapters.system import RandomIds, SystemClock
from onboard.config import Settings, SettingsError
from onboard.domain.clock import Clock
from onboard.services.auth import SignInPolicy
from onboard.services.ports import Ids, PasswordHasher, Services


@dataclass(frozen=True)
class Container:
    """Everything an entrypoint needs, built from the settings."""

    settings: Settings
    engine: Engine
    services: Services
    sign_in_policy: SignInPolicy
    autocommit_engine: Engine | None = None
    """PostgreSQL: the pool of read-only and single-statement units of work."""

    def close(self) -> None:
        self.engine.dispose()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()


def _keyring(settings: Settings) -> Keyring:
    try:
        return Keyring.parse(settings.data_keys.get_secret_value())
    except KeyringError as error:
        raise SettingsError(f"ONBOARD_DATA_KEYS cannot be used: {error}") from None


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: Ids | None = None,
    passwords: PasswordHasher | None = None,
) -> Container:
    if settings.effective_database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    url, pool_size = settings.effective_database_url, settings.db_pool_size
    engine = build_engine(url, pool_size=pool_size)
    autocommit = (
        build_engine(url, pool_size=pool_size, autocommit=True) if is_postgresql(url) else None
    )
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    services = Services(
        uow=lambda read_only=False, single_statement=False: SqlUnitOfWork(
            engine,
            clock,
            ids,
            read_only=read_only,
            single_statement=single_statement,
            autocommit_engine=autocommit,
        ),
        clock=clock,
        ids=ids,
        passwords=passwords or Argon2Passwords(),
        entropy=os.urandom,
        signer=HmacSigner(settings.secret_key.get_secret_value(), purpose="services"),
        secrets=_keyring(settings),
        public_url=settings.public_url,
        files=LocalFiles(settings.effective_files_dir),
        upload_max_bytes=settings.upload_max_bytes,
        gs1=BiipGs1Reader(),
        patterns=Re2Patterns(),
    )
    policy = SignInPolicy(
        attempts=settings.login_attempts,
        window_seconds=settings.login_window_seconds,
        session_hours=settings.session_hours,
    )
    return Container(settings, engine, services, policy, autocommit)
