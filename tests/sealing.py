"""Test helpers for secrets sealed at rest (SPEC C1): services of one deployment with the
keyring each is given, enrollments with known access keys, and their sealed values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from onboard.adapters.keyring import new_key_entry
from onboard.bootstrap import Container, build
from onboard.config import get_settings
from onboard.domain.enrollment import DeviceKind
from onboard.services import enrollments
from onboard.services.enrollments import EnrollmentInput, key_context
from onboard.services.ports import Services
from tests.conftest import Database, fast_passwords
from tests.factories import Org

K0, K1, K2 = (new_key_entry(key_id) for key_id in ("k0", "k1", "k2"))

Keyed = Callable[..., Services]


def keyed_services(database: Database, container: Container, var_dir: Path) -> Iterator[Keyed]:
    """Services over the test's database with the keyring given (entries, current first):
    the servers and the operator's command of one deployment, each with its own setting."""
    built: list[Container] = []

    def services(*entries: str) -> Services:
        settings = get_settings(
            var_dir=var_dir,
            database_url=database.url,
            secret_key=container.settings.secret_key.get_secret_value(),
            data_keys=",".join(entries),
        )
        built.append(build(settings, passwords=fast_passwords()))
        return built[-1].services

    yield services
    for made in built:
        made.close()


def enroll_many(svc: Services, org: Org, count: int, prefix: str = "SN") -> dict[str, str]:
    """``count`` enrollments, each with its own access key: id -> access key."""
    made: dict[str, str] = {}
    for n in range(count):
        key = f"access-key-{prefix}-{n}"
        given = EnrollmentInput(f"{prefix}-{n}", key, DeviceKind.DIRECT)
        made[enrollments.create_enrollment(svc, org.actor, given).id] = key
    return made


def sealed(svc: Services, enrollment_id: str) -> str:
    with svc.uow(read_only=True) as uow:
        return uow.enrollments.sealed_key(enrollment_id)


def opened(svc: Services, enrollment_id: str) -> str:
    return svc.secrets.open(sealed(svc, enrollment_id), context=key_context(enrollment_id))


def key_id(value: str) -> str:
    """The key a stored value is sealed under (``v1.<key id>.<body>``)."""
    return value.split(".")[1]
