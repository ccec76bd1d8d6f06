"""Roles, permissions and department scope (SPEC P4, P5)."""

from __future__ import annotations

import pytest

from onboard.domain.access import (
    ROLE_PERMISSIONS,
    Actor,
    ActorKind,
    Permission,
    Role,
    Scope,
    parse_roles,
)
from onboard.domain.errors import DepartmentForbidden, Invalid, PermissionDenied


def actor(*roles: Role, departments: frozenset[str] | None = None) -> Actor:
    return Actor(
        ActorKind.MEMBER,
        "m1",
        "m@example.com",
        Scope("org", departments),
        frozenset(roles),
        member_id="m1",
    )


def test_an_unrestricted_scope_sees_everything_in_its_organization() -> None:
    scope = Scope("org")
    assert scope.sees(frozenset({"a"}))
    assert scope.sees(None)
    assert scope.sees(frozenset())


def test_a_restricted_scope_sees_only_resources_that_share_a_department() -> None:
    scope = Scope("org", frozenset({"a", "b"}))
    assert scope.sees(frozenset({"b", "c"}))
    assert not scope.sees(frozenset({"c"}))


def test_a_resource_without_departments_is_hidden_from_restricted_scopes() -> None:
    scope = Scope("org", frozenset({"a"}))
    assert not scope.sees(None)
    assert not scope.sees(frozenset())


def test_what_a_restricted_member_creates_gets_their_departments_or_a_chosen_subset() -> None:
    scope = Scope("org", frozenset({"a", "b"}))
    assert scope.assign(None) == frozenset({"a", "b"})
    assert scope.assign(frozenset({"a"})) == frozenset({"a"})
    with pytest.raises(DepartmentForbidden):
        scope.assign(frozenset({"a", "z"}))


def test_a_restricted_member_may_not_hide_a_record_from_every_restricted_member() -> None:
    """P5: no departments at all would take the record out of the member's own sight."""
    scope = Scope("org", frozenset({"a"}))
    with pytest.raises(DepartmentForbidden):
        scope.assign(frozenset())
    assert scope.assign(frozenset(), may_be_empty=True) == frozenset()


def test_an_unrestricted_member_assigns_what_they_choose() -> None:
    assert Scope("org").assign(frozenset({"z"})) == frozenset({"z"})
    assert Scope("org").assign(None) is None
    assert Scope("org").assign(frozenset()) == frozenset()


def test_only_administrators_manage_members_and_departments() -> None:
    for role in Role:
        allowed = actor(role).can(Permission.MANAGE_MEMBERS)
        assert allowed == (role is Role.ADMINISTRATOR)


def test_every_role_can_read() -> None:
    assert all(Permission.READ in perms for perms in ROLE_PERMISSIONS.values())


def test_a_viewer_reads_the_audit_log_but_changes_nothing() -> None:
    viewer = actor(Role.VIEWER)
    assert viewer.can(Permission.READ_AUDIT)
    with pytest.raises(PermissionDenied):
        viewer.require(Permission.MANAGE_CUSTOMERS)


def test_permissions_of_several_roles_add_up() -> None:
    both = actor(Role.TECHNICIAN, Role.DEVICE_MANAGER)
    assert both.can(Permission.MANAGE_CUSTOMERS)
    assert not both.can(Permission.MANAGE_MEMBERS)


def test_organization_wide_actions_need_an_unrestricted_scope() -> None:
    restricted = actor(Role.ADMINISTRATOR, departments=frozenset({"a"}))
    with pytest.raises(DepartmentForbidden):
        restricted.require_unrestricted(Permission.MANAGE_DEPARTMENTS)
    assert actor(Role.ADMINISTRATOR).require_unrestricted(Permission.MANAGE_DEPARTMENTS)


def test_a_customer_user_has_no_member_permissions() -> None:
    customer = Actor(ActorKind.CUSTOMER_USER, "u1", "c@example.com", customer_id="c1")
    with pytest.raises(PermissionDenied):
        customer.require(Permission.READ)


def test_role_names_are_parsed_and_unknown_ones_refused() -> None:
    assert parse_roles(["viewer", "technician"]) == {Role.VIEWER, Role.TECHNICIAN}
    with pytest.raises(Invalid):
        parse_roles(["superuser"])
    with pytest.raises(Invalid):
        parse_roles([])


def test_require_any_allows_a_holder_of_one_of_the_permissions() -> None:
    either = (Permission.EDIT_DEVICES, Permission.MANAGE_PROVISIONING)
    assert actor(Role.IOT_MANAGER).require_any(*either) == Scope("org", None)
    assert actor(Role.TECHNICIAN).require_any(*either) == Scope("org", None)
    with pytest.raises(PermissionDenied, match="edit_devices or manage_provisioning"):
        actor(Role.VIEWER).require_any(*either)
