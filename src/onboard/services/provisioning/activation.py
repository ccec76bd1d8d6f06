"""Plug-and-play activation (SPEC D4, §6): a device proves it holds the key derived from
its group's secret and its serial, and gets its twin, a credential, its environment, its
configuration and initial attributes. Activating again keeps the twin and rotates the
credential. Concurrent activations of one device wait for each other on its registration's
row: one twin, whatever the timing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.errors import (
    NotRegistered,
    RegistrationDisabled,
    SignatureExpired,
)
from onboard.domain.provisioning import (
    Environment,
    ProvisioningGroup,
    Registration,
    RegistrationMode,
    allocate,
    check_activation,
)
from onboard.domain.values import digest_secret
from onboard.services.ports import Services, UnitOfWork
from onboard.services.provisioning.groups import group_secrets

# §6: a proof names a time no more than this far ahead (and not in the past).
MAX_AHEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Activation:
    """What an activating device is told (§6): its twin, its new credential (returned this
    once, stored hashed), where to connect, its configuration and initial attributes."""

    device_id: str
    credential: str
    environment: Environment | None
    configuration: dict[str, Any]
    attributes: dict[str, Any]
    first: bool
    """Whether this activation made the twin (False: a repeat, which rotated the credential)."""


def provisioned_actor(organization_id: str, serial: str, source_ip: str | None) -> Actor:
    return Actor(
        kind=ActorKind.DEVICE,
        id=None,
        label=f"device {serial[:60]}",
        scope=Scope(organization_id),
        source_ip=source_ip,
    )


def _check_time(svc: Services, expires: int) -> None:
    now = svc.clock.now().timestamp()
    if expires < now:
        raise SignatureExpired("The signature's time has passed; sign with a later one.")
    if expires > now + MAX_AHEAD.total_seconds():
        raise SignatureExpired("The signature's time is more than an hour ahead.")


def _environment(
    group: ProvisioningGroup,
    environments: list[Environment],
    registration: Registration,
) -> Environment | None:
    """The device's environment: the one it has while that is still the group's and up,
    else a new allocation among those up (D4)."""
    for environment in environments:
        if environment.id == registration.environment_id and environment.up:
            return environment
    return allocate(
        group.allocation_policy, environments, registration.serial, secrets.SystemRandom().random()
    )


def _twin(svc: Services, group: ProvisioningGroup, registration: Registration) -> Device:
    now = svc.clock.now()
    return Device(
        id=svc.ids.new(),
        organization_id=group.organization_id,
        name=registration.serial,
        serial=registration.serial,
        template_id=group.defaults.template_id,
        attributes={**group.defaults.attributes, **registration.attributes},
        departments=group.defaults.departments,
        customer_id=None,
        location=Location(),
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _registration(
    svc: Services, uow: UnitOfWork, group: ProvisioningGroup, serial: str
) -> Registration:
    registration = uow.registrations.get(group.id, serial, for_change=True)
    if registration is None:
        if group.registration_mode is RegistrationMode.PREREGISTERED:
            raise NotRegistered(f"Serial {serial!r} is not registered in group {group.group_id!r}.")
        now = svc.clock.now()
        registration = uow.registrations.ensure(
            Registration(
                svc.ids.new(), group.organization_id, group.id, serial, {}, False, None, None,
                None, now,
            )
        )  # fmt: skip
    if registration.disabled:
        raise RegistrationDisabled(f"The registration of serial {serial!r} is disabled.")
    return registration


def activate(
    svc: Services,
    *,
    group_id: str,
    serial: str,
    expires: int,
    signature: str,
    source_ip: str | None = None,
) -> Activation:
    """D4, §6: check the proof, then make or find the twin and hand out a new credential.
    InvalidSignature (also for an unknown group: nothing can be checked), SignatureExpired,
    NotRegistered, RegistrationDisabled."""
    _check_time(svc, expires)
    with svc.uow() as uow:
        group = uow.provisioning_groups.by_group_id(group_id)
        if group is None:
            raise NotRegistered(f"No provisioning group {group_id!r}.")
        check_activation(group_secrets(svc, group, uow), group_id, serial, expires, signature)
        registration = _registration(svc, uow, group, serial)
        environment = _environment(group, uow.environments.of_group(group.id), registration)
        credential = secrets.token_urlsafe(32)
        now = svc.clock.now()
        actor = provisioned_actor(group.organization_id, serial, source_ip)
        environment_id = environment.id if environment else None
        device_id = registration.device_id
        first = device_id is None
        if device_id is None:
            twin = _twin(svc, group, registration)
            uow.devices.add(twin)
            uow.registrations.activate(
                registration.id, twin.id, environment_id, digest_secret(credential), now
            )
            device_id = twin.id
            attributes = twin.attributes
        else:
            uow.registrations.rotate(
                registration.id, environment_id, digest_secret(credential), now
            )
            attributes = {**group.defaults.attributes, **registration.attributes}
        uow.record(
            actor,
            Change(
                "device.activated" if first else "device.reactivated",
                Target("device", device_id, group.defaults.departments),
                after={
                    "group_id": group.group_id,
                    "serial": serial,
                    "environment": environment.name if environment else None,
                },
            ),
            organization_id=group.organization_id,
        )
        uow.commit()
    return Activation(
        device_id, credential, environment, group.defaults.configuration, attributes, first
    )
