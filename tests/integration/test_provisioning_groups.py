"""Environments and provisioning groups through the use cases on SQLite and PostgreSQL
(SPEC P2, D1, D2, D5, P5, P8): a group's secret returned once and sealed at rest, its
settings checked and stored, its secret rotated with the previous one still activating
until the rotation is finished, device keys derived for a list of serials, and who may do
what."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from onboard.adapters.db import tables as t
from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.errors import (
    Conflict,
    DepartmentForbidden,
    Invalid,
    InvalidAttributes,
    InvalidSignature,
    NameTaken,
    NotFound,
    PermissionDenied,
)
from onboard.domain.provisioning import (
    AllocationPolicy,
    ProvisioningGroup,
    RegistrationMode,
    ReprovisionPolicy,
    check_activation,
    group_secret_context,
)
from onboard.services import licensing, templates
from onboard.services.common import member_actor
from onboard.services.ports import PageRequest, SecretBox, Services
from onboard.services.provisioning import environments, groups
from onboard.services.provisioning.groups import (
    GroupInput,
    InvalidSerial,
    SerialListRefused,
    find_group,
    group_secrets,
)
from tests.conftest import Database
from tests.factories import Org, make_department, make_member, make_org

# D1: who may create and change provisioning groups (MANAGE_PROVISIONING), by roles.
MANAGE_CASES = [
    (["administrator"], True),
    (["iot_manager"], True),
    (["device_manager"], False),
    (["technician"], False),
    (["viewer"], False),
    (["device_manager", "technician", "viewer"], False),
]


def own_device_key(secret: str, serial: str) -> str:
    """D2 by the test's own HMAC code: b64(HMAC-SHA256(b64decode(secret), UTF-8 serial))."""
    digest = hmac.new(base64.b64decode(secret), serial.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def proof(secret: str, group_id: str, serial: str) -> tuple[int, str]:
    """§6: what a device burned with a key of ``secret`` sends to activate."""
    expires = int(time.time()) + 300
    message = f"{group_id}\n{serial}\n{expires}".encode()
    key = own_device_key(secret, serial).encode()
    return expires, base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def activates(svc: Services, group: ProvisioningGroup, secret: str, serial: str) -> bool:
    """Whether a device with a key of ``secret`` passes the group's activation check."""
    expires, signature = proof(secret, group.group_id, serial)
    with svc.uow(read_only=True) as uow:
        held = group_secrets(svc, group, uow)
    try:
        check_activation(held, group.group_id, serial, expires, signature)
    except InvalidSignature:
        return False
    return True


def stored(database: Database, group_ref: str) -> dict[str, Any]:
    g = t.provisioning_groups.c
    with database.engine.connect() as conn:
        row = conn.execute(select(t.provisioning_groups).where(g.id == group_ref)).one()
    return dict(row._mapping)


def group_count(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.provisioning_groups)).scalar())


def audit(database: Database, organization_id: str, action: str) -> list[dict[str, Any]]:
    a = t.audit_entries.c
    query = select(t.audit_entries).where(a.organization_id == organization_id, a.action == action)
    with database.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def make_environment(svc: Services, name: str, *, up: bool = True, weight: int = 1) -> str:
    environments.create_environment(
        svc, name=name, api_url=f"https://{name}.example.com", mqtt_url=f"mqtts://{name}.example.com",
        region="eu", weight=weight, up=up,
    )  # fmt: skip
    return name


def test_a_new_group_returns_its_secret_once_and_stores_it_sealed(
    svc: Services, org: Org, database: Database
) -> None:
    """D1, §7: the secret is 32 random bytes in base64, returned by the creation only; the
    stored value is not the secret (nor holds it), opens to it under the group's context
    only, and the audit entry has the settings but not the secret."""
    made = groups.create_group(svc, org.actor, "acme-meters", GroupInput(name="Acme meters"))

    assert len(base64.b64decode(made.secret, validate=True)) == 32
    row = stored(database, made.group.id)
    assert row["secret"] != made.secret
    assert made.secret not in row["secret"]
    assert base64.b64decode(made.secret).hex() not in row["secret"]
    assert made.secondary_secret is not None
    assert len(base64.b64decode(made.secondary_secret, validate=True)) == 32
    assert made.secondary_secret != made.secret
    assert made.secondary_secret not in row["secondary_secret"]
    assert svc.secrets.open(row["secret"], context=group_secret_context(made.group.id)) == (
        made.secret
    )
    assert (
        svc.secrets.open(row["secondary_secret"], context=group_secret_context(made.group.id))
        == made.secondary_secret
    )
    with pytest.raises(ValueError, match="damaged or belongs elsewhere"):
        svc.secrets.open(row["secret"], context=group_secret_context("another-group"))
    found = groups.find_group_now(svc, org.actor, "acme-meters")
    assert found == made.group
    assert not hasattr(found, "secret")
    (entry,) = audit(database, org.organization.id, "provisioning_group.created")
    assert entry["after"]["group_id"] == "acme-meters"
    assert made.secret not in str(entry)
    second = groups.create_group(svc, org.actor, "acme-meters-2", GroupInput(name="Two"))
    assert second.secret != made.secret


def test_a_group_is_stored_with_its_settings_and_found_by_either_id(
    svc: Services, org: Org
) -> None:
    """D1, D4, D5: mode, policies, environments in the order given (by name or id, each
    once), template, configuration, initial attributes typed by the template,
    departments, and who may claim its devices."""
    first, second = make_environment(svc, "eu-1"), make_environment(svc, "us-1")
    ids = {e.name: e.id for e in environments.list_environments(svc)}
    template = templates.create_template(
        svc, org.actor, name="Meter", fields=[{"name": "size", "type": "number"}]
    )
    department = make_department(svc, org)
    partner = make_org(svc)
    given = GroupInput(
        name="  Field   meters ",
        registration_mode="open",
        allocation_policy="weighted",
        reprovision_policy="never",
        environments=(second, first, ids[second]),
        template_id=template.id,
        configuration={"interval": 60, "nested": {"on": True}},
        attributes={"size": 3},
        departments=(department.id,),
        open_claims=False,
        claimants=(partner.organization.id, org.organization.id),
    )

    made = groups.create_group(svc, org.actor, "field-meters", given).group

    assert made.name == "Field meters"
    assert made.registration_mode is RegistrationMode.OPEN
    assert made.allocation_policy is AllocationPolicy.WEIGHTED
    assert made.reprovision_policy is ReprovisionPolicy.NEVER
    assert made.environment_ids == (ids[second], ids[first])
    assert made.defaults.template_id == template.id
    assert made.defaults.configuration == {"interval": 60, "nested": {"on": True}}
    assert made.defaults.attributes == {"size": 3}
    assert made.defaults.departments == {department.id}
    assert made.claimants == {partner.organization.id}
    assert made.may_be_claimed_by(partner.organization.id)
    assert not made.may_be_claimed_by(make_org(svc).organization.id)
    assert made.rotating  # the secondary secret is made with the group (§5.1)
    by_id = groups.find_group_now(svc, org.actor, made.id)
    by_group_id = groups.find_group_now(svc, org.actor, "field-meters")
    assert by_id == by_group_id == made
    listed = groups.list_groups(svc, org.actor, PageRequest(None, 50))
    assert [g.group_id for g in listed.items] == ["field-meters"]


def test_a_group_created_without_a_group_id_gets_a_random_one(svc: Services, org: Org) -> None:
    made = groups.create_group(svc, org.actor, None, GroupInput(name="Unnamed")).group
    other = groups.create_group(svc, org.actor, None, GroupInput(name="Unnamed")).group

    assert made.group_id.startswith("g-")
    assert len(made.group_id) == 18
    assert made.group_id != other.group_id


def test_another_organization_neither_sees_nor_changes_the_group(svc: Services, org: Org) -> None:
    """P1: a group belongs to its organization; another one's member gets not_found,
    by its id and by its public group id."""
    made = groups.create_group(svc, org.actor, "private-group", GroupInput(name="Mine")).group
    stranger = make_org(svc).actor

    for ref in (made.id, made.group_id):
        with pytest.raises(NotFound):
            groups.find_group_now(svc, stranger, ref)
        with pytest.raises(NotFound):
            groups.rotate_group_secret(svc, stranger, ref)
        with pytest.raises(NotFound):
            groups.update_group(svc, stranger, ref, GroupInput(name="Taken over"))
    assert groups.list_groups(svc, stranger, PageRequest(None, 50)).items == []
    assert groups.find_group_now(svc, org.actor, made.id).name == "Mine"


@pytest.mark.parametrize(
    "group_id", ["ab", "Upper-case", "-leading-hyphen", "has space", "under_score", "x" * 65, ""]
)
def test_a_bad_group_id_is_refused_and_nothing_is_made(
    svc: Services, org: Org, database: Database, group_id: str
) -> None:
    with pytest.raises(Invalid) as refused:
        groups.create_group(svc, org.actor, group_id, GroupInput(name="Bad"))
    assert refused.value.code == "invalid"
    assert "group_id" in refused.value.fields
    assert group_count(database) == 0


def test_a_taken_group_id_is_refused_in_any_organization(
    svc: Services, org: Org, database: Database
) -> None:
    """D1: devices send only the group id, so it is unique on the platform."""
    groups.create_group(svc, org.actor, "shared-name", GroupInput(name="First"))
    other = make_org(svc)

    for actor in (org.actor, other.actor):
        with pytest.raises(NameTaken) as refused:
            groups.create_group(svc, actor, "shared-name", GroupInput(name="Second"))
        assert refused.value.code == "name_taken"
    assert group_count(database) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"environments": ("nowhere",)}, "environments"),
        ({"template_id": "no-such-template"}, "template_id"),
        ({"departments": ("no-such-department",)}, "departments"),
        ({"claimants": ("no-such-organization",)}, "claimants"),
        ({"registration_mode": "closed"}, "registration_mode"),
        ({"allocation_policy": "random"}, "allocation_policy"),
        ({"reprovision_policy": "always"}, "reprovision_policy"),
        ({"name": "   "}, "name"),
        ({"configuration": {"big": "x" * 70_000}}, "configuration"),
        ({"configuration": {"x": float("nan")}}, "configuration"),
        ({"attributes": {"bad name": 1}}, "attributes.bad name"),
    ],
)
def test_unknown_references_and_bad_settings_are_refused_and_change_nothing(
    svc: Services, org: Org, database: Database, change: dict[str, Any], field: str
) -> None:
    """D1, P10: an unknown environment, template, department or organization, or a bad
    setting, is invalid input naming its field, on creation and on change; the group
    stays as it was."""
    make_environment(svc, "eu-1")
    kept = groups.create_group(
        svc, org.actor, "kept", GroupInput(name="Kept", environments=("eu-1",))
    )
    bad = GroupInput(**{"name": "Bad", **change})

    with pytest.raises(Invalid) as on_create:
        groups.create_group(svc, org.actor, "refused", bad)
    with pytest.raises(Invalid) as on_update:
        groups.update_group(svc, org.actor, "kept", bad)
    with pytest.raises(Invalid) as on_change:
        groups.change_group(svc, org.actor, "kept", change)

    for refused in (on_create, on_update, on_change):
        assert field in refused.value.fields, refused.value.fields
    assert group_count(database) == 1
    assert groups.find_group_now(svc, org.actor, "kept") == kept.group


def test_initial_attributes_follow_the_template_but_may_leave_required_fields_out(
    svc: Services, org: Org
) -> None:
    """A4, D1, D3: the template types them; a required field may come with each
    device's registration instead."""
    template = templates.create_template(
        svc, org.actor, name="Sensor",
        fields=[{"name": "site", "type": "string", "required": True},
                {"name": "depth", "type": "number"}],
    )  # fmt: skip
    given = GroupInput(name="Sensors", template_id=template.id, attributes={"depth": 2.5})
    assert groups.create_group(svc, org.actor, "sensors", given).group.defaults.attributes == {
        "depth": 2.5
    }

    wrong = [({"depth": "deep"}, "attributes.depth"), ({"colour": "red"}, "attributes.colour")]
    for attributes, field in wrong:
        with pytest.raises(InvalidAttributes) as refused:
            groups.change_group(svc, org.actor, "sensors", {"attributes": attributes})
        assert field in refused.value.fields


def test_updating_replaces_the_settings_and_changing_keeps_the_others(
    svc: Services, org: Org, database: Database
) -> None:
    """D1: the group id and the secret stay; each change is audited with before and after;
    a change to nothing is not."""
    make_environment(svc, "eu-1")
    made = groups.create_group(
        svc, org.actor, "changing",
        GroupInput(name="Before", environments=("eu-1",), configuration={"a": 1}),
    )  # fmt: skip
    sealed = stored(database, made.group.id)["secret"]

    replaced = groups.update_group(
        svc, org.actor, "changing", GroupInput(name="After", registration_mode="open")
    )
    assert (replaced.name, replaced.registration_mode) == ("After", RegistrationMode.OPEN)
    assert replaced.environment_ids == ()
    assert replaced.defaults.configuration == {}

    changed = groups.change_group(
        svc, org.actor, made.group.id, {"allocation_policy": "hashed", "open_claims": True}
    )
    assert changed.allocation_policy is AllocationPolicy.HASHED
    assert changed.open_claims
    assert (changed.name, changed.registration_mode) == ("After", RegistrationMode.OPEN)
    assert groups.find_group_now(svc, org.actor, "changing") == changed
    assert changed.group_id == "changing"
    assert stored(database, made.group.id)["secret"] == sealed

    groups.change_group(svc, org.actor, "changing", {"name": "After"})
    entries = audit(database, org.organization.id, "provisioning_group.updated")
    assert len(entries) == 2
    first = next(
        e for e in entries if e["after"]["name"] == "After" and e["before"]["name"] == "Before"
    )
    assert first["before"]["registration_mode"] == "preregistered"
    assert first["after"]["registration_mode"] == "open"
    with pytest.raises(Invalid, match="setting"):
        groups.change_group(svc, org.actor, "changing", {"secret": "mine"})


def test_a_group_takes_its_configuration_from_a_named_one_of_its_organization(
    svc: Services, org: Org, database: Database
) -> None:
    """§5.1 Part D `configuration_id`, B8: the named configuration's body is the group's;
    JSON given later ends the link; another organization's, an unknown one, or JSON that
    differs from it beside it are refused and change nothing."""
    product = licensing.create_product(svc, org.actor, name="Meter firmware")
    named = licensing.create_configuration(
        svc, org.actor, product.id, name="Rollout 3", body={"interval": 30}
    )
    made = groups.create_group(
        svc, org.actor, "named-config", GroupInput(name="Meters", configuration_id=named.id)
    )
    assert made.group.defaults.configuration == {"interval": 30}
    assert made.group.defaults.configuration_id == named.id
    assert groups.find_group_now(svc, org.actor, "named-config") == made.group
    created = audit(database, org.organization.id, "provisioning_group.created")
    assert created[0]["after"]["configuration_id"] == named.id

    other = make_org(svc)
    theirs_product = licensing.create_product(svc, other.actor, name="Theirs")
    theirs = licensing.create_configuration(
        svc, other.actor, theirs_product.id, name="Theirs", body={"x": 1}
    )
    for refused, field in (
        ({"configuration_id": theirs.id}, "configuration_id"),
        ({"configuration_id": "01UNKNOWN0000000000000000"}, "configuration_id"),
        ({"configuration_id": named.id, "configuration": {"interval": 5}}, "configuration"),
    ):
        with pytest.raises(Invalid) as caught:
            groups.change_group(svc, org.actor, "named-config", refused)
        assert field in caught.value.fields
    assert groups.find_group_now(svc, org.actor, "named-config") == made.group

    inline = groups.change_group(svc, org.actor, "named-config", {"configuration": {"a": 1}})
    assert (inline.defaults.configuration, inline.defaults.configuration_id) == ({"a": 1}, None)
    relinked = groups.change_group(svc, org.actor, "named-config", {"configuration_id": named.id})
    assert relinked.defaults.configuration == {"interval": 30}
    unlinked = groups.change_group(svc, org.actor, "named-config", {"configuration_id": None})
    assert unlinked.defaults.configuration == {"interval": 30}
    assert unlinked.defaults.configuration_id is None


def test_rotation_keeps_the_previous_secret_activating_until_it_is_finished(
    svc: Services, org: Org, database: Database
) -> None:
    """D1, D2, §6: after a rotation, keys of the new secret and of the previous one both
    activate; once the rotation is finished, only the new one does. Device keys derived
    meanwhile are the new secret's."""
    made = groups.create_group(svc, org.actor, "rotating", GroupInput(name="Rotating"))
    old = made.secret
    assert activates(svc, made.group, old, "SN-1")
    assert not activates(svc, made.group, base64.b64encode(b"\x07" * 32).decode(), "SN-1")

    rotated = groups.rotate_group_secret(svc, org.actor, "rotating")

    new = rotated.secret
    assert new != old
    assert len(base64.b64decode(new)) == 32
    assert rotated.group.rotating
    assert activates(svc, made.group, old, "SN-1")
    assert activates(svc, made.group, new, "SN-2")
    keys = list(groups.derive_keys(svc, org.actor, "rotating", lambda: ["SN-2"]))
    assert [k.device_key for k in keys] == [own_device_key(new, "SN-2")]
    row = stored(database, made.group.id)
    assert new not in row["secret"]
    assert old not in row["secondary_secret"]
    assert audit(database, org.organization.id, "provisioning_group.secret_rotated")

    finished = groups.finish_rotation(svc, org.actor, "rotating")

    assert not finished.rotating
    assert not activates(svc, made.group, old, "SN-1")
    assert activates(svc, made.group, new, "SN-1")
    assert stored(database, made.group.id)["secondary_secret"] is None
    again = groups.finish_rotation(svc, org.actor, "rotating")
    assert again == finished
    assert len(audit(database, org.organization.id, "provisioning_group.rotation_finished")) == 1


def test_derived_keys_are_d2_for_each_serial_of_the_list_in_order(
    svc: Services, org: Org, database: Database
) -> None:
    """D2: the key of each serial by the test's own HMAC code, the list's blank lines
    skipped and its lines numbered as in the file; the run is audited with its count."""
    made = groups.create_group(svc, org.actor, "keys-group", GroupInput(name="Keys"))
    lines = ["SN-0001\n", "\n", "  SN-é-2  \r\n", "   \n", "SN-3"]

    keys = list(groups.derive_keys(svc, org.actor, "keys-group", lambda: lines))

    assert [(k.line, k.group_id, k.serial) for k in keys] == [
        (1, "keys-group", "SN-0001"), (3, "keys-group", "SN-é-2"), (5, "keys-group", "SN-3"),
    ]  # fmt: skip
    assert [k.device_key for k in keys] == [own_device_key(made.secret, k.serial) for k in keys]
    (entry,) = audit(database, org.organization.id, "provisioning_group.keys_derived")
    assert entry["after"] == {"count": 3}


def test_a_list_with_invalid_serials_is_refused_whole_naming_each_line(
    svc: Services, org: Org, database: Database
) -> None:
    groups.create_group(svc, org.actor, "strict-group", GroupInput(name="Strict"))
    lines = ["GOOD-1\n", "two words\n", "\n", "x" * 101 + "\n", "tab\there\n", "GOOD-2\n"]
    told: list[InvalidSerial] = []

    with pytest.raises(SerialListRefused) as refused:
        groups.derive_keys(svc, org.actor, "strict-group", lambda: lines, on_invalid=told.append)

    assert refused.value.code == "invalid"
    assert "3 of 5 serial(s)" in refused.value.detail
    assert [(i.line, i.text) for i in told] == [(2, "two words"), (4, "x" * 101), (5, "tab\there")]
    assert audit(database, org.organization.id, "provisioning_group.keys_derived") == []
    with pytest.raises(Invalid, match="no serial"):
        groups.derive_keys(svc, org.actor, "strict-group", lambda: ["\n", " \n"])


@pytest.mark.parametrize(("roles", "allowed"), MANAGE_CASES)
def test_only_administrators_and_iot_managers_manage_groups(
    svc: Services, org: Org, database: Database, roles: list[str], allowed: bool
) -> None:
    """D1, §0: managing provisioning groups (create, change, rotate, derive keys) takes
    an Administrator or an IoT Manager; every member reads them."""
    existing = groups.create_group(svc, org.actor, "existing", GroupInput(name="Existing"))
    existing_row = stored(database, existing.group.id)
    actor = member_actor(make_member(svc, org, roles=roles))
    actions = [
        lambda: groups.create_group(svc, actor, "by-member", GroupInput(name="By member")),
        lambda: groups.update_group(svc, actor, "existing", GroupInput(name="Renamed")),
        lambda: groups.change_group(svc, actor, "existing", {"open_claims": True}),
        lambda: groups.rotate_group_secret(svc, actor, "existing"),
        lambda: groups.finish_rotation(svc, actor, "existing"),
        lambda: list(groups.derive_keys(svc, actor, "existing", lambda: ["SN-1"])),
    ]

    for action in actions:
        if allowed:
            action()
        else:
            with pytest.raises(PermissionDenied) as refused:
                action()
            assert refused.value.code == "permission_denied"

    assert groups.find_group_now(svc, actor, "existing").id == existing.group.id
    assert len(groups.list_groups(svc, actor, PageRequest(None, 50)).items) == (2 if allowed else 1)
    if not allowed:
        assert stored(database, existing.group.id)["name"] == "Existing"
        assert stored(database, existing.group.id)["secret"] == existing_row["secret"]
        assert (
            stored(database, existing.group.id)["secondary_secret"]
            == (existing_row["secondary_secret"])
        )


def test_a_restricted_iot_manager_gives_new_devices_their_own_departments_only(
    svc: Services, org: Org
) -> None:
    """P5: what a restricted member makes gets their departments unless they choose a
    subset; departments outside theirs are refused."""
    mine, theirs = make_department(svc, org), make_department(svc, org)
    manager = member_actor(make_member(svc, org, roles=["iot_manager"], departments=[mine.id]))

    made = groups.create_group(svc, manager, "restricted", GroupInput(name="Restricted")).group
    assert made.defaults.departments == {mine.id}
    with pytest.raises(DepartmentForbidden):
        groups.create_group(
            svc, manager, "outside", GroupInput(name="Outside", departments=(theirs.id,))
        )
    shared = groups.create_group(svc, org.actor, "shared", GroupInput(name="Shared")).group
    assert shared.defaults.departments == frozenset()
    renamed = groups.change_group(svc, manager, "shared", {"name": "Shared too"})
    assert renamed.defaults.departments == frozenset()


def test_environments_are_checked_unique_and_marked_up_or_down(
    svc: Services, database: Database
) -> None:
    """P2: the operator defines environments; members list them. Bad input and a taken
    name are refused and change nothing; marking one down is audited once."""
    make_environment(svc, "eu-1", weight=3)
    with pytest.raises(NameTaken):
        make_environment(svc, "eu-1")
    for bad in (
        {"name": "has space"},
        {"api_url": "ftp://x.example.com"},
        {"mqtt_url": "https://x.example.com"},
        {"weight": 1001},
    ):
        arguments = {
            "name": "bad",
            "api_url": "https://x.example.com",
            "mqtt_url": "mqtt://x",
            **bad,
        }
        with pytest.raises(Invalid):
            environments.create_environment(svc, **arguments)  # type: ignore[arg-type]
    assert [e.name for e in environments.list_environments(svc)] == ["eu-1"]

    down = environments.set_environment_status(svc, "eu-1", up=False)
    environments.set_environment_status(svc, "eu-1", up=False)

    assert not down.up
    assert [e.up for e in environments.list_environments(svc)] == [False]
    a = t.audit_entries.c
    with database.engine.connect() as conn:
        actions = conn.execute(select(a.action).where(a.target_type == "environment")).scalars()
        assert sorted(actions) == ["environment.created", "environment.marked_down"]
    with pytest.raises(NotFound):
        environments.set_environment_status(svc, "nowhere", up=True)


def test_every_member_lists_environments_but_not_a_customer_user(svc: Services, org: Org) -> None:
    make_environment(svc, "eu-1")
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    customer_user = Actor(ActorKind.CUSTOMER_USER, "someone", "someone", Scope(org.organization.id))
    assert [e.name for e in environments.list_environments(svc, viewer)] == ["eu-1"]
    with pytest.raises(PermissionDenied):
        environments.list_environments(svc, customer_user)


def test_find_group_sees_only_the_scope_organization(svc: Services, org: Org) -> None:
    """Activation and onboarding use find_group with a scope: another organization's
    group, by its public id or its id, is not found."""
    made = groups.create_group(svc, org.actor, "scoped", GroupInput(name="Scoped")).group
    other = make_org(svc)
    with svc.uow(read_only=True) as uow:
        assert find_group(uow, Scope(org.organization.id), "scoped") == made
        for ref in ("scoped", made.id):
            with pytest.raises(NotFound):
                find_group(uow, Scope(other.organization.id), ref)


class CreateMeanwhile:
    """A keyring that, the first time it seals, lets another request create a group
    first: the moment between the check that a group id is free and the insert."""

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


def test_a_group_id_taken_by_a_concurrent_creation_is_name_taken(
    svc: Services, org: Org, database: Database
) -> None:
    """D1: two creations of one group id at once: one group, and the other gets
    name_taken, not a generic conflict."""
    if database.backend == "sqlite":
        pytest.skip("SQLite runs write transactions one at a time (BEGIN IMMEDIATE)")
    other = make_org(svc)

    def another_request_creates() -> None:
        groups.create_group(svc, other.actor, "contested", GroupInput(name="Theirs"))

    racing = replace(svc, secrets=CreateMeanwhile(svc.secrets, another_request_creates))

    with pytest.raises(NameTaken) as refused:
        groups.create_group(racing, org.actor, "contested", GroupInput(name="Mine"))

    assert refused.value.code == "name_taken"
    assert group_count(database) == 1
    assert groups.find_group_now(svc, other.actor, "contested").name == "Theirs"


class OvertakenAfterReading:
    """The provisioning groups of a unit of work, where another request runs to its end
    right after the first read of a group's secrets: the moment between a rotation's read
    and its write."""

    def __init__(self, inner: Any, meanwhile: Callable[[], None]) -> None:
        self.inner = inner
        self.meanwhile: Callable[[], None] | None = meanwhile

    def sealed_secrets(self, group_ref: str) -> tuple[str, str | None]:
        found: tuple[str, str | None] = self.inner.sealed_secrets(group_ref)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("overtaking", ["rotate", "finish"])
def test_a_rotation_overtaken_by_another_is_refused_and_loses_no_secret(
    svc: Services, org: Org, database: Database, overtaking: str
) -> None:
    """D1: a rotation (or finish) that another one overtakes between reading the secrets
    and writing them is refused (conflict) rather than overwriting them: every secret
    handed out still activates."""
    if database.backend == "sqlite":
        pytest.skip("SQLite runs write transactions one at a time (BEGIN IMMEDIATE)")
    made = groups.create_group(svc, org.actor, "twice", GroupInput(name="Twice"))
    handed_out = [made.secret]
    if overtaking == "finish":
        # A rotation under way, whose previous secret the overtaking rotation drops.
        handed_out = [groups.rotate_group_secret(svc, org.actor, "twice").secret]

    def another_rotation() -> None:
        handed_out.append(groups.rotate_group_secret(svc, org.actor, "twice").secret)

    @contextmanager
    def overtaken_uow(**options: Any) -> Iterator[Any]:
        with svc.uow(**options) as unit:
            unit.provisioning_groups = OvertakenAfterReading(
                unit.provisioning_groups, another_rotation
            )
            yield unit

    racing = replace(svc, uow=overtaken_uow)
    action = groups.rotate_group_secret if overtaking == "rotate" else groups.finish_rotation

    with pytest.raises(Conflict) as refused:
        action(racing, org.actor, "twice")

    assert refused.value.code == "conflict"
    assert len(handed_out) == 2
    assert all(activates(svc, made.group, secret, "SN-1") for secret in handed_out)
