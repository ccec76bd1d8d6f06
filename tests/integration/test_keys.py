"""Rotation of the keys that seal access keys and group secrets at rest, on SQLite and
PostgreSQL (SPEC C1, D1, §7 security): every value re-sealed under the new key in short
batches, a second run re-sealing nothing, values under a key the keyring lacks refused and
left alone, a value changed between read and write never overwritten, and servers holding
the new keyring opening every value at every moment of the rotation (no downtime)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from onboard.adapters.db import tables as t
from onboard.bootstrap import Container
from onboard.domain.access import Actor
from onboard.domain.enrollment import enroll_signature
from onboard.domain.errors import Invalid, InvalidSignature
from onboard.domain.provisioning import check_activation
from onboard.services import device_enrollment
from onboard.services.enrollments import key_context
from onboard.services.keys import RotationReport, Unopened, rotate_secrets
from onboard.services.ports import SecretBox, Services
from onboard.services.provisioning import groups
from onboard.services.provisioning.groups import GroupInput
from tests.conftest import Database
from tests.factories import make_org
from tests.sealing import K0, K1, K2, Keyed, enroll_many, key_id, keyed_services, opened, sealed

LABEL = "enrollment access keys"


@pytest.fixture
def keyed(database: Database, container: Container, tmp_path: Path) -> Iterator[Keyed]:
    yield from keyed_services(database, container, tmp_path)


def resealed_in_audit(database: Database, organization_id: str) -> int:
    a = t.audit_entries.c
    query = select(a.after).where(
        a.organization_id == organization_id, a.action == "secrets.resealed"
    )
    with database.engine.connect() as conn:
        return sum(after["count"] for after in conn.execute(query).scalars())


def test_rotation_reseals_every_value_under_the_new_key_so_the_old_key_can_be_dropped(
    keyed: Keyed, container: Container, database: Database
) -> None:
    """Values of two organizations sealed under k1; with the keyring "k2,k1" rotation
    re-seals all of them in batches, each organization's audit saying how many; then a
    keyring of k2 alone opens them all, and a device still enrolls with its proof."""
    old = keyed(K1)
    first, second = make_org(container.services), make_org(container.services)
    keys = enroll_many(old, first, 5) | enroll_many(old, second, 2, prefix="GW")

    report = rotate_secrets(keyed(K2, K1), batch=3)

    assert report == RotationReport(resealed=7, current=0, changed=0, unopened=())
    assert report.refused == 0
    new_only = keyed(K2)
    assert {key_id(sealed(new_only, e)) for e in keys} == {"k2"}
    assert {e: opened(new_only, e) for e in keys} == keys
    with pytest.raises(ValueError, match="'k2'"):
        opened(old, next(iter(keys)))
    assert resealed_in_audit(database, first.organization.id) == 5
    assert resealed_in_audit(database, second.organization.id) == 2
    expires = int(time.time()) + 300
    proof = enroll_signature("access-key-SN-0", "SN-0", expires)
    assert device_enrollment.enroll(new_only, "SN-0", expires, proof).device_id


def test_a_second_rotation_reseals_nothing_and_changes_no_value(
    keyed: Keyed, container: Container
) -> None:
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 4)
    rotating = keyed(K2, K1)
    rotate_secrets(rotating, batch=2)
    before = {e: sealed(rotating, e) for e in keys}

    again = rotate_secrets(rotating, batch=2)

    assert again == RotationReport(resealed=0, current=4, changed=0, unopened=())
    assert {e: sealed(rotating, e) for e in keys} == before


def test_values_under_a_key_the_keyring_lacks_are_refused_by_key_and_left_as_they_are(
    keyed: Keyed, container: Container, database: Database
) -> None:
    """Values under k0 (dropped too early) and one copied from another record cannot be
    opened: the report says why and how many, those rows keep their values, the others
    are re-sealed."""
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 3)
    lost = enroll_many(keyed(K0), org, 2, prefix="OLD")
    damaged_id, other_id = list(keys)[:2]
    # A value copied from another record: sealed under k1, but bound to that record.
    damaged = keyed(K1).secrets.seal(keys[other_id], context=key_context(other_id))
    with database.engine.begin() as conn:
        conn.execute(
            update(t.enrollments).where(t.enrollments.c.id == damaged_id).values(access_key=damaged)
        )
    rotating = keyed(K2, K1)
    untouched = {e: sealed(rotating, e) for e in (*lost, damaged_id)}

    report = rotate_secrets(rotating, batch=2)

    assert (report.resealed, report.current, report.changed, report.refused) == (2, 0, 0, 3)
    assert sorted(report.unopened, key=lambda u: u.count) == [
        Unopened(LABEL, "A sealed value is damaged or belongs elsewhere.", 1),
        Unopened(LABEL, "A value is sealed under key 'k0', which the keyring does not hold.", 2),
    ]
    assert {e: sealed(rotating, e) for e in untouched} == untouched
    assert {e: opened(keyed(K0), e) for e in lost} == lost
    assert {key_id(sealed(rotating, e)) for e in keys if e != damaged_id} == {"k2"}


class SealWhileAnotherServerWrites:
    """A keyring that, the first time it seals, lets another server change that row first:
    the moment between rotation's read and its write."""

    def __init__(self, inner: SecretBox, meanwhile: Callable[[], None]) -> None:
        self.inner = inner
        self.meanwhile: Callable[[], None] | None = meanwhile

    def seal(self, plaintext: str, *, context: str) -> str:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self.inner.seal(plaintext, context=context)

    def open(self, sealed: str, *, context: str) -> str:
        return self.inner.open(sealed, context=context)

    def is_current(self, sealed: str) -> bool:
        return self.inner.is_current(sealed)


def test_a_value_changed_between_read_and_write_is_not_overwritten(
    keyed: Keyed, container: Container, database: Database
) -> None:
    """A server still on k1 writes a new access key into a row after rotation read it: the
    rotation leaves that write as it is and says so; the next run re-seals it under k2
    with the new access key."""
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 4)
    raced = next(iter(keys))
    written = keyed(K1).secrets.seal("the-new-access-key", context=key_context(raced))

    def another_server_writes() -> None:
        with database.engine.begin() as conn:
            conn.execute(
                update(t.enrollments).where(t.enrollments.c.id == raced).values(access_key=written)
            )

    rotating = keyed(K2, K1)
    racing = replace(
        rotating, secrets=SealWhileAnotherServerWrites(rotating.secrets, another_server_writes)
    )

    report = rotate_secrets(racing, batch=4)

    assert (report.resealed, report.changed, report.refused) == (3, 1, 0)
    assert sealed(rotating, raced) == written
    again = rotate_secrets(rotating)
    assert (again.resealed, again.current) == (1, 3)
    assert opened(keyed(K2), raced) == "the-new-access-key"
    assert {e: opened(keyed(K2), e) for e in keys if e != raced} == {
        e: k for e, k in keys.items() if e != raced
    }


def test_servers_with_the_new_keyring_open_every_value_and_keep_enrolling_while_it_runs(
    keyed: Keyed, container: Container
) -> None:
    """No downtime: between any two batches a server whose keyring is "k2,k1" opens every
    stored value, whichever key it is under at that moment, and creates enrollments (under
    k2, which the rotation then finds current). Progress counts up to the values found
    not under k2."""
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 7)
    server = keyed(K2, K1)
    seen: list[tuple[int, int]] = []
    mixes: list[set[str]] = []

    def between_batches(done: int, total: int) -> None:
        seen.append((done, total))
        mixes.append({key_id(sealed(server, e)) for e in keys})
        assert {e: opened(server, e) for e in keys} == keys
        if len(seen) == 1:
            keys.update(enroll_many(server, org, 1, prefix="NEW"))

    report = rotate_secrets(keyed(K2, K1), batch=2, progress=between_batches)

    assert (report.resealed, report.current, report.refused) == (7, 1, 0)
    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)]
    assert {"k1", "k2"} in mixes, "the server opened values under both keys at once"
    assert {e: opened(keyed(K2), e) for e in keys} == keys


def test_a_batch_out_of_range_is_refused_before_anything_changes(
    keyed: Keyed, container: Container
) -> None:
    org = make_org(container.services)
    keys = enroll_many(keyed(K1), org, 1)
    rotating = keyed(K2, K1)
    for batch in (0, 10_001):
        with pytest.raises(Invalid, match="batch"):
            rotate_secrets(rotating, batch=batch)
    assert {key_id(sealed(rotating, e)) for e in keys} == {"k1"}


def own_device_key(secret: str, serial: str) -> str:
    """D2 by the test's own HMAC code: b64(HMAC-SHA256(b64decode(secret), UTF-8 serial))."""
    digest = hmac.new(base64.b64decode(secret), serial.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def group_activates(svc: Services, org_actor: Actor, group_id: str, secret: str) -> bool:
    """§6: whether a device with a key of ``secret`` passes the group's activation check."""
    expires = int(time.time()) + 300
    key = own_device_key(secret, "SN-1").encode()
    message = f"{group_id}\nSN-1\n{expires}".encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    group = groups.find_group_now(svc, org_actor, group_id)
    with svc.uow(read_only=True) as uow:
        held = groups.group_secrets(svc, group, uow)
    try:
        check_activation(held, group_id, "SN-1", expires, signature)
    except InvalidSignature:
        return False
    return True


def test_group_secrets_and_secondary_secrets_are_resealed_and_still_give_the_same_keys(
    keyed: Keyed, container: Container, database: Database
) -> None:
    """D1, D2: groups' secrets and their secondary ones (made with the group, §5.1, or the
    previous secret after a rotation) are re-sealed under the new key with the
    enrollments' access keys: 2 access keys and 2 secrets of each of 2 groups. A keyring
    of the new key alone then derives the same device keys, and keys of the secondary
    secrets still activate."""
    old = keyed(K1)
    org = make_org(container.services)
    access_keys = enroll_many(old, org, 2)
    plain = groups.create_group(old, org.actor, "plain-group", GroupInput(name="Plain"))
    rotating = groups.create_group(old, org.actor, "rotating-group", GroupInput(name="Rotating"))
    previous = rotating.secret
    current = groups.rotate_group_secret(old, org.actor, "rotating-group").secret
    secrets = {"plain-group": plain.secret, "rotating-group": current}

    report = rotate_secrets(keyed(K2, K1), batch=2)

    assert report == RotationReport(resealed=6, current=0, changed=0, unopened=())
    new_only = keyed(K2)
    with new_only.uow(read_only=True) as uow:
        stored = [
            value
            for ref in (plain.group.id, rotating.group.id)
            for value in uow.provisioning_groups.sealed_secrets(ref)
            if value is not None
        ]
    assert {key_id(value) for value in stored} == {"k2"}
    for group_id, secret in secrets.items():
        derived = list(groups.derive_keys(new_only, org.actor, group_id, lambda: ["SN-1", "SN-2"]))
        assert [k.device_key for k in derived] == [
            own_device_key(secret, "SN-1"), own_device_key(secret, "SN-2"),
        ]  # fmt: skip
    assert group_activates(new_only, org.actor, "rotating-group", previous)
    assert group_activates(new_only, org.actor, "rotating-group", current)
    assert plain.secondary_secret is not None
    assert group_activates(new_only, org.actor, "plain-group", plain.secondary_secret)
    assert {e: opened(new_only, e) for e in access_keys} == access_keys
    assert resealed_in_audit(database, org.organization.id) == 6
    assert rotate_secrets(new_only) == RotationReport(0, 6, 0, ())
