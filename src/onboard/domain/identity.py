"""Organizations, people, members, departments, customers and API tokens (SPEC P1-P7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onboard.domain.access import Role


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Department:
    id: str
    organization_id: str
    name: str
    created_at: datetime

    @property
    def departments(self) -> frozenset[str]:
        """A department is seen by members of that department (P5)."""
        return frozenset({self.id})


@dataclass(frozen=True)
class Person:
    """One human: one email, one password, any number of memberships (P4)."""

    id: str
    email: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    """A person's membership in one organization: roles and all (None) or some departments."""

    id: str
    organization_id: str
    person_id: str
    email: str
    roles: frozenset[Role]
    departments: frozenset[str] | None
    created_at: datetime

    @property
    def is_unrestricted_administrator(self) -> bool:
        return Role.ADMINISTRATOR in self.roles and self.departments is None


@dataclass(frozen=True)
class Customer:
    """An external account owning devices in the field (P6)."""

    id: str
    organization_id: str
    name: str
    departments: frozenset[str] | None
    created_at: datetime


@dataclass(frozen=True)
class CustomerUser:
    """A person who signs in to see the devices of one customer (P6, A15)."""

    id: str
    organization_id: str
    customer_id: str
    person_id: str
    email: str
    created_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """A personal API token of one membership; only its hash is stored (P7)."""

    id: str
    organization_id: str
    member_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


def administrators_left(members: list[Member], *, without: str, replacement: Member | None) -> int:
    """How many unrestricted Administrators remain if member ``without`` is removed or
    replaced by ``replacement`` (guards LastAdministrator)."""
    remaining = [m for m in members if m.id != without]
    if replacement is not None:
        remaining.append(replacement)
    return sum(1 for m in remaining if m.is_unrestricted_administrator)
