"""Provisioning groups (SPEC D1, D2): created with a secret shown once and sealed at rest,
their settings and defaults changed, their secret rotated through a secondary one, and
the device keys derived for a manufacturer's list of serials."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import check_attributes
from onboard.domain.enrollment import check_serial
from onboard.domain.errors import Conflict, Invalid, NameTaken, NotFound
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

# A group's configuration and initial attributes, as JSON: enough for any device's
# settings, small enough that every activation can read them cheaply.
MAX_DEFAULTS_JSON = 64 * 1024
# A group id made for a group created without one: "g-" and 16 base32 characters.
GENERATED_ID_BYTES = 10
# Claimants besides the group's own organization (D5).
MAX_CLAIMANTS = 100


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
    configuration_id: str | None = None
    """One of the organization's named configurations (B8), given instead of
    ``configuration``: the group's devices get its body."""
    attributes: dict[str, Any] = field(default_factory=dict)
    departments: tuple[str, ...] | None = None
    open_claims: bool = False
    claimants: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewGroup:
    """A group just made, with its secret (and, at creation, its secondary secret): shown
    this once, never again (D1, §5.1)."""

    group: ProvisioningGroup
    secret: str
    secondary_secret: str | None = None


def _choice(kind: type[Any], raw: str, field_name: str) -> Any:
    try:
        return kind(raw.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in kind)
        raise Invalid(f"The {field_name} is one of {known}.", fields={field_name: known}) from None


def _object(value: Any, field_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"The {field_name} is a JSON object.", fields={field_name: "an object"})
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        raise Invalid(
            f"The {field_name} is a JSON object.", fields={field_name: "an object"}
        ) from None
    if size > MAX_DEFAULTS_JSON:
        raise Invalid(
            f"The {field_name} has at most {MAX_DEFAULTS_JSON // 1024} KiB of JSON.",
            fields={field_name: "too large"},
        )
    return value


def _configuration(
    uow: UnitOfWork, scope: Scope, configuration_id: str | None, raw: Any
) -> dict[str, Any]:
    """D1, §5.1: the configuration a group's devices get: given as a JSON object, or by the
    id of one of the organization's named configurations (B8), whose body it then is."""
    if configuration_id is None:
        return _object(raw, "configuration")
    named = uow.configurations.get(scope, configuration_id)
    if named is None:
        raise Invalid(
            f"No configuration {configuration_id[:100]!r} here.",
            fields={"configuration_id": "unknown"},
        )
    if raw and raw != named.body:
        raise Invalid(
            "Give the configuration or a configuration_id, not both.",
            fields={"configuration": "given with configuration_id"},
        )
    return named.body


def _environment_ids(uow: UnitOfWork, names: Iterable[str]) -> tuple[str, ...]:
    """The environments named (by name or id), in the order given, each once (D4)."""
    found: list[str] = []
    for name in names:
        try:
            found.append(find_environment(uow, name).id)
        except NotFound:
            raise Invalid(
                f"No environment {name[:100]!r}.", fields={"environments": "unknown environment"}
            ) from None
    return tuple(dict.fromkeys(found))


def _attributes(uow: UnitOfWork, scope: Scope, template_id: str | None, raw: Any) -> dict[str, Any]:
    """A4, D1: initial attributes, typed by the group's template when it has one. Required
    fields may be missing: each device's registration may bring them (D3)."""
    attributes = _object(raw, "attributes")
    template = None
    if template_id:
        template = uow.templates.get(scope, template_id)
        if template is None:
            raise Invalid(
                f"No template {template_id[:100]!r} here.", fields={"template_id": "unknown"}
            )
        optional = tuple(replace(f, required=False) for f in template.fields)
        template = replace(template, fields=optional)
    return check_attributes(template, attributes)


def _claimants(
    uow: UnitOfWork, scope: Scope, given: Iterable[str], kept: frozenset[str]
) -> frozenset[str]:
    """D5: organizations (by id) besides the group's own that may claim its devices; each
    exists, or is one the group names already (``kept``)."""
    wanted = frozenset(c.strip() for c in given) - {scope.organization_id}
    if len(wanted) > MAX_CLAIMANTS:
        raise Invalid(
            f"A group names at most {MAX_CLAIMANTS} claimant organizations.",
            fields={"claimants": "too many"},
        )
    new = sorted(wanted - kept)
    known = {o.id for o in uow.organizations.get_many(new)} if new else set()
    missing = sorted(wanted - known - kept)
    if missing:
        raise Invalid(
            f"No organization {missing[0][:100]!r}.", fields={"claimants": "unknown organization"}
        )
    return wanted


def _departments(
    uow: UnitOfWork, scope: Scope, given: tuple[str, ...] | None, kept: frozenset[str] | None
) -> frozenset[str]:
    """P5: the departments a group's new devices get: the actor's own unless they choose
    some of them; departments the group has already (``kept``) stay as they are."""
    if given is not None and kept is not None and frozenset(given) == kept:
        return kept
    chosen = list(given) if given is not None else None
    return resolve_departments(uow, scope, chosen) or frozenset()


def _group(
    uow: UnitOfWork,
    scope: Scope,
    given: GroupInput,
    *,
    id: str,
    group_id: str,
    created: Any,
    before: ProvisioningGroup | None = None,
) -> ProvisioningGroup:
    """The group ``given`` describes, every setting checked (against ``before``, the
    group as it is, when it is changed)."""
    name = require_name(given.name)
    mode = _choice(RegistrationMode, given.registration_mode, "registration_mode")
    allocation = _choice(AllocationPolicy, given.allocation_policy, "allocation_policy")
    reprovision = _choice(ReprovisionPolicy, given.reprovision_policy, "reprovision_policy")
    environments = _environment_ids(uow, given.environments)
    template_id = given.template_id or None
    configuration_id = given.configuration_id or None
    configuration = _configuration(uow, scope, configuration_id, given.configuration)
    attributes = _attributes(uow, scope, template_id, given.attributes)
    kept = before.defaults.departments if before is not None else None
    departments = _departments(uow, scope, given.departments, kept)
    return ProvisioningGroup(
        id,
        scope.organization_id,
        group_id,
        name,
        mode,
        allocation,
        reprovision,
        GroupDefaults(template_id, configuration, attributes, departments, configuration_id),
        environments,
        created,
        open_claims=given.open_claims,
        claimants=_claimants(
            uow, scope, given.claimants, before.claimants if before else frozenset()
        ),
    )


def group_input(group: ProvisioningGroup) -> GroupInput:
    """The settings of ``group`` as a member would give them again (environments by id)."""
    return GroupInput(
        name=group.name,
        registration_mode=group.registration_mode.value,
        allocation_policy=group.allocation_policy.value,
        reprovision_policy=group.reprovision_policy.value,
        environments=group.environment_ids,
        template_id=group.defaults.template_id,
        configuration=group.defaults.configuration,
        configuration_id=group.defaults.configuration_id,
        attributes=group.defaults.attributes,
        departments=tuple(sorted(group.defaults.departments)),
        open_claims=group.open_claims,
        claimants=tuple(sorted(group.claimants)),
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
        "configuration_id": group.defaults.configuration_id,
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


def create_group(svc: Services, actor: Actor, group_id: str | None, given: GroupInput) -> NewGroup:
    """D1: a new group with a new secret and a secondary one (§5.1: for a later rotation,
    devices keyed with either activate), returned this once and sealed at rest. A group id
    is unique on the platform (devices send only it): a taken one is NameTaken, also when
    another creation takes it at the same moment. Without one, a random one is made."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    if group_id is None:
        random = base64.b32encode(svc.entropy(GENERATED_ID_BYTES)).decode("ascii")
        group_id = "g-" + random.rstrip("=").lower()
    public_id = check_group_id(group_id)
    secret = new_group_secret(svc.entropy(SECRET_BYTES))
    secondary = new_group_secret(svc.entropy(SECRET_BYTES))
    now = svc.clock.now()
    taken = NameTaken(
        f"The group id {public_id!r} is taken (group ids are unique on the platform).",
        fields={"group_id": "taken"},
    )
    try:
        with svc.uow() as uow:
            group = _group(uow, scope, given, id=svc.ids.new(), group_id=public_id, created=now)
            if uow.provisioning_groups.by_group_id(public_id) is not None:
                raise taken
            context = group_secret_context(group.id)
            group = replace(group, rotating=True)
            uow.provisioning_groups.add(
                group,
                svc.secrets.seal(secret, context=context),
                now,
                svc.secrets.seal(secondary, context=context),
            )
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
    except Conflict as clash:
        if type(clash) is Conflict and _group_id_taken(svc, public_id):
            raise taken from clash
        raise
    return NewGroup(group, secret, secondary)


def _group_id_taken(svc: Services, group_id: str) -> bool:
    with svc.uow(read_only=True) as uow:
        return uow.provisioning_groups.by_group_id(group_id) is not None


def update_group(
    svc: Services, actor: Actor, group_ref: str, given: GroupInput
) -> ProvisioningGroup:
    """D1: replace a group's settings and defaults with ``given`` (its ids and secrets
    stay)."""
    return _change(svc, actor, group_ref, lambda _: given)


def change_group(
    svc: Services, actor: Actor, group_ref: str, changes: Mapping[str, Any]
) -> ProvisioningGroup:
    """D1: change some of a group's settings (``changes`` by GroupInput's field names); the
    others stay as they are. A configuration given as JSON ends the group's link to a named
    one; a named one given replaces the JSON."""
    known = {f.name for f in fields(GroupInput)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise Invalid(f"No setting {unknown[0]!r}.", fields={unknown[0]: "unknown setting"})
    changes = dict(changes)
    if "configuration" in changes:
        changes.setdefault("configuration_id", None)
    elif changes.get("configuration_id"):
        changes["configuration"] = {}
    return _change(svc, actor, group_ref, lambda before: replace(group_input(before), **changes))


def _change(
    svc: Services,
    actor: Actor,
    group_ref: str,
    settings: Callable[[ProvisioningGroup], GroupInput],
) -> ProvisioningGroup:
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow() as uow:
        before = find_group(uow, scope, group_ref)
        after = _group(
            uow, scope, settings(before), id=before.id, group_id=before.group_id,
            created=before.created_at, before=before,
        )  # fmt: skip
        after = replace(after, rotating=before.rotating)
        if after != before:
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


def _held_secrets(uow: UnitOfWork, group_ref: str) -> tuple[str, str | None]:
    """The group's sealed secrets, its row held to the end of the transaction, so that a
    concurrent rotation (or finish) cannot overwrite a secret just handed out: it waits,
    then finds the primary changed and is refused (Conflict: try again). The hold is a
    compare-and-set of the primary onto itself."""
    primary, _ = uow.provisioning_groups.sealed_secrets(group_ref)
    if uow.provisioning_groups.reseal("secret", [(group_ref, primary, primary)]) != 1:
        raise Conflict("The group's secret was changed meanwhile; try again.")
    return uow.provisioning_groups.sealed_secrets(group_ref)


def rotate_group_secret(svc: Services, actor: Actor, group_ref: str) -> NewGroup:
    """D1: a new primary secret (returned this once); the old one becomes the secondary,
    so devices burned with keys of the old secret still activate until the rotation is
    finished. Rotating again while a rotation is under way drops the older secondary."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    secret = new_group_secret(svc.entropy(SECRET_BYTES))
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        context = group_secret_context(group.id)
        primary, _ = _held_secrets(uow, group.id)
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
        primary, secondary = _held_secrets(uow, group.id)
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


@dataclass(frozen=True)
class DerivedKey:
    """D2: what a manufacturer burns into one device: its group id, serial and key."""

    line: int
    group_id: str
    serial: str
    device_key: str


@dataclass(frozen=True)
class InvalidSerial:
    """A line of a list of serials that is not a serial, and why."""

    line: int
    text: str
    detail: str


class SerialListRefused(Invalid):
    """Some lines of a list of serials are not serials: no key was derived (D2)."""

    def __init__(self, invalid: int, lines: int) -> None:
        super().__init__(
            f"{invalid} of {lines} serial(s) are not valid; no key was derived.",
            fields={"serials": f"{invalid} invalid"},
        )
        self.invalid = invalid


def derive_keys(
    svc: Services,
    actor: Actor,
    group_ref: str,
    serials: Callable[[], Iterable[str]],
    *,
    on_invalid: Callable[[InvalidSerial], None] | None = None,
) -> Iterator[DerivedKey]:
    """D2: the device keys, under the group's primary secret, of a manufacturer's list of
    serials (one a line, blank lines skipped), for that list's lines in order.

    ``serials`` opens the list afresh each time it is called: it is read twice, in
    constant memory, whatever its length. First every line is checked, and each invalid
    one is told to ``on_invalid``; if any is, SerialListRefused and no key is derived.
    Then the keys are given one by one as the list is read again. Keys are secrets: only
    members who manage provisioning derive them, and each run is audited with its group
    and count."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow(read_only=True) as uow:
        group = find_group(uow, scope, group_ref)
    invalid = count = 0
    for number, raw in enumerate(serials(), start=1):
        if not raw.strip():
            continue
        count += 1
        try:
            check_serial(raw)
        except Invalid as error:
            invalid += 1
            if on_invalid is not None:
                on_invalid(InvalidSerial(number, raw.rstrip("\r\n"), error.detail))
    if invalid:
        raise SerialListRefused(invalid, count)
    if not count:
        raise Invalid("The list holds no serial.", fields={"serials": "empty"})
    with svc.uow() as uow:
        secret = group_secrets(svc, group, uow)[0]
        uow.record(
            actor,
            Change(
                "provisioning_group.keys_derived",
                Target("provisioning_group", group.id),
                after={"count": count},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return _keys(group.group_id, secret, serials())


def _keys(group_id: str, secret: str, lines: Iterable[str]) -> Iterator[DerivedKey]:
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            serial = check_serial(raw)
            yield DerivedKey(number, group_id, serial, device_key(secret, serial))
