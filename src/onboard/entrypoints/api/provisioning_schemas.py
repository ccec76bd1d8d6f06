"""Request and response bodies of the provisioning part of the members' API: environments
and provisioning groups (SPEC P2, D1, §5.1 Part D field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from onboard.entrypoints.api import schemas as s

ModeName = Literal["preregistered", "open"]
AllocationName = Literal["static", "weighted", "hashed"]
ReprovisionName = Literal["migrate", "reset", "never"]
StatusName = Literal["up", "down"]
# The domain's rule (domain.provisioning.check_group_id), so generated clients know it too.
GROUP_ID_PATTERN = r"^\s*[a-z0-9][a-z0-9-]{2,63}\s*$"
GroupId = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=GROUP_ID_PATTERN,
        description="Public, burned into the devices: 3 to 64 of a-z, 0-9 and '-', starting "
        "with a letter or digit; unique on the platform.",
    ),
]
EnvironmentName = Annotated[str, Field(min_length=1, max_length=100, pattern=s.NO_NUL)]
JsonObject = Annotated[
    dict[Annotated[str, Field(max_length=200)], Any],
    Field(description="A JSON object, at most 64 KiB."),
]


class EnvironmentPublic(BaseModel):
    """A deployment target devices connect to (P2), defined by the operator."""

    name: str
    region: str | None
    api_url: str
    mqtt_url: str
    status: StatusName = Field(description="Activations skip an environment that is down.")
    weight: int = Field(description="Its share under weighted allocation (0: never chosen).")


class RegistrationPublic(BaseModel):
    """A serial registered in a group (D3) and, once its device activated, its twin (D4)."""

    id: str
    serial: str
    attributes: dict[str, Any] = Field(description="What its twin starts with, over the group's.")
    enabled: bool = Field(description="False: its device's activation is refused (D4).")
    disabled: bool = Field(description="The opposite of `enabled`.")
    device_id: str | None
    activated_at: datetime | None
    reprovision_pending: bool = Field(
        description="Moved (D6) and not yet told: its next check-in answers `reprovision`."
    )
    created_at: datetime


class DeviceProvisioningPublic(BaseModel):
    """How a device came through provisioning (D4-D7)."""

    group_id: str | None = Field(description="The public group id of the group it came through.")
    registration: RegistrationPublic | None = Field(
        description="The registration of its hardware; null once a reset (D6) took that "
        "hardware to a new twin."
    )
    environment: EnvironmentPublic | None = Field(description="Where it was sent to connect.")
    history: list[s.TimelineEntryPublic] = Field(
        description="Its activations, reprovisionings, replacements and onboarding, newest "
        "first (the latest 50)."
    )


_DESCRIPTIONS = {
    "mode": "preregistered: only serials registered in advance activate; open: any serial "
    "with a valid device key (D3).",
    "allocation": "How an activating device's environment is chosen among the group's, "
    "skipping those down (D4).",
    "reprovision_policy": "What moving a device does to its twin's data (D6).",
    "environments": "Environment names, in order (the first up one under static).",
    "template_id": "Template of the devices it makes.",
    "configuration": "Configuration its devices get at activation.",
    "configuration_id": "A named configuration of yours (POST /configurations), given instead "
    "of `configuration`: its body is the group's configuration.",
    "initial_attributes": "Attributes its devices start with, typed by the template.",
    "departments": "Departments of its devices. Default: yours, or none when you work in "
    "every department.",
    "claimable": "Whether any organization may claim its devices by QR (D5).",
    "claimants": "Organization ids besides yours that may claim its devices by QR (D5).",
}


class GroupSettings(s.Body):
    """A group's settings and defaults (D1); what is left out takes its default."""

    name: s.Name
    mode: ModeName = Field("preregistered", description=_DESCRIPTIONS["mode"])
    allocation: AllocationName = Field("static", description=_DESCRIPTIONS["allocation"])
    reprovision_policy: ReprovisionName = Field(
        "migrate", description=_DESCRIPTIONS["reprovision_policy"]
    )
    environments: Annotated[list[EnvironmentName], Field(max_length=100)] = Field(
        default_factory=list, description=_DESCRIPTIONS["environments"]
    )
    template_id: s.Ident | None = Field(None, description=_DESCRIPTIONS["template_id"])
    configuration: JsonObject = Field(
        default_factory=dict, description=_DESCRIPTIONS["configuration"]
    )
    configuration_id: s.Ident | None = Field(None, description=_DESCRIPTIONS["configuration_id"])
    initial_attributes: s.Attributes = Field(
        default_factory=dict, description=_DESCRIPTIONS["initial_attributes"]
    )
    departments: s.DepartmentIds | None = Field(None, description=_DESCRIPTIONS["departments"])
    claimable: bool = Field(False, description=_DESCRIPTIONS["claimable"])
    claimants: Annotated[list[s.Ident], Field(max_length=100)] = Field(
        default_factory=list, description=_DESCRIPTIONS["claimants"]
    )


class GroupCreate(GroupSettings):
    group_id: GroupId | None = Field(
        None, description="Public id burned into the devices; a random one when left out."
    )


class GroupUpdate(s.Body):
    """The settings to change; those left out stay as they are."""

    name: s.Name | None = None
    mode: ModeName | None = Field(None, description=_DESCRIPTIONS["mode"])
    allocation: AllocationName | None = Field(None, description=_DESCRIPTIONS["allocation"])
    reprovision_policy: ReprovisionName | None = Field(
        None, description=_DESCRIPTIONS["reprovision_policy"]
    )
    environments: Annotated[list[EnvironmentName], Field(max_length=100)] | None = Field(
        None, description=_DESCRIPTIONS["environments"]
    )
    template_id: s.Ident | None = Field(
        None, description=_DESCRIPTIONS["template_id"] + " null: none."
    )
    configuration: JsonObject | None = Field(None, description=_DESCRIPTIONS["configuration"])
    configuration_id: s.Ident | None = Field(
        None,
        description=_DESCRIPTIONS["configuration_id"] + " null: the configuration stays, "
        "no longer linked to the named one.",
    )
    initial_attributes: s.Attributes | None = Field(
        None, description=_DESCRIPTIONS["initial_attributes"]
    )
    departments: s.DepartmentIds | None = Field(None, description=_DESCRIPTIONS["departments"])
    claimable: bool | None = Field(None, description=_DESCRIPTIONS["claimable"])
    claimants: Annotated[list[s.Ident], Field(max_length=100)] | None = Field(
        None, description=_DESCRIPTIONS["claimants"]
    )


class GroupPublic(BaseModel):
    """A provisioning group (D1), never with its secrets."""

    id: str
    group_id: str
    name: str
    mode: ModeName
    allocation: AllocationName
    reprovision_policy: ReprovisionName
    environments: list[str] = Field(description="Environment names, in order.")
    template_id: str | None
    configuration: dict[str, Any]
    configuration_id: str | None = Field(
        description="The named configuration the configuration is the body of, if any."
    )
    initial_attributes: dict[str, Any]
    departments: list[str]
    claimable: bool
    claimants: list[str]
    rotating: bool = Field(
        description="Whether a secondary secret is held (made with the group, or the "
        "previous secret after a rotation): keys of it activate too until finish-rotation."
    )
    created_at: datetime


class GroupWithSecret(GroupPublic):
    secret: str = Field(
        description="The group's secret (32 random bytes, base64): shown this once, never "
        "again. Device keys are derived from it (D2)."
    )


class GroupCreated(GroupWithSecret):
    secondary_secret: str | None = Field(
        description="The secondary secret, shown this once too: devices keyed with it "
        "activate as well; a rotation makes a new secret the primary and the old primary "
        "the secondary (D1)."
    )
