"""A provisioned device checking in (SPEC D4, D6, §6): its group's configuration when it
changed, and ``reprovision`` when it was moved: it then activates again, which tells it
its new assignment and gives it a new credential."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onboard.domain.commands import Command
from onboard.domain.errors import NotFound
from onboard.domain.licensing import configuration_etag
from onboard.domain.provisioning import Registration
from onboard.domain.values import digest_secret
from onboard.services.ports import Services

REPROVISION = "reprovision"


@dataclass(frozen=True)
class ProvisionedCheckIn:
    """The configuration only when its ETag is not the one the device has (its id is the
    group's public id), and the commands waiting."""

    configuration: tuple[str, str, dict[str, Any]] | None
    commands: tuple[Command, ...]


def holder(svc: Services, credential: str) -> Registration | None:
    """The registration a credential belongs to, if it is a provisioned device's."""
    with svc.uow(read_only=True) as uow:
        return uow.registrations.by_credential(digest_secret(credential))


def _command_id(registration: Registration) -> str:
    return f"{REPROVISION}-{registration.id}"


def checkin(
    svc: Services, registration: Registration, *, configuration_etag_held: str | None
) -> ProvisionedCheckIn:
    with svc.uow(read_only=True) as uow:
        group = uow.provisioning_groups.by_group_ref(registration.group_ref)
        environment = (
            uow.environments.get(registration.environment_id)
            if registration.environment_id
            else None
        )
    commands: tuple[Command, ...] = ()
    if registration.reprovision_pending:
        where = (
            None
            if environment is None
            else {
                "name": environment.name,
                "api_url": environment.api_url,
                "mqtt_url": environment.mqtt_url,
            }
        )
        commands = (Command(_command_id(registration), REPROVISION, {"environment": where}),)
    if group is None:  # the group was deleted with its organization meanwhile
        return ProvisionedCheckIn(None, commands)
    body = group.defaults.configuration
    etag = configuration_etag(body)
    if etag == configuration_etag_held:
        return ProvisionedCheckIn(None, commands)
    return ProvisionedCheckIn((group.group_id, etag, body), commands)


def acknowledge(svc: Services, registration: Registration, command_id: str) -> None:
    """§6: the device took its new assignment (D6). Activating again tells it too, so an
    acknowledgement after that finds nothing pending and is still fine."""
    if command_id != _command_id(registration):
        raise NotFound(f"No command {command_id!r} for this device.")
    with svc.uow() as uow:
        uow.registrations.told(registration.id, svc.clock.now())
        uow.commit()
