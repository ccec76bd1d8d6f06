"""/api/v1/environments and /api/v1/provisioning-groups: where devices connect, and the
groups of devices that share onboarding information (SPEC P2, D1, D2; §5.1 Part D). A
group's secret comes out twice at most: when it is made and when it is rotated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter

from onboard.domain.errors import DomainError
from onboard.domain.provisioning import ProvisioningGroup
from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.provisioning_schemas import (
    EnvironmentPublic,
    GroupCreate,
    GroupCreated,
    GroupPublic,
    GroupSettings,
    GroupUpdate,
    GroupWithSecret,
)
from onboard.services.ports import Services
from onboard.services.provisioning import environments, groups
from onboard.services.provisioning.groups import GroupInput

environments_router = APIRouter(prefix="/environments", tags=["provisioning"])
groups_router = APIRouter(prefix="/provisioning-groups", tags=["provisioning"])
router = APIRouter()

# The API's names of a group's settings, and the use cases' (GroupInput's).
_SETTINGS = {
    "name": "name",
    "mode": "registration_mode",
    "allocation": "allocation_policy",
    "reprovision_policy": "reprovision_policy",
    "environments": "environments",
    "template_id": "template_id",
    "configuration": "configuration",
    "configuration_id": "configuration_id",
    "initial_attributes": "attributes",
    "departments": "departments",
    "claimable": "open_claims",
    "claimants": "claimants",
}
_SEQUENCES = {"environments", "departments", "claimants"}
_API_NAMES = {ours: theirs for theirs, ours in _SETTINGS.items()}


@contextmanager
def _api_fields() -> Iterator[None]:
    """Field errors of the use cases under the API's names of the settings (P10)."""
    try:
        yield
    except DomainError as error:
        renamed: dict[str, str] = {}
        for name, why in error.fields.items():
            head, dot, rest = name.partition(".")
            renamed[_API_NAMES.get(head, head) + dot + rest] = why
        error.fields = renamed
        raise


def _names(svc: Services) -> dict[str, str]:
    """Environment names by id: a group holds its environments by id."""
    return {e.id: e.name for e in environments.list_environments(svc)}


def _fields(group: ProvisioningGroup, names: dict[str, str]) -> dict[str, Any]:
    defaults = group.defaults
    return {
        "id": group.id,
        "group_id": group.group_id,
        "name": group.name,
        "mode": group.registration_mode.value,
        "allocation": group.allocation_policy.value,
        "reprovision_policy": group.reprovision_policy.value,
        "environments": [names.get(e, e) for e in group.environment_ids],
        "template_id": defaults.template_id,
        "configuration": defaults.configuration,
        "configuration_id": defaults.configuration_id,
        "initial_attributes": defaults.attributes,
        "departments": sorted(defaults.departments),
        "claimable": group.open_claims,
        "claimants": sorted(group.claimants),
        "rotating": group.rotating,
        "created_at": group.created_at,
    }


def _public(svc: Services, group: ProvisioningGroup) -> GroupPublic:
    return GroupPublic(**_fields(group, _names(svc)))


def _changes(body: s.Body, given: set[str]) -> dict[str, Any]:
    """The settings ``body`` gives, by the use cases' names."""
    changes: dict[str, Any] = {}
    for name in given:
        value = getattr(body, name)
        if name in _SEQUENCES and value is not None:
            value = tuple(value)
        changes[_SETTINGS[name]] = value
    return changes


def _input(body: GroupSettings) -> GroupInput:
    every_setting = set(_SETTINGS)
    return GroupInput(**_changes(body, every_setting))


@environments_router.get("", response_model=list[EnvironmentPublic])
def list_environments(svc: Svc, actor: CurrentActor) -> list[EnvironmentPublic]:
    """P2: every environment of the platform, by name; a group's devices are sent to the
    group's environments (D4). The operator defines them (`onboard environments`)."""
    return [present.environment(e) for e in environments.list_environments(svc, actor)]


@groups_router.get("", response_model=s.PageOf[GroupPublic])
def list_groups(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[GroupPublic]:
    """D1: the organization's provisioning groups."""
    page = groups.list_groups(svc, actor, paging)
    names = _names(svc)
    items = [GroupPublic(**_fields(g, names)) for g in page.items]
    return s.PageOf(items=items, next_cursor=next_cursor(page))


@groups_router.post("", status_code=201, response_model=GroupCreated)
def create_group(body: GroupCreate, svc: Svc, actor: CurrentActor) -> GroupCreated:
    """D1: a new group, answered with its `secret`: shown this once, never again; store
    it now. 409 `name_taken` when the group id is taken (group ids are unique on the
    platform); 403 `permission_denied` for roles that do not manage provisioning."""
    with _api_fields():
        made = groups.create_group(svc, actor, body.group_id, _input(body))
    fields = _fields(made.group, _names(svc))
    return GroupCreated(**fields, secret=made.secret, secondary_secret=made.secondary_secret)


@groups_router.get("/{group}", response_model=GroupPublic)
def get_group(group: PathId, svc: Svc, actor: CurrentActor) -> GroupPublic:
    """D1: a group, by its id or its public group id."""
    return _public(svc, groups.find_group_now(svc, actor, group))


@groups_router.put("/{group}", response_model=GroupPublic)
def replace_group(group: PathId, body: GroupSettings, svc: Svc, actor: CurrentActor) -> GroupPublic:
    """D1: all of a group's settings; those left out go back to their defaults. Its group
    id and secrets stay."""
    with _api_fields():
        return _public(svc, groups.update_group(svc, actor, group, _input(body)))


@groups_router.patch("/{group}", response_model=GroupPublic)
def change_group(group: PathId, body: GroupUpdate, svc: Svc, actor: CurrentActor) -> GroupPublic:
    """D1: some of a group's settings; those left out stay as they are."""
    changes = _changes(body, body.model_fields_set)
    for name in ("name", "mode", "allocation", "reprovision_policy", "claimable"):
        if name in body.model_fields_set and getattr(body, name) is None:
            changes.pop(_SETTINGS[name])
    for name, empty in (
        ("environments", ()),
        ("configuration", {}),
        ("initial_attributes", {}),
        ("claimants", ()),
    ):
        if name in body.model_fields_set and getattr(body, name) is None:
            changes[_SETTINGS[name]] = empty
    with _api_fields():
        return _public(svc, groups.change_group(svc, actor, group, changes))


@groups_router.post("/{group}/rotate-secret", response_model=GroupWithSecret)
def rotate_secret(group: PathId, svc: Svc, actor: CurrentActor) -> GroupWithSecret:
    """D1: a new `secret`, shown this once. The previous one becomes the secondary: keys
    derived from it still activate until the rotation is finished (finish-rotation)."""
    rotated = groups.rotate_group_secret(svc, actor, group)
    return GroupWithSecret(**_fields(rotated.group, _names(svc)), secret=rotated.secret)


@groups_router.post("/{group}/finish-rotation", response_model=GroupPublic)
def finish_rotation(group: PathId, svc: Svc, actor: CurrentActor) -> GroupPublic:
    """D1: drop the previous secret: only keys of the current one activate from now on.
    Without a rotation under way, nothing changes."""
    return _public(svc, groups.finish_rotation(svc, actor, group))


# Aliases of the two actions above under /secret/, kept out of the OpenAPI document, which
# names §5.1's paths.
groups_router.post(
    "/{group}/secret/rotate", response_model=GroupWithSecret, include_in_schema=False
)(rotate_secret)
groups_router.post(
    "/{group}/secret/finish-rotation", response_model=GroupPublic, include_in_schema=False
)(finish_rotation)

router.include_router(environments_router)
router.include_router(groups_router)
