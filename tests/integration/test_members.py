"""Members, roles and departments through the use cases, on SQLite and PostgreSQL (P4, P5)."""

from __future__ import annotations

import pytest

from onboard.domain.errors import DepartmentForbidden, EmailTaken, LastAdministrator, NotFound
from onboard.services import members
from onboard.services.common import member_actor
from onboard.services.ports import PageRequest, Services
from tests.factories import make_department, make_member, make_org


def test_a_restricted_member_sees_only_members_of_their_departments(svc: Services) -> None:
    org = make_org(svc)
    north, south = make_department(svc, org), make_department(svc, org)
    in_north = make_member(svc, org, roles=["viewer"], departments=[north.id])
    in_south = make_member(svc, org, roles=["viewer"], departments=[south.id])
    restricted = member_actor(
        make_member(svc, org, roles=["administrator"], departments=[north.id])
    )

    seen = {m.id for m in members.list_members(svc, restricted, PageRequest()).items}

    assert in_north.id in seen
    assert in_south.id not in seen
    assert org.admin.id not in seen, "members of all departments are hidden from restricted"
    with pytest.raises(NotFound):
        members.get_member(svc, restricted, in_south.id)


def test_a_restricted_administrator_cannot_grant_departments_outside_their_own(
    svc: Services,
) -> None:
    org = make_org(svc)
    north, south = make_department(svc, org), make_department(svc, org)
    restricted = member_actor(make_member(svc, org, departments=[north.id]))

    with pytest.raises(DepartmentForbidden):
        members.add_member(
            svc, restricted, email="x@example.com", roles=["viewer"], departments=[south.id]
        )
    created = members.add_member(
        svc, restricted, email="y@example.com", roles=["viewer"], departments=None
    )
    assert created.member.departments == frozenset({north.id})


def test_the_last_unrestricted_administrator_cannot_be_removed_or_demoted(svc: Services) -> None:
    org = make_org(svc)

    with pytest.raises(LastAdministrator):
        members.remove_member(svc, org.actor, org.admin.id)
    with pytest.raises(LastAdministrator):
        members.update_member(svc, org.actor, org.admin.id, roles=["viewer"])

    make_member(svc, org, roles=["administrator"])
    members.update_member(svc, org.actor, org.admin.id, roles=["viewer"])


def test_adding_the_same_person_twice_is_refused_but_other_organizations_may_add_them(
    svc: Services,
) -> None:
    first, second = make_org(svc), make_org(svc)
    person = make_member(svc, first, roles=["technician"], email="tech@example.com")

    with pytest.raises(EmailTaken):
        make_member(svc, first, email="tech@example.com")
    again = members.add_member(
        svc, second.actor, email="tech@example.com", roles=["viewer"], departments=None
    )

    assert again.member.person_id == person.person_id
    assert again.one_time_password is None
