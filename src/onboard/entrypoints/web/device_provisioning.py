"""The "Provisioning" card of a device's overview: the group it came through, its serial,
registration state and environment, its activations, reprovisionings and replacements
from its timeline; and replacing its hardware from there (SPEC D4-D7)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import AuditEntry
from onboard.domain.devices import Device
from onboard.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from onboard.domain.provisioning import Environment
from onboard.entrypoints import http
from onboard.entrypoints.web.forms import CsrfField, Text
from onboard.entrypoints.web.rendering import redirect
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import devices, records
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.environments import list_environments
from onboard.services.provisioning.replacement import replace_device

router = web_router()

QueryText = Annotated[str, Query(max_length=1000)]

# The timeline's entries about how the device's hardware came and went (D4-D7).
ACTIONS = {
    "device.activated": "Activated",
    "device.reactivated": "Activated again",
    "device.reprovisioned": "Reprovisioned",
    "device.replaced": "Hardware replaced",
    "device.onboarded": "Onboarded",
}
# What replacing hardware may refuse, shown at the form: a serial not registered or
# disabled (403), one with a twin already (409), one that is not a serial or the same
# (422), a group not found (404).
REFUSED = (Invalid, Forbidden, Conflict, NotFound)
TIMELINE_PAGE = 500
# How far back the card reads a device's timeline on each view of the overview.
TIMELINE_PAGES = 4


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


def _entries(svc: Services, actor: Actor, device_id: str) -> Iterator[AuditEntry]:
    """The device's provisioning entries among its newest TIMELINE_PAGES pages of
    timeline, newest first."""
    after: str | None = None
    for _ in range(TIMELINE_PAGES):
        page = records.device_timeline(svc, actor, device_id, PageRequest(after, TIMELINE_PAGE))
        yield from (e for e in page.items if e.action in ACTIONS)
        if page.next_after is None:
            return
        after = page.next_after


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


def _state(newest: AuditEntry) -> str:
    return {
        "device.replaced": "Waiting for the new hardware to activate",
        "device.onboarded": "Onboarded, not activated yet",
        "device.reprovisioned": "Reprovisioned",
    }.get(newest.action, "Activated")


def _newest(entries: list[AuditEntry], key: str) -> str | None:
    """The newest value of ``key`` among the entries' "after" sides."""
    for entry in entries:
        value = (entry.after or {}).get(key)
        if value:
            return str(value)
    return None


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
    entries = list(_entries(svc, actor, device.id))
    if not entries:
        return {"provisioned": None}
    environments: dict[str, Environment] = {e.name: e for e in list_environments(svc, actor)}
    names = {e.id: e.name for e in environments.values()}
    group_id = _newest(entries, "group_id")
    environment = _newest(entries, "environment")
    activated = None
    for entry in entries:
        if entry.action == "device.replaced":
            break
        if entry.action in ("device.activated", "device.reactivated"):
            activated = entry.at
            break
    return {
        "provisioned": {
            "group_id": group_id,
            "group_url": _group_link(svc, actor, group_id),
            "serial": device.serial,
            "state": _state(entries[0]),
            "environment_name": environment,
            "environment": environments.get(environment or ""),
            "activated_at": activated,
            "history": [_happened(e, names) for e in entries],
        },
        "can_replace": actor.can(Permission.EDIT_DEVICES),
        "replacing": replacing or Replacing(),
    }


def _overview(
    request: Request, svc: Services, actor: Actor, device_id: str, replacing: Replacing
) -> Response:
    # Imported here: the overview imports this module for its card.
    from onboard.entrypoints.web import device_overview

    return device_overview.overview_page(request, svc, actor, device_id, replacing=replacing)


@router.get("/devices/{device_id}/replace")
def confirm_replacement(
    request: Request, svc: Svc, actor: MemberActor, device_id: str, serial: QueryText = "",
    group: QueryText = "",
) -> Response:  # fmt: skip
    """D7: the confirmation step of "Replace hardware", on the device's overview."""
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.EDIT_DEVICES)
    if not serial.strip():
        error = Invalid("Give the new hardware's serial.", fields={"serial": "required"})
        return _overview(request, svc, actor, device.id, Replacing(serial, group, error=error))
    return _overview(
        request, svc, actor, device.id, Replacing(serial.strip(), group.strip(), confirming=True)
    )


@router.post("/devices/{device_id}/replace")
def replace(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    device_id: str,
    csrf: CsrfField = "",
    serial: Text = "",
    group: Text = "",
) -> Response:
    """D7, after confirmation: the twin is now the hardware with the new serial, which
    activates into it; the old serial's credential stops at once."""
    http.check_csrf(request, csrf)
    device = devices.get_device(svc, actor, device_id)
    actor.require(Permission.EDIT_DEVICES)
    try:
        replaced = replace_device(svc, actor, device.id, serial=serial, group=group.strip() or None)
    except REFUSED as error:
        return _overview(request, svc, actor, device.id, Replacing(serial, group, error=error))
    return redirect(
        request,
        f"/devices/{device.id}",
        notice=f"Now serial {replaced.serial}: activate the new hardware.",
    )
