"""Reprovisioning through the use cases, on SQLite and PostgreSQL (SPEC D6): each policy,
member-started (within and between organizations), device-started when its environment
is down, and what the device learns at its next check-in or activation. Its group id,
secret and serial never change: the same device key activates it wherever it goes."""

from __future__ import annotations

import pytest

from onboard.domain.errors import (
    Conflict,
    Invalid,
    NotFound,
    PermissionDenied,
    ReprovisionRefused,
)
from onboard.domain.provisioning import Registration
from onboard.services import codes, members, pairing, records
from onboard.services.auth import authenticate_token
from onboard.services.common import member_actor
from onboard.services.devices import get_device, update_device
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import checkin
from onboard.services.provisioning.environments import set_environment_status
from onboard.services.provisioning.reprovisioning import reprovision_device
from tests.factories import PASSWORD, Org, make_department, make_member, make_org, token_for
from tests.provisioning import activated, environment, new_group, register


def _registration_of(svc: Services, device_id: str) -> Registration | None:
    with svc.uow() as uow:
        return uow.registrations.of_device(device_id)


def test_migrate_moves_the_device_to_another_environment_which_it_learns_at_check_in(
    svc: Services, org: Org
) -> None:
    """D6, migrate: the same twin; the next check-in says `reprovision` with where to;
    activating again (same key) lands there and the command is no longer pending."""
    first, second = environment(svc), environment(svc)
    made = new_group(svc, org, environments=(first, second), reprovision_policy="migrate")
    register(svc, made, "SN-1")
    done = activated(svc, made, "SN-1")
    assert done.environment is not None
    assert done.environment.name == first

    moved = reprovision_device(svc, org.actor, done.device_id, environment=second)

    assert (moved.device_id, moved.policy.value) == (done.device_id, "migrate")
    held = checkin.holder(svc, done.credential)
    assert held is not None
    told = checkin.checkin(svc, held, configuration_etag_held=None)
    (command,) = told.commands
    assert command.type == "reprovision"
    assert command.params["environment"]["name"] == second
    again = activated(svc, made, "SN-1")
    assert again.device_id == done.device_id
    assert again.environment is not None
    assert again.environment.name == second
    fresh = checkin.holder(svc, again.credential)
    assert fresh is not None
    assert checkin.checkin(svc, fresh, configuration_etag_held=None).commands == ()
    history = records.device_timeline(svc, org.actor, done.device_id, PageRequest())
    assert "device.reprovisioned" in [e.action for e in history.items]


def test_reset_starts_a_new_twin_from_the_groups_defaults_and_leaves_the_old_one(
    svc: Services, org: Org
) -> None:
    first, second = environment(svc), environment(svc)
    made = new_group(
        svc, org, environments=(first, second), reprovision_policy="reset",
        attributes={"fw": "1.0"},
    )  # fmt: skip
    register(svc, made, "SN-2")
    done = activated(svc, made, "SN-2")
    update_device(svc, org.actor, done.device_id, {"name": "Renamed", "attributes": {"fw": "9"}})

    moved = reprovision_device(svc, org.actor, done.device_id, environment=second)

    assert moved.device_id != done.device_id
    fresh = get_device(svc, org.actor, moved.device_id)
    assert (fresh.name, fresh.serial, fresh.attributes) == ("SN-2", "SN-2", {"fw": "1.0"})
    assert get_device(svc, org.actor, done.device_id).name == "Renamed"
    again = activated(svc, made, "SN-2")
    assert (again.device_id, again.first) == (moved.device_id, False)


def test_never_refuses_and_changes_nothing(svc: Services, org: Org) -> None:
    first, second = environment(svc), environment(svc)
    made = new_group(svc, org, environments=(first, second), reprovision_policy="never")
    register(svc, made, "SN-3")
    done = activated(svc, made, "SN-3")

    with pytest.raises(ReprovisionRefused):
        reprovision_device(svc, org.actor, done.device_id, environment=second)

    registration = _registration_of(svc, done.device_id)
    assert registration is not None
    assert not registration.reprovision_pending


def test_a_device_whose_environment_is_down_is_moved_as_it_activates_unless_never(
    svc: Services, org: Org
) -> None:
    """D6, started by the device: activating while its environment is down moves it to
    one that is up (migrate), or is refused `reprovision_refused` (never)."""
    first, second = environment(svc), environment(svc)
    moving = new_group(svc, org, environments=(first, second), reprovision_policy="migrate")
    staying = new_group(svc, org, environments=(first, second), reprovision_policy="never")
    register(svc, moving, "SN-4")
    register(svc, staying, "SN-5")
    done = activated(svc, moving, "SN-4")
    activated(svc, staying, "SN-5")
    set_environment_status(svc, first, up=False)

    again = activated(svc, moving, "SN-4")
    assert again.device_id == done.device_id
    assert again.environment is not None
    assert again.environment.name == second
    with pytest.raises(ReprovisionRefused):
        activated(svc, staying, "SN-5")
    history = records.device_timeline(svc, org.actor, done.device_id, PageRequest())
    assert "device.reprovisioned" in [e.action for e in history.items]


def test_migrate_to_another_organization_takes_an_administrator_of_both(
    svc: Services, org: Org
) -> None:
    """D6: the twin goes with its name and attributes; its code and departments stay with
    the organization it leaves; the same device key activates it in the new one."""
    department = make_department(svc, org)
    made = new_group(svc, org, environments=(environment(svc),), departments=(department.id,))
    register(svc, made, "SN-6")
    done = activated(svc, made, "SN-6")
    (code,) = codes.create_codes(svc, org.actor)
    pairing.pair_code(svc, org.actor, code.token, done.device_id)
    other = make_org(svc)
    only_here = member_actor(make_member(svc, org, roles=["administrator"]))
    with pytest.raises(PermissionDenied):
        reprovision_device(svc, only_here, done.device_id, organization=other.organization.id)
    members.add_member(
        svc,
        other.actor,
        email=org.admin.email,
        roles=["administrator"],
        departments=None,
        password=PASSWORD,
    )

    moved = reprovision_device(svc, org.actor, done.device_id, organization=other.organization.id)

    assert (moved.device_id, moved.organization_id) == (done.device_id, other.organization.id)
    there = get_device(svc, other.actor, done.device_id)
    assert (there.serial, there.departments) == ("SN-6", frozenset())
    with pytest.raises(NotFound):
        get_device(svc, org.actor, done.device_id)
    assert codes.get_code(svc, org.actor, code.token).device_id is None
    again = activated(svc, made, "SN-6")
    assert again.device_id == done.device_id


def test_an_api_token_of_an_administrator_of_both_moves_a_device_between_them(
    svc: Services, org: Org
) -> None:
    """D6 through an API token: the token acts for its member, so the person behind it is
    the one who must be an Administrator in both (the token's own id is no member's)."""
    made = new_group(svc, org, environments=(environment(svc),))
    register(svc, made, "SN-T")
    done = activated(svc, made, "SN-T")
    other = make_org(svc)
    members.add_member(
        svc, other.actor, email=org.admin.email, roles=["administrator"], departments=None,
        password=PASSWORD,
    )  # fmt: skip
    by_token = authenticate_token(svc, token_for(svc, org.admin), source_ip=None)

    moved = reprovision_device(svc, by_token, done.device_id, organization=other.organization.id)

    assert moved.organization_id == other.organization.id


def test_who_may_reprovision_and_what_is_refused(svc: Services, org: Org) -> None:
    first, second, down = environment(svc), environment(svc), environment(svc, up=False)
    made = new_group(svc, org, environments=(first, second, down))
    elsewhere = environment(svc)
    register(svc, made, "SN-7")
    done = activated(svc, made, "SN-7")
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    technician = member_actor(make_member(svc, org, roles=["technician"]))
    iot = member_actor(make_member(svc, org, roles=["iot_manager"]))

    for refused in (viewer, technician):
        with pytest.raises(PermissionDenied):
            reprovision_device(svc, refused, done.device_id, environment=second)
    with pytest.raises(Invalid):
        reprovision_device(svc, iot, done.device_id, environment=elsewhere)
    with pytest.raises(Conflict):
        reprovision_device(svc, iot, done.device_id, environment=down)
    with pytest.raises(Invalid):
        reprovision_device(svc, iot, done.device_id, environment=first)
    registration = _registration_of(svc, done.device_id)
    assert registration is not None
    assert not registration.reprovision_pending

    assert reprovision_device(svc, iot, done.device_id, environment=second).environment
