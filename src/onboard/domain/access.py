"""Roles, permissions and the actor's scope: who may do what, and on which departments (P4, P5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from onboard.domain.errors import DepartmentForbidden, Invalid, PermissionDenied


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    DEVICE_MANAGER = "device_manager"
    IOT_MANAGER = "iot_manager"
    TECHNICIAN = "technician"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    MANAGE_DEPARTMENTS = "manage_departments"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CUSTOMERS = "manage_customers"
    READ_AUDIT = "read_audit"
    MANAGE_TEMPLATES = "manage_templates"
    MANAGE_CODES = "manage_codes"
    EDIT_DEVICES = "edit_devices"
    DELETE_DEVICES = "delete_devices"
    PAIR = "pair"
    RECORD_SERVICE = "record_service"
    MANAGE_NOTIFICATIONS = "manage_notifications"
    MANAGE_LICENSING = "manage_licensing"  # products, configurations, pairing codes (B3, B8)
    GRANT_LICENSES = "grant_licenses"  # B2: Administrators, standing in for a purchase
    MANAGE_PROVISIONING = "manage_provisioning"  # D1, D3: groups, registrations


_FIELD_WORK = frozenset(
    {Permission.READ, Permission.EDIT_DEVICES, Permission.PAIR, Permission.RECORD_SERVICE}
)

# §0: Device Managers run codes, devices, templates, pairing and customers; Technicians
# scan, pair and unpair, create devices and record service; Viewers read everything.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.DEVICE_MANAGER: _FIELD_WORK
    | {
        Permission.MANAGE_CUSTOMERS,
        Permission.MANAGE_TEMPLATES,
        Permission.MANAGE_CODES,
        Permission.DELETE_DEVICES,
        Permission.MANAGE_NOTIFICATIONS,
        Permission.MANAGE_LICENSING,
    },
    Role.IOT_MANAGER: frozenset({Permission.READ, Permission.MANAGE_PROVISIONING}),
    Role.TECHNICIAN: _FIELD_WORK,
    Role.VIEWER: frozenset({Permission.READ, Permission.READ_AUDIT}),
}


def parse_roles(raw: Iterable[str]) -> frozenset[Role]:
    """Roles from their wire names; at least one, each known."""
    roles: set[Role] = set()
    for name in raw:
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise Invalid(
                f"Unknown role {name!r}; roles are {known}.", fields={"roles": "unknown role"}
            ) from None
    if not roles:
        raise Invalid("A member needs at least one role.", fields={"roles": "at least one role"})
    return frozenset(roles)


class ActorKind(StrEnum):
    MEMBER = "member"
    TOKEN = "token"  # noqa: S105 - an actor kind, not a secret
    CUSTOMER_USER = "customer_user"
    CODE_USER = "code_user"
    DEVICE = "device"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Scope:
    """What an actor can see: one organization, and all departments (None) or a set of them."""

    organization_id: str
    departments: frozenset[str] | None = None

    @property
    def restricted(self) -> bool:
        return self.departments is not None

    def sees(self, departments: frozenset[str] | None) -> bool:
        """P5: a restricted scope sees resources whose departments meet its own; a resource
        with no department (None or empty) is visible only to unrestricted scopes."""
        if self.departments is None:
            return True
        return bool(departments) and not self.departments.isdisjoint(departments or ())

    def assign(
        self, chosen: frozenset[str] | None, *, may_be_empty: bool = False
    ) -> frozenset[str] | None:
        """P5: departments of something a member creates or changes. A restricted member
        gets their own departments unless they choose a subset of them, and may not choose
        none, which would hide the record from every restricted member, themselves
        included (``may_be_empty`` for defaults, such as a template's)."""
        if self.departments is None:
            return chosen
        if chosen is None:
            return self.departments
        if not chosen and not may_be_empty:
            raise DepartmentForbidden(
                "Choose at least one of your departments.",
                fields={"departments": "at least one of your departments"},
            )
        if not chosen <= self.departments:
            raise DepartmentForbidden(
                "You can only use departments you belong to.",
                fields={"departments": "outside your departments"},
            )
        return chosen


@dataclass(frozen=True)
class Actor:
    """Who is acting: a member (by session or token), a customer user, a device, the operator."""

    kind: ActorKind
    id: str | None
    label: str
    scope: Scope | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    member_id: str | None = None
    customer_id: str | None = None
    source_ip: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.kind is ActorKind.OPERATOR:
            return frozenset(Permission)
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> Scope:
        """The actor's scope, if the actor holds the permission; otherwise PermissionDenied."""
        if self.scope is None or not self.can(permission):
            raise PermissionDenied(f"Your roles do not allow this ({permission.value}).")
        return self.scope

    def can_any(self, *permissions: Permission) -> bool:
        return any(p in self.permissions for p in permissions)

    def require_any(self, *permissions: Permission) -> Scope:
        """As require(), for actions that any of ``permissions`` allows."""
        if self.scope is None or not self.can_any(*permissions):
            held = " or ".join(p.value for p in permissions)
            raise PermissionDenied(f"Your roles do not allow this ({held}).")
        return self.scope

    def require_unrestricted(self, permission: Permission) -> Scope:
        """As require(), for actions that affect the whole organization."""
        scope = self.require(permission)
        if scope.restricted:
            raise DepartmentForbidden("Only members of all departments can do this.")
        return scope
