"""The audit log and the event outbox are written with the change, or not at all (P8, P9)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from onboard.adapters.db.tables import audit_entries, outbox_events
from onboard.bootstrap import Container
from onboard.domain.errors import NameTaken
from onboard.services import audit, departments, members
from onboard.services.common import member_actor
from onboard.services.ports import AuditFilter, PageRequest
from tests.factories import make_department, make_member, make_org


def counts(container: Container) -> tuple[int, int]:
    with container.engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(audit_entries)).scalar_one()
        events = conn.execute(select(func.count()).select_from(outbox_events)).scalar_one()
    return entries, events


def test_every_change_writes_one_audit_entry_and_one_event(container: Container) -> None:
    org = make_org(container.services)
    before = counts(container)

    department = make_department(container.services, org, name="Workshop")

    assert counts(container) == (before[0] + 1, before[1] + 1)
    page = audit.list_audit(container.services, org.actor, AuditFilter(), PageRequest())
    newest = page.items[0]
    assert newest.action == "department.created"
    assert newest.target_id == department.id
    assert newest.after == {"name": "Workshop"}
    assert newest.actor_id == org.admin.id
    with container.engine.connect() as conn:
        event = conn.execute(select(outbox_events).order_by(outbox_events.c.id.desc())).first()
    assert event is not None
    assert event.type == "department.created"
    assert event.published_at is None


def test_a_refused_change_leaves_neither_entry_nor_event(container: Container) -> None:
    org = make_org(container.services)
    make_department(container.services, org, name="Workshop")
    before = counts(container)

    with pytest.raises(NameTaken):
        departments.create_department(container.services, org.actor, name="Workshop")

    assert counts(container) == before


def test_updates_record_the_state_before_and_after(container: Container) -> None:
    org = make_org(container.services)
    member = make_member(container.services, org, roles=["viewer"])

    members.update_member(container.services, org.actor, member.id, roles=["technician", "viewer"])

    entry = audit.list_audit(
        container.services, org.actor, AuditFilter(action="member.updated"), PageRequest()
    ).items[0]
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["roles"] == ["viewer"]
    assert entry.after["roles"] == ["technician", "viewer"]


def test_filters_narrow_the_log_by_action_prefix_target_and_actor(container: Container) -> None:
    org = make_org(container.services)
    department = make_department(container.services, org)
    make_member(container.services, org, roles=["viewer"])

    def actions(**filters: str) -> list[str]:
        page = audit.list_audit(
            container.services, org.actor, AuditFilter(**filters), PageRequest()
        )
        return [e.action for e in page.items]

    assert actions(action="member") == ["member.created", "member.created"]
    assert actions(target=department.id) == ["department.created"]
    assert set(actions(actor=org.admin.email)) == {"department.created", "member.created"}


def test_a_restricted_member_sees_only_entries_about_their_departments(
    container: Container,
) -> None:
    org = make_org(container.services)
    north, south = (
        make_department(container.services, org),
        make_department(container.services, org),
    )
    make_member(container.services, org, roles=["viewer"], departments=[south.id])
    auditor = make_member(container.services, org, roles=["viewer"], departments=[north.id])

    page = audit.list_audit(
        container.services, member_actor(auditor), AuditFilter(), PageRequest(limit=200)
    )

    targets = {e.target_id for e in page.items}
    assert north.id in targets
    assert auditor.id in targets
    assert south.id not in targets
    assert org.organization.id not in targets
