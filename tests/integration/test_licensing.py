"""Licensed client devices through the use cases on SQLite and PostgreSQL (SPEC B1-B8):
products, licenses, reusable and single-use pairing codes, configurations, and pairing
(B5), with its refusals (B7) and its exactness under concurrency (B6)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from onboard.domain.errors import (
    Conflict,
    DepartmentForbidden,
    Invalid,
    LicenseNotFree,
    NameTaken,
    NoFreeLicense,
    NotFound,
    PairingCodeExpired,
    PairingCodeRevoked,
    PairingCodeUsed,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from onboard.domain.licensing import LicenseStatus
from onboard.services import licensing, licensing_overview
from onboard.services.common import member_actor
from onboard.services.devices import delete_device, get_device
from onboard.services.licensing import HardwareReport
from onboard.services.ports import PageRequest, Services
from tests.factories import Org, make_department, make_member, make_org

ALL = PageRequest(limit=1000)


def product_with_licenses(svc: Services, org: Org, count: int) -> str:
    product = licensing.create_product(svc, org.actor, name=f"Collector {count}")
    licensing.grant_licenses(svc, org.actor, product.id, count=count, expires_at=None)
    return product.id


def assigned(svc: Services, org: Org, product_id: str) -> int:
    page = licensing.list_licenses(
        svc, org.actor, ALL, product_id=product_id, status=LicenseStatus.ASSIGNED
    )
    return len(page.items)


class Later:
    """The clock, moved on."""

    def __init__(self, svc: Services, by: timedelta) -> None:
        self.svc, self.by = svc, by

    def now(self) -> datetime:
        return self.svc.clock.now() + self.by


def test_products_are_made_by_device_managers_and_licenses_granted_by_administrators(
    svc: Services,
) -> None:
    org = make_org(svc)
    manager = member_actor(make_member(svc, org, roles=["device_manager"]))
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))

    product = licensing.create_product(svc, manager, name="Data Collector")

    with pytest.raises(NameTaken):
        licensing.create_product(svc, org.actor, name="Data Collector")
    with pytest.raises(PermissionDenied):
        licensing.create_product(svc, viewer, name="Other")
    with pytest.raises(PermissionDenied):  # B2: a purchase, which only Administrators stand for
        licensing.grant_licenses(svc, manager, product.id, count=3, expires_at=None)
    granted = licensing.grant_licenses(svc, org.actor, product.id, count=3, expires_at=None)
    assert len(granted) == 3
    free = licensing.list_licenses(svc, viewer, ALL, status=LicenseStatus.FREE).items
    assert {x.id for x in free} == {x.id for x in granted}
    with pytest.raises(Invalid):
        licensing.grant_licenses(svc, org.actor, product.id, count=0, expires_at=None)
    past = svc.clock.now() - timedelta(days=1)
    with pytest.raises(Invalid):
        licensing.grant_licenses(svc, org.actor, product.id, count=1, expires_at=past)
    with pytest.raises(NotFound):
        licensing.grant_licenses(svc, make_org(svc).actor, product.id, count=1, expires_at=None)


def test_a_device_pairs_with_a_reusable_code_takes_a_license_and_the_newest_configuration(
    svc: Services,
) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 2)
    licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"interval": 60})
    newest = licensing.create_configuration(
        svc, org.actor, product_id, name="v2", body={"interval": 30}
    )
    issued = licensing.create_pairing_code(svc, org.actor, product_id)

    paired = licensing.pair(svc, issued.url, HardwareReport("IMEI-1", model="TC52"))

    assert paired.configuration == newest
    assert paired.credential
    assert assigned(svc, org, product_id) == 1
    assert issued.code.expires_at - issued.code.created_at == timedelta(days=30)
    again = licensing.pair(svc, issued.text.lower(), HardwareReport("IMEI-1"))
    assert (again.device_id, again.license_id) == (paired.device_id, paired.license_id)
    assert again.credential != paired.credential  # B5: idempotent, with a new credential
    assert assigned(svc, org, product_id) == 1


def test_pairing_is_refused_as_b7_says(svc: Services) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    once = licensing.create_pairing_code(svc, org.actor, product_id, max_uses=1)
    licensing.pair(svc, once.text, HardwareReport("A"))

    with pytest.raises(PairingCodeUsed):
        licensing.pair(svc, once.text, HardwareReport("B"))
    spare = licensing.create_pairing_code(svc, org.actor, product_id)
    with pytest.raises(NoFreeLicense):
        licensing.pair(svc, spare.text, HardwareReport("C"))
    licensing.revoke_pairing_code(svc, org.actor, spare.code.id)
    with pytest.raises(PairingCodeRevoked):
        licensing.pair(svc, spare.text, HardwareReport("C"))
    short = licensing.create_pairing_code(svc, org.actor, product_id, valid_days=1)
    later = replace(svc, clock=Later(svc, timedelta(days=1, seconds=1)))
    with pytest.raises(PairingCodeExpired):
        licensing.pair(later, short.text, HardwareReport("D"))
    with pytest.raises(NotFound):
        licensing.pair(svc, "not a code", HardwareReport("E"))
    with pytest.raises(Invalid):
        licensing.pair(svc, short.text, HardwareReport("  "))
    assert assigned(svc, org, product_id) == 1  # only the first pairing took a license


def test_a_single_use_code_reserves_its_license_and_pairs_once(svc: Services) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    (only,) = licensing.list_licenses(svc, org.actor, ALL, product_id=product_id).items
    reusable = licensing.create_pairing_code(svc, org.actor, product_id)

    single = licensing.single_use_code(svc, org.actor, only.id)

    assert single.code.expires_at - single.code.created_at == timedelta(seconds=60)
    with pytest.raises(LicenseNotFree):  # one live single-use code per license
        licensing.single_use_code(svc, org.actor, only.id)
    with pytest.raises(NoFreeLicense):  # B4: reserved for the single-use code
        licensing.pair(svc, reusable.text, HardwareReport("OTHER"))
    paired = licensing.pair(svc, single.url, HardwareReport("MINE"))
    assert paired.license_id == only.id
    with pytest.raises(PairingCodeUsed):
        licensing.pair(svc, single.text, HardwareReport("THIRD"))
    with pytest.raises(LicenseNotFree):  # the license serves a device now
        licensing.single_use_code(svc, org.actor, only.id)
    with pytest.raises(Invalid):
        licensing.single_use_code(svc, org.actor, only.id, ttl_seconds=301)


def test_an_expired_single_use_code_frees_its_license_for_reusable_codes(svc: Services) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    (only,) = licensing.list_licenses(svc, org.actor, ALL, product_id=product_id).items
    single = licensing.single_use_code(svc, org.actor, only.id, ttl_seconds=30)
    reusable = licensing.create_pairing_code(svc, org.actor, product_id)
    later = replace(svc, clock=Later(svc, timedelta(seconds=31)))

    with pytest.raises(PairingCodeExpired):
        licensing.pair(later, single.text, HardwareReport("LATE"))
    assert licensing.pair(later, reusable.text, HardwareReport("NEXT")).license_id == only.id


def test_n_free_licenses_and_more_concurrent_pairings_give_exactly_n_devices(
    svc: Services,
) -> None:
    """B6 at the use case: every pairing in its own thread and transaction at once."""
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 4)
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    outcomes: list[str] = []
    start = threading.Barrier(10)

    def pair_one(n: int) -> None:
        start.wait()
        try:
            licensing.pair(svc, code.text, HardwareReport(f"HW-{n}"))
            outcomes.append("paired")
        except NoFreeLicense:
            outcomes.append("no_free_license")
        except Conflict as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=pair_one, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcomes.count("paired") == 4, outcomes
    assert outcomes.count("no_free_license") == 6, outcomes
    assert assigned(svc, org, product_id) == 4


def test_a_single_use_code_redeemed_at_once_by_many_gives_exactly_one_device(
    svc: Services,
) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 3)
    first = licensing.list_licenses(svc, org.actor, ALL, product_id=product_id).items[0]
    single = licensing.single_use_code(svc, org.actor, first.id)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def pair_one(n: int) -> None:
        start.wait()
        try:
            licensing.pair(svc, single.text, HardwareReport(f"RACE-{n}"))
            outcomes.append("paired")
        except PairingCodeUsed:
            outcomes.append("used")
        except Conflict as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=pair_one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcomes.count("paired") == 1, outcomes
    assert assigned(svc, org, product_id) == 1


def test_configurations_are_json_objects_with_an_etag_of_their_content(svc: Services) -> None:
    org = make_org(svc)
    product = licensing.create_product(svc, org.actor, name="Scanner")

    made = licensing.create_configuration(
        svc, org.actor, product.id, name="base", body={"b": 1, "a": [1, 2]}
    )
    same = licensing.create_configuration(
        svc, org.actor, product.id, name="copy", body={"a": [1, 2], "b": 1}
    )

    assert made.etag == same.etag
    assert made.id != same.id  # immutable: a change is a new configuration
    with pytest.raises(Invalid):
        licensing.create_configuration(svc, org.actor, product.id, name="bad", body=[1])


def test_a_configuration_is_assigned_to_one_or_many_licensed_devices(svc: Services) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 3)
    first = licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"a": 1})
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    devices = [licensing.pair(svc, code.text, HardwareReport(f"H{n}")).device_id for n in range(3)]
    second = licensing.create_configuration(svc, org.actor, product_id, name="v2", body={"a": 2})

    assert licensing.assign_configuration(svc, org.actor, second.id, devices[:1]) == 1
    assert licensing.assign_configuration(svc, org.actor, second.id, devices) == 2
    assert licensing.assign_configuration(svc, org.actor, second.id, devices) == 0  # unchanged
    assert licensing.assign_configuration(svc, org.actor, first.id, devices[1:]) == 2
    other = licensing.create_product(svc, org.actor, name="Other app")
    foreign = licensing.create_configuration(svc, org.actor, other.id, name="x", body={})
    with pytest.raises(Invalid):
        licensing.assign_configuration(svc, org.actor, foreign.id, devices)
    with pytest.raises(NotFound):
        licensing.assign_configuration(svc, org.actor, second.id, [*devices, "NO-SUCH-DEVICE"])
    with pytest.raises(NotFound):
        licensing.assign_configuration(svc, make_org(svc).actor, second.id, devices)
    with pytest.raises(Invalid):
        licensing.assign_configuration(svc, org.actor, second.id, [])
    newest = licensing.list_configurations(svc, org.actor, ALL, product_id=product_id).items
    assert [c.name for c in newest] == ["v2", "v1"]


def test_pairing_codes_are_listed_without_their_secret_and_attempts_are_rate_limited(
    svc: Services,
) -> None:
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    made = licensing.create_pairing_code(svc, org.actor, product_id, max_uses=5)

    (listed,) = licensing.list_pairing_codes(svc, org.actor, ALL, product_id=product_id).items

    assert listed == made.code
    assert made.text not in repr(listed)
    source = f"198.51.100.{make_org(svc).organization.id[-2:]}"
    for _ in range(licensing.PAIR_ATTEMPTS):
        licensing.check_pair_rate(svc, source)
    with pytest.raises(RateLimited) as limited:
        licensing.check_pair_rate(svc, source)
    assert limited.value.retry_after == licensing.PAIR_WINDOW_SECONDS
    licensing.check_pair_rate(svc, "203.0.113.9")  # another source is not held back


def test_removing_a_licensed_device_frees_its_license_and_the_hardware_may_pair_again(
    svc: Services,
) -> None:
    """B9: the license comes free; the hardware's record stays without its twin, so that
    its next check-in can be told; pairing again makes a new twin."""
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    paired = licensing.pair(svc, code.text, HardwareReport("GONE-1"))

    delete_device(svc, org.actor, paired.device_id)

    assert assigned(svc, org, product_id) == 0
    again = licensing.pair(svc, code.text, HardwareReport("GONE-1"))
    assert again.device_id != paired.device_id
    assert again.license_id == paired.license_id  # the one license, free again
    assert assigned(svc, org, product_id) == 1


def test_check_in_brings_a_changed_configuration_once_and_unpair_after_removal(
    svc: Services,
) -> None:
    """§6 check-in: the configuration only when its ETag is not the device's (B8); after the
    device is removed, ``unpair``, and its acknowledgement ends the credential (B9)."""
    org = make_org(svc)
    product_id = product_with_licenses(svc, org, 1)
    first = licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"a": 1})
    code = licensing.create_pairing_code(svc, org.actor, product_id)
    paired = licensing.pair(svc, code.text, HardwareReport("CHECK-1"))

    assert licensing.checkin(svc, paired.credential).configuration == first
    assert licensing.checkin(svc, paired.credential, configuration_etag=first.etag) == (
        licensing.CheckIn(None, ())
    )
    second = licensing.create_configuration(svc, org.actor, product_id, name="v2", body={"a": 2})
    licensing.assign_configuration(svc, org.actor, second.id, [paired.device_id])
    changed = licensing.checkin(svc, paired.credential, configuration_etag=first.etag)
    assert changed.configuration == second

    delete_device(svc, org.actor, paired.device_id)
    told = licensing.checkin(svc, paired.credential, configuration_etag=second.etag)
    assert [c.type for c in told.commands] == ["unpair"]
    with pytest.raises(NotFound):
        licensing.acknowledge(svc, paired.credential, "unpair-someone-else", ok=True)
    licensing.acknowledge(svc, paired.credential, told.commands[0].id, ok=True)
    with pytest.raises(Unauthenticated):
        licensing.checkin(svc, paired.credential)
    with pytest.raises(Unauthenticated):
        licensing.checkin(svc, "not-a-credential")


def test_devices_join_the_departments_of_the_code_they_pair_with(svc: Services) -> None:
    """P5 with B3, B4: a Device Manager restricted to a department makes codes whose devices
    join that department, so they see what they paired and other departments do not; an
    unrestricted Administrator chooses the departments or gives none; nobody gives a
    department they are not in or one that does not exist, and nothing is made then."""
    org = make_org(svc)
    north = make_department(svc, org, name="North")
    south = make_department(svc, org, name="South")
    manager = member_actor(make_member(svc, org, roles=["device_manager"], departments=[north.id]))
    southerner = member_actor(make_member(svc, org, roles=["viewer"], departments=[south.id]))
    product_id = product_with_licenses(svc, org, 4)

    theirs = licensing.create_pairing_code(svc, manager, product_id)
    assert theirs.code.departments == {north.id}
    by_code = licensing.pair(svc, theirs.text, HardwareReport("NORTH-1"))
    free = licensing.list_licenses(svc, org.actor, ALL, product_id=product_id).items[-1]
    single = licensing.single_use_code(svc, manager, free.id)
    by_license = licensing.pair(svc, single.text, HardwareReport("NORTH-2"))
    for paired in (by_code, by_license):
        assert get_device(svc, manager, paired.device_id).departments == {north.id}
        with pytest.raises(NotFound):
            get_device(svc, southerner, paired.device_id)
    seen = licensing_overview.list_licensed_devices(svc, southerner, ALL, product_id=product_id)
    assert seen.items == []

    chosen = licensing.create_pairing_code(svc, org.actor, product_id, departments=[south.id])
    south_device = licensing.pair(svc, chosen.text, HardwareReport("SOUTH-1")).device_id
    assert get_device(svc, southerner, south_device).departments == {south.id}
    plain = licensing.create_pairing_code(svc, org.actor, product_id)
    assert plain.code.departments == frozenset()

    with pytest.raises(DepartmentForbidden):
        licensing.create_pairing_code(svc, manager, product_id, departments=[south.id])
    with pytest.raises(Invalid):
        licensing.create_pairing_code(svc, org.actor, product_id, departments=["01NOSUCH"])
    codes = licensing.list_pairing_codes(svc, org.actor, ALL, product_id=product_id)
    assert len(codes.items) == 4
