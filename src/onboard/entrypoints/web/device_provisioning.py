"""The "Provisioning" card of a device's overview: the group it came through, its serial,
registration state and environment, its activations, reprovisionings and replacements
(SPEC D4-D7). Its "Replace hardware" form posts to device_replacement.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onboard.domain.access import Actor
from onboard.domain.audit import AuditEntry
from onboard.domain.devices import Device
from onboard.domain.errors import DomainError, NotFound
from onboard.services.ports import Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.environments import list_environments
from onboard.services.provisioning.registrations import (
    PROVISIONING_ACTIONS,
    DeviceProvisioning,
    provisioning_of_device,
)
from onboard.services.provisioning.replacement import REPLACERS

# The history's words for the timeline's provisioning entries (D4-D7).
ACTIONS = dict(
    zip(
        PROVISIONING_ACTIONS,
        ("Activated", "Activated again", "Reprovisioned", "Hardware replaced", "Onboarded"),
        strict=True,
    )
)


@dataclass(frozen=True)
class Replacing:
    """The "Replace hardware" form as it was filled in, and where it stands: being
    confirmed, or refused."""

    serial: str = ""
    group: str = ""
    confirming: bool = False
    error: DomainError | None = None


@dataclass(frozen=True)
class Happened:
    """One row of the card's history: when, what, and what changed."""

    at: datetime
    what: str
    before: str
    after: str


def _text(*parts: tuple[str, Any]) -> str:
    return " · ".join(f"{label} {value}" for label, value in parts if value)


def _happened(entry: AuditEntry, names: dict[str, str]) -> Happened:
    before, after = entry.before or {}, entry.after or {}
    if entry.action == "device.replaced":
        was = _text(("serial", before.get("serial")))
        now = _text(("serial", after.get("serial")), ("group", after.get("group_id")))
    elif entry.action == "device.reprovisioned":
        old = before.get("environment_id")
        was = _text(("environment", names.get(old, old) if old else None))
        now = _text(("environment", after.get("environment")))
    else:
        was = ""
        now = _text(
            ("serial", after.get("serial")),
            ("group", after.get("group_id")),
            ("environment", after.get("environment")),
        )
    return Happened(entry.at, ACTIONS[entry.action], was, now)


def _state(found: DeviceProvisioning) -> str:
    """The registration's state in words (D3-D7)."""
    registration = found.registration
    if registration is None:
        return "Its hardware left it for a new twin (reset)"
    if registration.disabled:
        return "Disabled: its activations are refused"
    if registration.reprovision_pending:
        return "Reprovisioned: the device learns it at its next check-in"
    if registration.activated_at is not None:
        return "Activated"
    newest = found.history[0].action if found.history else None
    if newest == "device.replaced":
        return "Waiting for the new hardware to activate"
    if newest == "device.onboarded":
        return "Onboarded, not activated yet"
    return "Not activated yet"


def _group_link(svc: Services, actor: Actor, group_id: str | None) -> str | None:
    """The group's page, when it is the member's organization's (a device claimed from
    another organization's group has none here, D5)."""
    if not group_id:
        return None
    try:
        return f"/provisioning/{groups.find_group_now(svc, actor, group_id).id}"
    except NotFound:
        return None


def provisioning_card(
    svc: Services, actor: Actor, device: Device, replacing: Replacing | None = None
) -> dict[str, Any]:
    """What the overview's "Provisioning" card shows of a device that came through a
    provisioning group (``provisioned`` is None for any other device): its group,
    serial, registration state, environment, when it activated, and its history."""
    found = provisioning_of_device(svc, actor, device.id)
    if found is None:
        return {"provisioned": None}
    names = {e.id: e.name for e in list_environments(svc, actor)}
    registration = found.registration
    return {
        "provisioned": {
            "group_id": found.group_id,
            "group_url": _group_link(svc, actor, found.group_id),
            "serial": registration.serial if registration else device.serial,
            "state": _state(found),
            "environment": found.environment,
            "activated_at": registration.activated_at if registration else None,
            "history": [_happened(e, names) for e in found.history],
        },
        "can_replace": registration is not None and actor.can_any(*REPLACERS),
        "replacing": replacing or Replacing(),
    }
