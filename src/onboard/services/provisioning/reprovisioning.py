"""Reprovisioning (SPEC D6): an activated device moves to another organization and/or
environment; its group id, group secret and serial never change. The group's reprovision
policy decides what becomes of its twin: ``migrate`` keeps it (moved along), ``reset``
starts a new twin from the group's defaults (the old one stays behind with its history),
``never`` refuses (``reprovision_refused``). A member moves a device (between
organizations only a person who is an Administrator in both), the operator from the CLI,
or the device itself when its environment is down (at its activation). The device learns
its new assignment at its next check-in (``reprovision``) or activation."""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass, replace

from onboard.domain.access import Actor, ActorKind, Permission, Role
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.errors import (
    CodeNotPaired,
    Conflict,
    Invalid,
    PermissionDenied,
    ReprovisionRefused,
)
from onboard.domain.provisioning import (
    Environment,
    ProvisioningGroup,
    Registration,
    ReprovisionPolicy,
    allocate,
)
from onboard.services.codes import release_code
from onboard.services.common import device_target, not_found
from onboard.services.ports import Services, UnitOfWork
from onboard.services.provisioning.environments import find_environment


@dataclass(frozen=True)
class Reprovisioned:
    """Where the device now is: its twin (the same, or a new one after a reset), its
    organization and environment, and the policy that applied."""

    device_id: str
    organization_id: str
    environment: Environment | None
    policy: ReprovisionPolicy
    device: Device
    """The twin as it is now."""


def refuse_if_never(group: ProvisioningGroup) -> None:
    if group.reprovision_policy is ReprovisionPolicy.NEVER:
        raise ReprovisionRefused(
            f"The reprovision policy of group {group.group_id!r} is never: its devices stay "
            "where they activated."
        )


def fresh_twin(
    svc: Services, group: ProvisioningGroup, registration: Registration, organization_id: str
) -> Device:
    """D6, reset: the twin a device of the group starts with, in ``organization_id`` (the
    group's template and departments only in the group's own organization)."""
    now = svc.clock.now()
    home = organization_id == group.organization_id
    return Device(
        id=svc.ids.new(),
        organization_id=organization_id,
        name=registration.serial,
        serial=registration.serial,
        template_id=group.defaults.template_id if home else None,
        attributes={**group.defaults.attributes, **registration.attributes},
        departments=group.defaults.departments if home else frozenset(),
        customer_id=None,
        location=Location(),
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _may_move_between(uow: UnitOfWork, actor: Actor, source: str, target: str) -> None:
    """D6: between organizations, only a person who is an Administrator in both (or the
    operator)."""
    if actor.kind is ActorKind.OPERATOR:
        return
    scope = actor.require(Permission.READ)
    member = uow.members.get(scope, actor.member_id or "")
    there = None if member is None else uow.members.get_for_person(target, member.person_id)
    if (
        member is None
        or there is None
        or Role.ADMINISTRATOR not in member.roles
        or Role.ADMINISTRATOR not in there.roles
        or source != scope.organization_id
    ):
        raise PermissionDenied(
            "Moving a device to another organization takes a person who is an Administrator "
            "in both."
        )


def _target_environment(
    uow: UnitOfWork, group: ProvisioningGroup, registration: Registration, named: str | None
) -> Environment | None:
    """The environment named (one of the group's, up), else the device's own while it is
    up, else a new allocation (D4)."""
    ours = uow.environments.of_group(group.id)
    if named is not None:
        environment = find_environment(uow, named)
        if environment.id not in {e.id for e in ours}:
            raise Invalid(
                f"Environment {environment.name!r} is not one of group {group.group_id!r}'s.",
                fields={"environment": "not the group's"},
            )
        if not environment.up:
            raise Conflict(f"Environment {environment.name!r} is down; choose one that is up.")
        return environment
    for environment in ours:
        if environment.id == registration.environment_id and environment.up:
            return environment
    return allocate(
        group.allocation_policy, ours, registration.serial, secrets.SystemRandom().random()
    )


def reprovision_device(
    svc: Services,
    actor: Actor,
    device_id: str,
    *,
    environment: str | None = None,
    organization: str | None = None,
) -> Reprovisioned:
    """D6: move the device to ``environment`` (by name or id; by default it keeps its own
    while that is up) and/or to ``organization`` (by id). Members who manage provisioning
    move devices they see; between organizations the person must be an Administrator in
    both. Its codes stay with their organization (unpaired) when it leaves it."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    now = svc.clock.now()
    with svc.uow() as uow:
        device = uow.devices.get(scope, device_id, for_change=True)
        if device is None:
            raise not_found("device", device_id)
        registration = uow.registrations.of_device(device.id)
        if registration is None:
            raise Invalid(
                "This device did not activate through a provisioning group: only such a "
                "device is reprovisioned (D6).",
                fields={"device": "not provisioned"},
            )
        group = uow.provisioning_groups.by_group_ref(registration.group_ref)
        if group is None:
            raise not_found("provisioning group", registration.group_ref)
        refuse_if_never(group)
        target = organization or device.organization_id
        if target != device.organization_id:
            if uow.organizations.get(target) is None:
                raise Invalid(f"No organization {target!r}.", fields={"organization": "unknown"})
            _may_move_between(uow, actor, device.organization_id, target)
        chosen = _target_environment(uow, group, registration, environment)
        chosen_id = chosen.id if chosen else None
        if target == device.organization_id and chosen_id == registration.environment_id:
            raise Invalid(
                "The device is in that organization and environment already.",
                fields={"environment": "the same"},
            )
        policy = group.reprovision_policy
        if policy is ReprovisionPolicy.RESET:
            now_twin = fresh_twin(svc, group, registration, target)
            uow.devices.add(now_twin)
        else:
            now_twin = device
            if target != device.organization_id:
                for code in uow.codes.of_device(device.id):
                    with suppress(CodeNotPaired):
                        release_code(svc, uow, actor, code, device)
                uow.devices.move(device.id, target, now)
                now_twin = replace(
                    device, organization_id=target, departments=frozenset(), customer_id=None,
                    template_id=None, updated_at=now,
                )  # fmt: skip
        twin_id, departments = now_twin.id, now_twin.departments
        uow.registrations.reprovision(registration.id, twin_id, chosen_id, now)
        change = Change(
            "device.reprovisioned",
            Target("device", twin_id, departments),
            before={
                "device_id": device.id,
                "organization_id": device.organization_id,
                "environment_id": registration.environment_id,
            },
            after={
                "device_id": twin_id,
                "organization_id": target,
                "environment": chosen.name if chosen else None,
                "policy": policy.value,
            },
        )
        uow.record(actor, change, organization_id=target)
        if target != device.organization_id:
            uow.record(actor, _left(change, device), organization_id=device.organization_id)
        uow.commit()
    return Reprovisioned(twin_id, target, chosen, policy, now_twin)


def _left(change: Change, device: Device) -> Change:
    """The same move in the log of the organization the device left (P8)."""
    return Change(change.action, device_target(device), before=change.before, after=change.after)
