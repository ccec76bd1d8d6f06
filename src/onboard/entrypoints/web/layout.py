"""The back-office shell: the areas in the navigation, the organization and who is signed in."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from onboard.domain.access import Actor, ActorKind, Permission
from onboard.domain.errors import DomainError
from onboard.entrypoints import http
from onboard.services.organizations import get_organization


@dataclass(frozen=True)
class Area:
    """One entry of the navigation; an area without a path is not built yet."""

    key: str
    label: str
    path: str | None
    permission: Permission = Permission.READ


AREAS: tuple[Area, ...] = (
    Area("dashboard", "Dashboard", "/"),
    Area("codes", "Codes", "/codes"),
    Area("batches", "Batches", "/batches"),
    Area("devices", "Devices", "/devices"),
    Area("templates", "Templates", "/templates"),
    Area("customers", "Customers", "/customers"),
    Area("licenses", "Licenses", "/products"),
    Area("enrollments", "Enrollments", "/enrollments"),
    Area("provisioning", "Provisioning", "/provisioning"),
    Area("environments", "Environments", "/environments"),
    Area("departments", "Departments", "/departments"),
    Area("members", "Members", "/members"),
    Area("audit", "Audit log", "/audit", Permission.READ_AUDIT),
)


@dataclass(frozen=True)
class Shell:
    """What the header and navigation of every back-office page show."""

    organization: str
    email: str
    areas: tuple[Area, ...]


def member_of(request: Request) -> Actor | None:
    """The member behind the session, if the request has one working in an organization."""
    found = http.session_of(request)
    if found is None or found[1] is None or found[1].kind is not ActorKind.MEMBER:
        return None
    return found[1]


def shell_of(request: Request) -> Shell | None:
    """The shell for a signed-in member; None for everyone else (sign-in, portal pages)."""
    actor = member_of(request)
    if actor is None:
        return None
    try:
        organization = get_organization(http.container(request).services, actor)
    except DomainError:
        return None
    areas = tuple(a for a in AREAS if actor.can(a.permission))
    return Shell(organization.name, actor.label, areas)
