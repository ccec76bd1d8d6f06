"""Provisioning groups (SPEC D1, D2): created with a secret shown once and sealed at rest,
their settings and defaults changed, their secret rotated through a secondary one, and
the device keys derived for a manufacturer's list of serials."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.enrollment import check_serial
from onboard.domain.errors import Invalid, NameTaken
from onboard.domain.provisioning import (
    SECRET_BYTES,
    AllocationPolicy,
    GroupDefaults,
    ProvisioningGroup,
    RegistrationMode,
    ReprovisionPolicy,
    check_group_id,
    device_key,
    group_secret_context,
    new_group_secret,
)
from onboard.domain.values import require_name
from onboard.services.common import not_found, resolve_departments
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork
from onboard.services.provisioning.environments import find_environment


@dataclass(frozen=True)
class GroupInput:
    """A group's settings as a member gives them (D1); environments by name or id."""

    name: str
    registration_mode: str = RegistrationMode.PREREGISTERED.value
    allocation_policy: str = AllocationPolicy.STATIC.value
    reprovision_policy: str = ReprovisionPolicy.MIGRATE.value
    environments: tuple[str, ...] = ()
    template_id: str | None = None
    configuration: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    departments: tuple[str, ...] | None = None
    open_claims: bool = False
    claimants: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewGroup:
    """A group just made, with its secret: shown this once, never again (D1)."""

    group: ProvisioningGroup
    secret: str


def _choice(kind: type[Any], raw: str, field_name: str) -> Any:
    try:
        return kind(raw.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in kind)
        raise Invalid(f"The {field_name} is one of {known}.", fields={field_name: known}) from None


def _object(value: Any, field_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"The {field_name} is a JSON object.", fields={field_name: "an object"})
    return value


def _group(
    uow: UnitOfWork, scope: Scope, given: GroupInput, *, id: str, group_id: str, created: Any
) -> ProvisioningGroup:
    """The group ``given`` describes, every setting checked."""
    environments = tuple(dict.fromkeys(find_environment(uow, e).id for e in given.environments))
    if given.template_id and uow.templates.get(scope, given.template_id) is None:
        raise Invalid(f"No template {given.template_id!r} here.", fields={"template_id": "unknown"})
    departments = resolve_departments(
        uow, scope, list(given.departments) if given.departments is not None else None
    )
    return ProvisioningGroup(
        id,
        scope.organization_id,
        group_id,
        require_name(given.name),
        _choice(RegistrationMode, given.registration_mode, "registration_mode"),
        _choice(AllocationPolicy, given.allocation_policy, "allocation_policy"),
        _choice(ReprovisionPolicy, given.reprovision_policy, "reprovision_policy"),
        GroupDefaults(
            given.template_id or None,
            _object(given.configuration, "configuration"),
            _object(given.attributes, "attributes"),
            departments or frozenset(),
        ),
        environments,
        created,
        open_claims=given.open_claims,
        claimants=frozenset(c for c in given.claimants if c != scope.organization_id),
    )


def _settings(group: ProvisioningGroup) -> dict[str, Any]:
    return {
        "group_id": group.group_id,
        "name": group.name,
        "registration_mode": group.registration_mode.value,
        "allocation_policy": group.allocation_policy.value,
        "reprovision_policy": group.reprovision_policy.value,
        "environments": list(group.environment_ids),
        "template_id": group.defaults.template_id,
        "configuration": group.defaults.configuration,
        "attributes": group.defaults.attributes,
        "departments": sorted(group.defaults.departments),
        "open_claims": group.open_claims,
        "claimants": sorted(group.claimants),
    }


def find_group(uow: UnitOfWork, scope: Scope, group_ref: str) -> ProvisioningGroup:
    """A group the scope sees, by its record's id or its public group id."""
    group = uow.provisioning_groups.get(scope, group_ref)
    if group is None:
        found = uow.provisioning_groups.by_group_id(group_ref)
        if found is not None and found.organization_id == scope.organization_id:
            group = found
    if group is None:
        raise not_found("provisioning group", group_ref)
    return group


def create_group(svc: Services, actor: Actor, group_id: str, given: GroupInput) -> NewGroup:
    """D1: a new group with a new secret, returned this once and sealed at rest."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    public_id = check_group_id(group_id)
    secret = new_group_secret(svc.entropy(SECRET_BYTES))
    now = svc.clock.now()
    with svc.uow() as uow:
        group = _group(uow, scope, given, id=svc.ids.new(), group_id=public_id, created=now)
        if uow.provisioning_groups.by_group_id(public_id) is not None:
            raise NameTaken(
                f"The group id {public_id!r} is taken (group ids are unique on the platform)."
            )
        sealed = svc.secrets.seal(secret, context=group_secret_context(group.id))
        uow.provisioning_groups.add(group, sealed, now)
        uow.record(
            actor,
            Change(
                "provisioning_group.created",
                Target("provisioning_group", group.id),
                after=_settings(group),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return NewGroup(group, secret)


def update_group(
    svc: Services, actor: Actor, group_ref: str, given: GroupInput
) -> ProvisioningGroup:
    """D1: change a group's settings and defaults (its ids and secrets stay)."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow() as uow:
        before = find_group(uow, scope, group_ref)
        after = _group(
            uow, scope, given, id=before.id, group_id=before.group_id, created=before.created_at
        )
        uow.provisioning_groups.update(after, svc.clock.now())
        uow.record(
            actor,
            Change(
                "provisioning_group.updated",
                Target("provisioning_group", after.id),
                before=_settings(before),
                after=_settings(after),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return after


def rotate_group_secret(svc: Services, actor: Actor, group_ref: str) -> NewGroup:
    """D1: a new primary secret (returned this once); the old one becomes the secondary,
    so devices burned with keys of the old secret still activate until the rotation is
    finished. Rotating again while a rotation is under way drops the older secondary."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    secret = new_group_secret(svc.entropy(SECRET_BYTES))
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        context = group_secret_context(group.id)
        primary, _ = uow.provisioning_groups.sealed_secrets(group.id)
        uow.provisioning_groups.set_secrets(
            group.id, svc.secrets.seal(secret, context=context), primary, svc.clock.now()
        )
        uow.record(
            actor,
            Change("provisioning_group.secret_rotated", Target("provisioning_group", group.id)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return NewGroup(find_group_now(svc, actor, group.id), secret)


def finish_rotation(svc: Services, actor: Actor, group_ref: str) -> ProvisioningGroup:
    """D1: drop the secondary secret: only keys of the primary activate from now on."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        primary, secondary = uow.provisioning_groups.sealed_secrets(group.id)
        if secondary is not None:
            uow.provisioning_groups.set_secrets(group.id, primary, None, svc.clock.now())
            uow.record(
                actor,
                Change(
                    "provisioning_group.rotation_finished",
                    Target("provisioning_group", group.id),
                ),
                organization_id=scope.organization_id,
            )
            uow.commit()
    return find_group_now(svc, actor, group.id)


def find_group_now(svc: Services, actor: Actor, group_ref: str) -> ProvisioningGroup:
    scope = actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        return find_group(uow, scope, group_ref)


def list_groups(svc: Services, actor: Actor, page: PageRequest) -> Page[ProvisioningGroup]:
    scope = actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        return uow.provisioning_groups.list_page(scope, page)


def group_secrets(svc: Services, group: ProvisioningGroup, uow: UnitOfWork) -> list[str]:
    """The group's secrets, opened: the primary, then the secondary during a rotation."""
    context = group_secret_context(group.id)
    sealed = uow.provisioning_groups.sealed_secrets(group.id)
    return [svc.secrets.open(s, context=context) for s in sealed if s is not None]


def derive_keys(
    svc: Services, actor: Actor, group_ref: str, serials: Iterable[str]
) -> Iterator[tuple[int, str, str | None, str]]:
    """D2: for each serial of a manufacturer's list, (line, serial, device key) under the
    group's primary secret; a serial that is not valid gives (line, raw, None, why). Keys
    are secrets: only members who manage provisioning derive them, and each run is
    audited with the count."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        secret = group_secrets(svc, group, uow)[0]
        uow.record(
            actor,
            Change("provisioning_group.keys_derived", Target("provisioning_group", group.id)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    for line, raw in enumerate(serials, start=1):
        try:
            serial = check_serial(raw)
        except Invalid as error:
            yield line, raw, None, error.detail
            continue
        yield line, serial, device_key(secret, serial), ""
