"""Device replacement through the use cases, on SQLite and PostgreSQL (SPEC D7): the twin
keeps everything, the old serial's credential stops at once and its hardware cannot come
back, the timeline records the swap, and the new hardware activates into the twin."""

from __future__ import annotations

import pytest

from onboard.domain.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    NotRegistered,
    PermissionDenied,
    RegistrationDisabled,
)
from onboard.services import codes, customers, devices, pairing, records
from onboard.services.common import member_actor
from onboard.services.devices import DeviceInput, get_device, update_device
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning import checkin
from onboard.services.provisioning.replacement import replace_device
from tests.factories import Org, make_department, make_member, make_org
from tests.provisioning import activated, environment, new_group, register


def test_the_new_hardware_activates_into_the_twin_which_keeps_everything(
    svc: Services, org: Org
) -> None:
    """D7: id, name, attributes, code, departments, customer and history survive; the
    old credential ends at once; the old serial is refused; the new one activates into
    the same twin, as its first activation."""
    department = make_department(svc, org)
    made = new_group(svc, org, environments=(environment(svc),), departments=(department.id,))
    register(svc, made, "OLD-1", "NEW-1", site="plant")
    old = activated(svc, made, "OLD-1")
    customer = customers.create_customer(svc, org.actor, name="Acme")
    twin = get_device(svc, org.actor, old.device_id)
    update_device(
        svc, org.actor, twin.id,
        {"name": "Boiler 3", "attributes": {**twin.attributes, "floor": 2},
         "customer_id": customer.id},
    )  # fmt: skip
    (code,) = codes.create_codes(svc, org.actor)
    pairing.pair_code(svc, org.actor, code.token, twin.id)

    after = replace_device(svc, org.actor, twin.id, serial="NEW-1")

    assert (after.id, after.serial) == (twin.id, "NEW-1")
    assert checkin.holder(svc, old.credential) is None
    with pytest.raises(RegistrationDisabled):
        activated(svc, made, "OLD-1")
    new = activated(svc, made, "NEW-1")
    assert (new.device_id, new.first) == (twin.id, True)
    kept = get_device(svc, org.actor, twin.id)
    assert (kept.name, kept.customer_id, kept.departments) == (
        "Boiler 3",
        customer.id,
        frozenset({department.id}),
    )
    assert kept.attributes["floor"] == 2
    assert [c.token for c in pairing.codes_of_device(svc, org.actor, twin.id)] == [code.token]
    history = records.device_timeline(svc, org.actor, twin.id, PageRequest(limit=100))
    timeline = [e.action for e in history.items]
    assert {"device.activated", "device.replaced"} <= set(timeline)
    assert timeline.count("device.activated") == 2


@pytest.mark.parametrize(
    ("serial", "refusal"),
    [
        ("OLD-2", Invalid),  # its own serial
        ("UNKNOWN", NotRegistered),
        ("TAKEN", Conflict),  # another twin's hardware
        ("OFF", RegistrationDisabled),
        ("bad serial", Invalid),
    ],
)
def test_a_replacement_the_rules_refuse_changes_nothing(
    svc: Services, org: Org, serial: str, refusal: type[DomainError]
) -> None:
    made = new_group(svc, org)
    register(svc, made, "OLD-2", "TAKEN", "OFF")
    old = activated(svc, made, "OLD-2")
    activated(svc, made, "TAKEN")
    with svc.uow() as uow:
        off = uow.registrations.get(made.group.id, "OFF")
        assert off is not None
        uow.registrations.set_disabled(off.id, True, svc.clock.now())
        uow.commit()

    with pytest.raises(refusal):
        replace_device(svc, org.actor, old.device_id, serial=serial)

    assert checkin.holder(svc, old.credential) is not None
    assert get_device(svc, org.actor, old.device_id).serial == "OLD-2"


def test_technicians_device_managers_and_iot_managers_replace_hardware_and_viewers_do_not(
    svc: Services, org: Org
) -> None:
    """D7, §0: swapping a twin's hardware is device work and provisioning work: those who
    edit devices and those who manage provisioning both do it."""
    made = new_group(svc, org)
    serials = [f"{kind}-{n}" for n in range(3) for kind in ("OLD", "NEW")]
    register(svc, made, *serials)
    for n, role in enumerate(("technician", "device_manager", "iot_manager")):
        old = activated(svc, made, f"OLD-{n}")
        member = member_actor(make_member(svc, org, roles=[role]))

        replaced = replace_device(svc, member, old.device_id, serial=f"NEW-{n}")

        assert (replaced.id, replaced.serial) == (old.device_id, f"NEW-{n}"), role
        assert checkin.holder(svc, old.credential) is None, role


def test_only_a_provisioned_device_a_member_may_edit_is_replaced(svc: Services, org: Org) -> None:
    made = new_group(svc, org)
    register(svc, made, "OLD-3", "NEW-3")
    old = activated(svc, made, "OLD-3")
    plain = devices.create_device(svc, org.actor, DeviceInput(name="Not provisioned"))
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    stranger = make_org(svc)

    with pytest.raises(Invalid):
        replace_device(svc, org.actor, plain.id, serial="NEW-3")
    with pytest.raises(PermissionDenied):
        replace_device(svc, viewer, old.device_id, serial="NEW-3")
    with pytest.raises(NotFound):
        replace_device(svc, stranger.actor, old.device_id, serial="NEW-3")
    assert checkin.holder(svc, old.credential) is not None
