"""A device's provisioning as its page shows it (SPEC D4-D7): the registration of its
hardware, read in one unit of work, not inferred from its timeline; on both backends."""

from __future__ import annotations

import pytest

from onboard.domain.errors import NotFound
from onboard.services import devices
from onboard.services.devices import DeviceInput
from onboard.services.ports import Services
from onboard.services.provisioning.registrations import (
    provisioning_of_device,
    set_registration_disabled,
)
from onboard.services.provisioning.replacement import replace_device
from onboard.services.provisioning.reprovisioning import reprovision_device
from tests.factories import Org, make_org
from tests.provisioning import activated, environment, new_group, register


def test_the_registration_group_environment_and_history_of_an_activated_device(
    svc: Services, org: Org
) -> None:
    place = environment(svc)
    made = new_group(svc, org, environments=(place,))
    register(svc, made, "SN-1", "SN-2")
    done = activated(svc, made, "SN-1")

    found = provisioning_of_device(svc, org.actor, done.device_id)

    assert found is not None
    assert found.registration is not None
    assert (found.registration.serial, found.group_id) == ("SN-1", made.group.group_id)
    assert found.registration.activated_at is not None
    assert found.environment is not None
    assert found.environment.name == place
    assert [e.action for e in found.history] == ["device.activated"]

    activated(svc, made, "SN-1")
    set_registration_disabled(svc, org.actor, made.group.id, "SN-1", disabled=True)
    again = provisioning_of_device(svc, org.actor, done.device_id)
    assert again is not None
    assert again.registration is not None
    assert again.registration.disabled
    assert [e.action for e in again.history] == ["device.reactivated", "device.activated"]


def test_after_a_replacement_the_new_hardware_waits_to_activate(svc: Services, org: Org) -> None:
    made = new_group(svc, org, environments=(environment(svc),))
    register(svc, made, "OLD-1", "NEW-1")
    done = activated(svc, made, "OLD-1")

    replace_device(svc, org.actor, done.device_id, serial="NEW-1")

    found = provisioning_of_device(svc, org.actor, done.device_id)
    assert found is not None
    assert found.registration is not None
    assert (found.registration.serial, found.registration.activated_at) == ("NEW-1", None)
    assert found.history[0].action == "device.replaced"


def test_a_twin_left_behind_by_a_reset_keeps_its_history_without_a_registration(
    svc: Services, org: Org
) -> None:
    first, second = environment(svc), environment(svc)
    made = new_group(svc, org, environments=(first, second), reprovision_policy="reset")
    register(svc, made, "SN-3")
    done = activated(svc, made, "SN-3")

    moved = reprovision_device(svc, org.actor, done.device_id, environment=second)

    left = provisioning_of_device(svc, org.actor, done.device_id)
    assert left is not None
    assert (left.registration, left.group_id) == (None, made.group.group_id)
    assert [e.action for e in left.history][-1] == "device.activated"
    fresh = provisioning_of_device(svc, org.actor, moved.device_id)
    assert fresh is not None
    assert fresh.registration is not None
    assert fresh.registration.serial == "SN-3"


def test_a_device_not_provisioned_has_none_and_an_unseen_one_is_not_found(
    svc: Services, org: Org
) -> None:
    plain = devices.create_device(svc, org.actor, DeviceInput(name="Plain"))
    assert provisioning_of_device(svc, org.actor, plain.id) is None
    other = make_org(svc)
    with pytest.raises(NotFound):
        provisioning_of_device(svc, other.actor, plain.id)
