"""The provisioning group form of the back office (SPEC D1): every setting of a group as
the browser sends it (environments ticked and ordered by position, configuration and
initial attributes as JSON, claimant organizations), the choices it offers, the labels
of the modes and policies, and its errors next to their fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form

from onboard.domain.access import Actor
from onboard.domain.errors import DepartmentForbidden, Invalid, NameTaken
from onboard.domain.provisioning import (
    AllocationPolicy,
    ProvisioningGroup,
    RegistrationMode,
    ReprovisionPolicy,
)
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.device_views import all_configurations, all_templates
from onboard.entrypoints.web.forms import Choices, Text
from onboard.entrypoints.web.rendering import FormErrors, form_errors
from onboard.services.ports import Services
from onboard.services.provisioning.environments import list_environments
from onboard.services.provisioning.groups import MAX_DEFAULTS_JSON, GroupInput

# A JSON field of the form: at most what the service accepts, 64 KiB.
JsonText = Annotated[str, Form(max_length=MAX_DEFAULTS_JSON)]
LongText = Annotated[str, Form(max_length=10_000)]

MODES = {
    RegistrationMode.PREREGISTERED: (
        "Pre-registered",
        "only serials registered in the group in advance activate",
    ),
    RegistrationMode.OPEN: ("Open", "any serial with a valid device key activates"),
}
ALLOCATIONS = {
    AllocationPolicy.STATIC: ("Static", "the first of its environments, in order, that is up"),
    AllocationPolicy.WEIGHTED: ("Weighted", "at random, in proportion to the weights"),
    AllocationPolicy.HASHED: ("Hashed", "by serial: a device keeps its environment while up"),
}
REPROVISIONS = {
    ReprovisionPolicy.MIGRATE: ("Migrate", "a reprovisioned device keeps its twin's data"),
    ReprovisionPolicy.RESET: ("Reset", "its twin goes back to the group's initial state"),
    ReprovisionPolicy.NEVER: ("Never", "reprovisioning is refused"),
}


def labels() -> dict[str, Any]:
    return {"modes": MODES, "allocations": ALLOCATIONS, "reprovisions": REPROVISIONS}


# --- the form -----------------------------------------------------------------------------


def _json(text: str, field: str) -> Any:
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Invalid(
            f"The {field} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}.",
            fields={field: f"not JSON: line {error.lineno}, column {error.colno}"},
        ) from None


def dumped(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value else ""


@dataclass(frozen=True)
class Draft:
    """The group form as it was filled in; environments by name, in the chosen order."""

    group_id: str = ""
    name: str = ""
    registration_mode: str = RegistrationMode.PREREGISTERED.value
    allocation_policy: str = AllocationPolicy.STATIC.value
    reprovision_policy: str = ReprovisionPolicy.MIGRATE.value
    environments: tuple[str, ...] = ()
    template_id: str = ""
    departments: tuple[str, ...] = ()
    configuration: str = ""
    configuration_id: str = ""
    attributes: str = ""
    open_claims: bool = False
    claimants: str = ""

    @classmethod
    def of(cls, group: ProvisioningGroup, names: dict[str, str]) -> Draft:
        return cls(
            group.group_id,
            group.name,
            group.registration_mode.value,
            group.allocation_policy.value,
            group.reprovision_policy.value,
            tuple(names.get(i, i) for i in group.environment_ids),
            group.defaults.template_id or "",
            tuple(sorted(group.defaults.departments)),
            dumped(group.defaults.configuration),
            group.defaults.configuration_id or "",
            dumped(group.defaults.attributes),
            group.open_claims,
            "\n".join(sorted(group.claimants)),
        )

    def settings(self, *, new: bool) -> GroupInput:
        """The settings for the use case; JSON that does not parse is refused here."""
        return GroupInput(
            name=self.name,
            registration_mode=self.registration_mode,
            allocation_policy=self.allocation_policy,
            reprovision_policy=self.reprovision_policy,
            environments=self.environments,
            template_id=self.template_id or None,
            # A named configuration chosen is the configuration: the JSON box is not read.
            configuration={}
            if self.configuration_id
            else _json(self.configuration, "configuration"),
            configuration_id=self.configuration_id or None,
            attributes=_json(self.attributes, "attributes"),
            departments=(self.departments or None) if new else self.departments,
            open_claims=self.open_claims,
            claimants=tuple(c for c in self.claimants.replace(",", " ").split() if c),
        )


def _ordered(chosen: list[str], offered: list[str], positions: list[str]) -> tuple[str, ...]:
    """The environments ticked, by the positions typed next to them (then as listed)."""
    rank: dict[str, tuple[int, int]] = {}
    for index, name in enumerate(offered):
        typed = positions[index].strip() if index < len(positions) else ""
        if typed and not typed.isdigit():
            raise Invalid(
                "An environment's position is a whole number.",
                fields={"environments": "positions are whole numbers"},
            )
        rank[name] = (int(typed) if typed else len(offered) + 1, index)
    return tuple(sorted(dict.fromkeys(chosen), key=lambda n: rank.get(n, (len(offered) + 1, 0))))


@dataclass(frozen=True)
class Filled:
    """What the form sent, or why its environments' positions could not be read."""

    draft: Draft
    problem: Invalid | None = None


def _filled(
    group_id: Text = "",
    name: Text = "",
    registration_mode: Text = "",
    allocation_policy: Text = "",
    reprovision_policy: Text = "",
    environments: Choices = None,
    offered: Choices = None,
    positions: Choices = None,
    template_id: Text = "",
    departments: Choices = None,
    configuration: JsonText = "",
    configuration_id: Text = "",
    attributes: JsonText = "",
    open_claims: Text = "",
    claimants: LongText = "",
) -> Filled:
    chosen = [e for e in environments or [] if e]
    problem: Invalid | None = None
    try:
        ordered = _ordered(chosen, offered or [], positions or [])
    except Invalid as refused:
        ordered, problem = tuple(chosen), refused
    draft = Draft(
        group_id, name, registration_mode, allocation_policy, reprovision_policy, ordered,
        template_id, tuple(d for d in departments or [] if d), configuration, configuration_id,
        attributes,
        bool(open_claims), claimants,
    )  # fmt: skip
    return Filled(draft, problem)


GroupForm = Annotated[Filled, Depends(_filled)]


def group_form_errors(refused: Invalid | NameTaken | DepartmentForbidden) -> FormErrors:
    """The form's errors; an attribute the template refuses is shown at the attributes."""
    found = form_errors(refused)
    fields = dict(found.fields)
    for name in [n for n in fields if n.startswith("attributes.")]:
        fields.setdefault("attributes", f"{name.removeprefix('attributes.')}: {fields[name]}")
    return FormErrors(found.message, fields)


def group_form_context(svc: Services, actor: Actor, draft: Draft) -> dict[str, Any]:
    """The choices of the group form: environments (the draft's first, in its order),
    templates and departments."""
    environments = list_environments(svc, actor)
    position = {name: n for n, name in enumerate(draft.environments, start=1)}
    offered = sorted(environments, key=lambda e: (position.get(e.name, len(position) + 1), e.name))
    return {
        "draft": draft,
        "offered": offered,
        "positions": position,
        "templates": all_templates(svc, actor),
        "configurations": all_configurations(svc, actor),
        "departments": all_departments(svc, actor),
        **labels(),
    }
