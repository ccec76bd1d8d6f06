"""A licensed device checking in (SPEC B8, B9): its configuration when it changed, and
the commands waiting for it, which it acknowledges."""

from __future__ import annotations

from dataclasses import dataclass

from onboard.domain.audit import Change, Target
from onboard.domain.commands import Command
from onboard.domain.errors import (
    NotFound,
    Unauthenticated,
)
from onboard.domain.licensing import (
    ClientDevice,
    Configuration,
)
from onboard.domain.values import digest_secret
from onboard.services.licensing.configurations import configuration_of
from onboard.services.licensing.device_pairing import device_actor
from onboard.services.ports import Services, UnitOfWork


@dataclass(frozen=True)
class CheckIn:
    """What a check-in answers: the configuration only when it changed (B8), and the
    commands waiting (B9: ``unpair`` once the device was removed)."""

    configuration: Configuration | None
    commands: tuple[Command, ...]


UNPAIR = "unpair"


def _client(uow: UnitOfWork, credential: str) -> ClientDevice:
    client = uow.client_devices.by_credential(digest_secret(credential))
    if client is None:
        raise Unauthenticated("Unknown device credential; pair the device again.")
    return client


def checkin(svc: Services, credential: str, *, configuration_etag: str | None = None) -> CheckIn:
    """§6 check-in of a licensed client device: its configuration when the ETag it has is
    not the current one's, and ``unpair`` when it was removed (B9)."""
    now = svc.clock.now()
    with svc.uow() as uow:
        client = _client(uow, credential)
        uow.client_devices.touch(client.id, now)
        uow.commit()
        if client.device_id is None:
            return CheckIn(None, (Command(f"{UNPAIR}-{client.id}", UNPAIR, {}),))
        configuration = configuration_of(uow, client)
    if configuration is not None and configuration.etag == configuration_etag:
        configuration = None
    return CheckIn(configuration, ())


def acknowledge(svc: Services, credential: str, command_id: str, *, ok: bool) -> None:
    """§6: the device did (or could not do) what it was told. An acknowledged ``unpair``
    ends the record and with it the credential."""
    with svc.uow() as uow:
        client = _client(uow, credential)
        if command_id != f"{UNPAIR}-{client.id}" or client.device_id is not None:
            raise NotFound(f"No command {command_id!r} for this device.")
        if ok:
            uow.client_devices.delete(client.id)
            uow.record(
                device_actor(client.organization_id, client.hardware_id, None),
                Change(
                    "device.unpaired",
                    Target("client_device", client.id),
                    after={"hardware_id": client.hardware_id},
                ),
                organization_id=client.organization_id,
            )
            uow.commit()
