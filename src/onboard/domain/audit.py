"""Audit entries and domain events: the record of every change (SPEC P8, P9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onboard.domain.access import Actor


@dataclass(frozen=True)
class Target:
    """What a change touched: its type, id, and the departments that may see it."""

    type: str
    id: str
    departments: frozenset[str] | None = None


@dataclass(frozen=True)
class Change:
    """One change: the action in past tense (``member.created``), its target and states."""

    action: str
    target: Target
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # The device whose lifecycle timeline (A3) shows this change; a change whose target
    # is a device belongs to that device's timeline without saying so.
    device_id: str | None = None

    @property
    def timeline_device(self) -> str | None:
        return self.device_id or (self.target.id if self.target.type == "device" else None)


@dataclass(frozen=True)
class AuditEntry:
    id: str
    organization_id: str | None
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source_ip: str | None
    departments: frozenset[str] | None = field(default=None)
    device_id: str | None = field(default=None)


@dataclass(frozen=True)
class Event:
    """A typed event for the outbox, named in past tense on the wire (``member.created``)."""

    id: str
    organization_id: str | None
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


def entry_of(
    entry_id: str, at: datetime, actor: Actor, change: Change, organization_id: str | None
) -> AuditEntry:
    """The audit entry of one change by ``actor`` (P8)."""
    return AuditEntry(
        id=entry_id,
        organization_id=organization_id,
        at=at,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label,
        action=change.action,
        target_type=change.target.type,
        target_id=change.target.id,
        before=change.before,
        after=change.after,
        source_ip=actor.source_ip,
        departments=change.target.departments,
        device_id=change.timeline_device,
    )


def event_of(
    event_id: str, at: datetime, actor: Actor, change: Change, organization_id: str | None
) -> Event:
    """The outbox event of one change (P9): its type is the change's action."""
    return Event(
        id=event_id,
        organization_id=organization_id,
        type=change.action,
        occurred_at=at,
        payload={
            "target": {"type": change.target.type, "id": change.target.id},
            "actor": {"kind": actor.kind.value, "id": actor.id},
            "before": change.before,
            "after": change.after,
        },
    )
