"""Audit entries and domain events: the record of every change (SPEC P8, P9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
