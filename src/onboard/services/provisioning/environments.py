"""Environments (SPEC P2): the deployment targets devices are sent to, defined by the
operator for the whole platform; members choose among them for their groups."""

from __future__ import annotations

from dataclasses import replace

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.errors import NameTaken, NotFound
from onboard.domain.provisioning import Environment, checked_environment
from onboard.services.common import OPERATOR
from onboard.services.ports import Services, UnitOfWork


def _snapshot(environment: Environment) -> dict[str, object]:
    return {
        "name": environment.name,
        "region": environment.region,
        "api_url": environment.api_url,
        "mqtt_url": environment.mqtt_url,
        "up": environment.up,
        "weight": environment.weight,
    }


def find_environment(uow: UnitOfWork, name_or_id: str) -> Environment:
    environment = uow.environments.by_name(name_or_id) or uow.environments.get(name_or_id)
    if environment is None:
        raise NotFound(f"No environment {name_or_id!r}.")
    return environment


def create_environment(
    svc: Services,
    *,
    name: str,
    api_url: str,
    mqtt_url: str,
    region: str | None = None,
    weight: int = 1,
    up: bool = True,
) -> Environment:
    """P2: a new environment (the operator's, from the CLI)."""
    environment = checked_environment(
        Environment(svc.ids.new(), name, api_url, mqtt_url, region, weight, up)
    )
    with svc.uow() as uow:
        if uow.environments.by_name(environment.name) is not None:
            raise NameTaken(f"An environment named {environment.name!r} exists already.")
        uow.environments.add(environment, svc.clock.now())
        uow.record(
            OPERATOR,
            Change(
                "environment.created",
                Target("environment", environment.id),
                after=_snapshot(environment),
            ),
            organization_id=None,
        )
        uow.commit()
    return environment


def set_environment_status(svc: Services, name_or_id: str, *, up: bool) -> Environment:
    """P2, D4: mark an environment up or down; activations skip one that is down, and its
    devices may ask to be reprovisioned elsewhere (D6)."""
    with svc.uow() as uow:
        before = find_environment(uow, name_or_id)
        after = replace(before, up=up)
        if before.up != up:
            uow.environments.update(after, svc.clock.now())
            uow.record(
                OPERATOR,
                Change(
                    "environment.marked_up" if up else "environment.marked_down",
                    Target("environment", after.id),
                    before={"up": before.up},
                    after={"up": up},
                ),
                organization_id=None,
            )
            uow.commit()
    return after


def list_environments(svc: Services, actor: Actor | None = None) -> list[Environment]:
    """Every environment, by name: for the operator, or for any member (``actor``), who
    sees them to choose a group's (P2)."""
    if actor is not None:
        actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        return uow.environments.all()
