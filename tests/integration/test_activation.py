"""Plug-and-play activation through the use case, on SQLite and PostgreSQL (SPEC D1-D4,
§6): the device key is derived here with this test's own HMAC code from the rule of D2,
not the project's, so a wrong rule in the product cannot agree with itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from onboard.bootstrap import Container
from onboard.domain.errors import (
    DomainError,
    InvalidSignature,
    NotRegistered,
    RateLimited,
    RegistrationDisabled,
    SignatureExpired,
)
from onboard.domain.values import digest_secret
from onboard.services import audit
from onboard.services.devices import get_device
from onboard.services.ports import AuditFilter, PageRequest, Services
from onboard.services.provisioning import checkin
from onboard.services.provisioning.activation import (
    Activation,
    ActivationLimits,
    ActivationRequest,
    activate,
    activate_many,
)
from onboard.services.provisioning.environments import set_environment_status
from onboard.services.provisioning.groups import (
    finish_rotation,
    rotate_group_secret,
)
from tests.factories import Org, make_department, make_org
from tests.provisioning import (
    NewGroup,
    activated,
    environment,
    key_of,
    new_group,
    register,
    signed,
)


def test_a_registered_device_activates_into_a_twin_made_from_its_groups_defaults(
    svc: Services, org: Org
) -> None:
    """D4: the twin from the group's defaults (attributes, departments; the registration's
    attributes over the group's), the environment, configuration and a credential."""
    department = make_department(svc, org)
    home = environment(svc)
    made = new_group(
        svc, org, environments=(home,), departments=(department.id,),
        configuration={"interval": 60}, attributes={"site": "plant", "fw": "1.0"},
    )  # fmt: skip
    register(svc, made, "SN-1", fw="1.2")

    done = activated(svc, made, "SN-1")

    assert done.first
    assert done.environment is not None
    assert done.environment.name == home
    assert done.configuration == {"interval": 60}
    assert done.attributes == {"site": "plant", "fw": "1.2"}
    twin = get_device(svc, org.actor, done.device_id)
    assert (twin.serial, twin.name, twin.departments) == (
        "SN-1",
        "SN-1",
        frozenset({department.id}),
    )
    assert twin.attributes == {"site": "plant", "fw": "1.2"}
    held = checkin.holder(svc, done.credential)
    assert held is not None
    assert held.device_id == done.device_id
    entries = audit.list_audit(
        svc, org.actor, AuditFilter(action="device.activated"), PageRequest()
    )
    assert [e.target_id for e in entries.items] == [done.device_id]


def test_activating_again_keeps_the_twin_and_rotates_the_credential(
    svc: Services, org: Org
) -> None:
    """D4: idempotent for identity; the old credential stops at once."""
    made = new_group(svc, org, environments=(environment(svc),))
    register(svc, made, "SN-2")
    first = activated(svc, made, "SN-2")

    again = activated(svc, made, "SN-2")

    assert (again.device_id, again.first) == (first.device_id, False)
    assert again.environment == first.environment
    assert again.credential != first.credential
    assert checkin.holder(svc, first.credential) is None
    assert checkin.holder(svc, again.credential) is not None


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda p: {**p, "expires": int(time.time()) - 5}, SignatureExpired),
        (lambda p: {**p, "expires": int(time.time()) + 3700}, SignatureExpired),
        (lambda p: {**p, "signature": base64.b64encode(b"x" * 32).decode()}, InvalidSignature),
        (lambda p: {**p, "signature": "not base64!"}, InvalidSignature),
        (lambda p: {**p, "serial": "SN-OTHER"}, InvalidSignature),
        (lambda p: {**p, "group_id": "no-such-group"}, NotRegistered),
    ],
    ids=["expired", "too-far-ahead", "forged", "not-base64", "other-serial", "unknown-group"],
)
def test_a_bad_proof_is_refused_and_changes_nothing(
    svc: Services,
    org: Org,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    refusal: type[DomainError],
) -> None:
    """§6: signature_expired (past, or more than an hour ahead), invalid_signature,
    not_registered for an unknown group; no twin, no credential."""
    made = new_group(svc, org)
    register(svc, made, "SN-3")
    proof = signed(made.group.group_id, "SN-3", key_of(made.secret, "SN-3"))

    with pytest.raises(refusal):
        activate(svc, **change(proof))

    with svc.uow() as uow:
        registration = uow.registrations.get(made.group.id, "SN-3")
    assert registration is not None
    assert registration.device_id is None


def test_the_device_key_read_as_bytes_is_accepted_too(svc: Services, org: Org) -> None:
    """§6 names "the device key" as the HMAC key: its base64 text (what the reference
    client uses) and its 32 bytes are both accepted."""
    made = new_group(svc, org)
    register(svc, made, "SN-4")
    expires = int(time.time()) + 60
    message = f"{made.group.group_id}\nSN-4\n{expires}".encode()
    raw_key = base64.b64decode(key_of(made.secret, "SN-4"))
    signature = base64.b64encode(hmac.new(raw_key, message, hashlib.sha256).digest()).decode()

    done = activate(
        svc, group_id=made.group.group_id, serial="SN-4", expires=expires, signature=signature
    )

    assert done.first


def test_a_preregistered_group_refuses_an_unregistered_serial_and_an_open_one_takes_it(
    svc: Services, org: Org
) -> None:
    """D3: `preregistered` takes only serials registered in advance (not_registered);
    `open` takes any serial with a valid device key."""
    closed = new_group(svc, org)
    with pytest.raises(NotRegistered):
        activated(svc, closed, "SN-NEW")
    opened = new_group(svc, org, registration_mode="open")

    done = activated(svc, opened, "SN-NEW")

    assert done.first
    with svc.uow() as uow:
        registration = uow.registrations.get(opened.group.id, "SN-NEW")
    assert registration is not None
    assert registration.device_id == done.device_id


def test_a_disabled_registration_is_refused_and_the_group_goes_on(svc: Services, org: Org) -> None:
    """D4: registration_disabled for that serial only."""
    made = new_group(svc, org)
    register(svc, made, "SN-5", "SN-6")
    with svc.uow() as uow:
        found = uow.registrations.get(made.group.id, "SN-5")
        assert found is not None
        uow.registrations.set_disabled(found.id, True, svc.clock.now())
        uow.commit()

    with pytest.raises(RegistrationDisabled):
        activated(svc, made, "SN-5")
    assert activated(svc, made, "SN-6").first


def test_environments_marked_down_are_skipped_and_none_up_gives_none(
    svc: Services, org: Org
) -> None:
    """D4: static takes the first that is up; a device whose environment went down is
    sent to one that is up when it activates again."""
    first, second = environment(svc), environment(svc)
    made = new_group(svc, org, environments=(first, second), allocation_policy="static")
    register(svc, made, "SN-7", "SN-8")
    assert (e := activated(svc, made, "SN-7").environment) is not None
    assert e.name == first

    set_environment_status(svc, first, up=False)
    again = activated(svc, made, "SN-7")
    assert again.environment is not None
    assert again.environment.name == second

    set_environment_status(svc, second, up=False)
    assert activated(svc, made, "SN-8").environment is None


def test_hashed_allocation_keeps_a_device_in_its_environment(svc: Services, org: Org) -> None:
    """D4: hashed allocation is a function of the serial: the same environment each time,
    and devices spread over the environments."""
    names = [environment(svc) for _ in range(3)]
    made = new_group(svc, org, environments=tuple(names), allocation_policy="hashed")
    serials = [f"SN-H{n}" for n in range(30)]
    register(svc, made, *serials)

    chosen = {s: activated(svc, made, s).environment for s in serials}

    assert {e.name for e in chosen.values() if e} == set(names)
    assert all(activated(svc, made, s).environment == chosen[s] for s in serials[:5])


def test_during_a_rotation_both_secrets_activate_and_after_it_only_the_new_one(
    svc: Services, org: Org
) -> None:
    """D1: the secondary secret keeps devices burned with the old one working until the
    rotation is finished."""
    made = new_group(svc, org)
    register(svc, made, "SN-9", "SN-10")
    rotated = rotate_group_secret(svc, org.actor, made.group.id)
    assert rotated.secret != made.secret
    assert rotated.group.rotating

    assert activated(svc, made, "SN-9").first  # the old secret's key
    assert activated(svc, rotated, "SN-10").first  # the new one's

    finish_rotation(svc, org.actor, made.group.id)
    with pytest.raises(InvalidSignature):
        activated(svc, made, "SN-9")
    assert not activated(svc, rotated, "SN-9").first


def test_failures_from_one_address_and_activations_of_one_device_are_limited(
    svc: Services, org: Org
) -> None:
    """§6: rate limits, counted in the database; successes from an address do not count
    against it (a factory's devices share one)."""
    made = new_group(svc, org)
    register(svc, made, *(f"SN-L{n}" for n in range(4)))
    limits = ActivationLimits(failures_per_source=2, attempts_per_device=3)
    for n in range(3):  # successes of three devices from one address
        activated(svc, made, f"SN-L{n}", source_ip="10.0.0.1", limits=limits)
    for _ in range(2):
        with pytest.raises(InvalidSignature):
            activated(svc, made, "SN-L3", key="wrong", source_ip="10.0.0.1", limits=limits)
    with pytest.raises(RateLimited):
        activated(svc, made, "SN-L3", source_ip="10.0.0.1", limits=limits)
    assert activated(svc, made, "SN-L3", source_ip="10.0.0.2", limits=limits).first

    activated(svc, made, "SN-L0", source_ip="10.0.0.3", limits=limits)
    activated(svc, made, "SN-L0", source_ip="10.0.0.4", limits=limits)
    with pytest.raises(RateLimited):
        activated(svc, made, "SN-L0", source_ip="10.0.0.5", limits=limits)


def test_concurrent_first_activations_of_one_device_make_one_twin(
    container: Container,
) -> None:
    """D4, §7: devices retry; however the activations race, one twin, and only the last
    credential handed out works."""
    svc = container.services
    org = make_org(svc)
    made = new_group(svc, org, registration_mode="open")
    threads = 8
    barrier = threading.Barrier(threads)

    def race(_: int) -> Activation:
        barrier.wait(timeout=30)
        return activated(svc, made, "SN-RACE", limits=ActivationLimits(attempts_per_device=50))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(race, range(threads)))

    assert len({o.device_id for o in outcomes}) == 1
    assert sum(o.first for o in outcomes) == 1
    working = [o for o in outcomes if checkin.holder(svc, o.credential) is not None]
    assert len(working) == 1
    with svc.uow() as uow:
        registration = uow.registrations.get(made.group.id, "SN-RACE")
        assert registration is not None
        held = uow.registrations.by_credential(digest_secret(working[0].credential))
    assert held is not None
    assert held.id == registration.id


# --- batches (§7: activations that arrive together share their round trips) -------------


def request_of(
    made: NewGroup,
    serial: str,
    *,
    key: str | None = None,
    source_ip: str | None = None,
    **changed: Any,
) -> ActivationRequest:
    proof = signed(made.group.group_id, serial, key or key_of(made.secret, serial))
    return ActivationRequest(**{**proof, **changed}, source_ip=source_ip)


def test_a_batch_answers_each_activation_as_it_would_alone(svc: Services, org: Org) -> None:
    """D4, §6: in one batch, first activations, a second activation of one device (after
    the first, as a repeat of it), and refusals each get their own outcome, in order; a
    refused proof counts against its source."""
    made = new_group(svc, org, departments=(make_department(svc, org).id,))
    register(svc, made, "SN-B1", "SN-B2", "SN-B3")
    batch = [
        request_of(made, "SN-B1"),
        request_of(made, "SN-B2", source_ip="10.0.0.9"),
        request_of(made, "SN-B1"),
        request_of(made, "SN-B3", key="wrong", source_ip="10.0.0.7"),
        request_of(made, "SN-B3", group_id="no-such-group", source_ip="10.0.0.7"),
        request_of(made, "SN-B3", expires=int(time.time()) - 1),
        request_of(made, "SN-NEW"),
    ]

    outcomes = activate_many(svc, batch)

    first, second, again = outcomes[:3]
    assert isinstance(first, Activation)
    assert isinstance(second, Activation)
    assert isinstance(again, Activation)
    assert (first.first, second.first, again.first) == (True, True, False)
    assert again.device_id == first.device_id != second.device_id
    assert [type(o) for o in outcomes[3:]] == [
        InvalidSignature, NotRegistered, SignatureExpired, NotRegistered
    ]  # fmt: skip
    # The repeat rotated the credential: only its credential works now.
    assert checkin.holder(svc, first.credential) is None
    assert checkin.holder(svc, again.credential) is not None
    assert checkin.holder(svc, second.credential) is not None
    twin = get_device(svc, org.actor, first.device_id)
    assert twin.serial == "SN-B1"
    assert twin.departments == made.group.defaults.departments
    with svc.uow() as uow:
        assert uow.registrations.get(made.group.id, "SN-B3").device_id is None  # type: ignore[union-attr]
        assert (
            uow.rate_limits.count(
                "activate-failed:10.0.0.7", now=svc.clock.now(), window_seconds=60
            )
            == 2
        )
    page = audit.list_audit(svc, org.actor, AuditFilter(), PageRequest(limit=50))
    actions = sorted(e.action for e in page.items if e.target_type == "device")
    assert actions == ["device.activated", "device.activated", "device.reactivated"]


def test_a_batch_keeps_the_rate_limits(svc: Services, org: Org) -> None:
    """§6: activations of one device, and failures from one address, count one by one
    against their limits within a batch too."""
    made = new_group(svc, org)
    register(svc, made, "SN-R1", "SN-R2", "SN-R3")
    limits = ActivationLimits(failures_per_source=2, attempts_per_device=2)
    batch = [request_of(made, "SN-R1") for _ in range(3)] + [request_of(made, "SN-R2")]
    forged = [request_of(made, "SN-R3", key="wrong", source_ip="10.0.0.6") for _ in range(3)]

    outcomes = activate_many(svc, batch + forged, limits)

    assert [type(o) for o in outcomes] == [
        Activation, Activation, RateLimited, Activation,
        InvalidSignature, InvalidSignature, RateLimited,
    ]  # fmt: skip


def test_concurrent_batches_sharing_devices_make_one_twin_each(container: Container) -> None:
    """D4, §7: batches from several processes may hold the same devices in any order;
    every activation answers, and each device gets one twin."""
    svc = container.services
    org = make_org(svc)
    made = new_group(svc, org)
    serials = [f"SN-C{n}" for n in range(6)]
    register(svc, made, *serials)
    threads = 4
    barrier = threading.Barrier(threads)
    limits = ActivationLimits(attempts_per_device=50)

    def batch(n: int) -> list[Activation | DomainError]:
        mine = serials[n:] + serials[:n]  # each batch in another order
        requests = [request_of(made, s) for s in (mine if n % 2 else mine[::-1])]
        barrier.wait(timeout=30)
        return activate_many(svc, requests, limits)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = [o for batch_outcomes in pool.map(batch, range(threads)) for o in batch_outcomes]

    assert all(isinstance(o, Activation) for o in outcomes), outcomes
    done = [o for o in outcomes if isinstance(o, Activation)]
    assert sum(o.first for o in done) == len(serials)
    assert len({o.device_id for o in done}) == len(serials)
    with svc.uow() as uow:
        twins = {uow.registrations.get(made.group.id, s).device_id for s in serials}  # type: ignore[union-attr]
    assert twins == {o.device_id for o in done}
