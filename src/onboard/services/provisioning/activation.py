"""Plug-and-play activation (SPEC D4, §6): a device proves it holds the key derived from
its group's secret and its serial, and gets its twin, a credential, its environment, its
configuration and initial attributes. Activating again keeps the twin and rotates the
credential. Everything a batch of activations reads comes in one query, and everything
it writes in one statement (§7: a thousand a second); concurrent first activations of one
device race to give its registration a twin, and the loser becomes a repeat: one twin,
whatever the timing."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.audit import Change, Target, entry_of, event_of
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotRegistered,
    RateLimited,
    RegistrationDisabled,
    SignatureExpired,
    Unauthenticated,
)
from onboard.domain.provisioning import (
    ActivationView,
    Environment,
    ProvisioningGroup,
    Registration,
    RegistrationMode,
    ReprovisionPolicy,
    allocate,
    check_activation,
    group_secret_context,
)
from onboard.domain.values import digest_secret
from onboard.services.common import ATTEMPT_WINDOW_SECONDS
from onboard.services.ports import ActivationAsked, ActivationWrite, Services
from onboard.services.provisioning.reprovisioning import refuse_if_never

# §6: a proof names a time no more than this far ahead (and not in the past).
MAX_AHEAD = timedelta(hours=1)
WINDOW = ATTEMPT_WINDOW_SECONDS


@dataclass(frozen=True)
class Activation:
    """What an activating device is told (§6): its twin, its new credential (returned this
    once, stored hashed), where to connect, its configuration and initial attributes."""

    device_id: str
    credential: str
    environment: Environment | None
    configuration: dict[str, Any]
    attributes: dict[str, Any]
    first: bool
    """Whether this activation made the twin (False: a repeat, which rotated the credential)."""


def provisioned_actor(organization_id: str, serial: str, source_ip: str | None) -> Actor:
    return Actor(
        kind=ActorKind.DEVICE,
        id=None,
        label=f"device {serial[:60]}",
        scope=Scope(organization_id),
        source_ip=source_ip,
    )


def _check_time(svc: Services, expires: int) -> None:
    now = svc.clock.now().timestamp()
    if expires < now:
        raise SignatureExpired("The signature's time has passed; sign with a later one.")
    if expires > now + MAX_AHEAD.total_seconds():
        raise SignatureExpired("The signature's time is more than an hour ahead.")


def _environment(
    group: ProvisioningGroup,
    environments: Sequence[Environment],
    registration: Registration,
) -> Environment | None:
    """The device's environment: the one it has while that is still the group's and up,
    else a new allocation among those up (D4)."""
    for environment in environments:
        if environment.id == registration.environment_id and environment.up:
            return environment
    return allocate(
        group.allocation_policy, environments, registration.serial, secrets.SystemRandom().random()
    )


def _twin(svc: Services, group: ProvisioningGroup, registration: Registration) -> Device:
    now = svc.clock.now()
    return Device(
        id=svc.ids.new(),
        organization_id=group.organization_id,
        name=registration.serial,
        serial=registration.serial,
        template_id=group.defaults.template_id,
        attributes={**group.defaults.attributes, **registration.attributes},
        departments=group.defaults.departments,
        customer_id=None,
        location=Location(),
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _registration(svc: Services, view: ActivationView, serial: str) -> Registration:
    """The serial's registration; an open group's device registers as it activates (D3),
    in a transaction of its own (concurrent first activations make one)."""
    group, registration = view.group, view.registration
    if registration is None:
        if group.registration_mode is RegistrationMode.PREREGISTERED:
            raise NotRegistered(f"Serial {serial!r} is not registered in group {group.group_id!r}.")
        with svc.uow() as uow:
            registration = uow.registrations.ensure(
                Registration(
                    svc.ids.new(), group.organization_id, group.id, serial, {}, False, None,
                    None, None, svc.clock.now(),
                )
            )  # fmt: skip
            uow.commit()
    if registration.disabled:
        raise RegistrationDisabled(f"The registration of serial {serial!r} is disabled.")
    return registration


def _moved_off(view: ActivationView, registration: Registration) -> bool:
    """D6: the device asks for another environment, its own being down (or no longer one
    of its group's)."""
    if registration.environment_id is None or registration.device_id is None:
        return False
    return not any(e.id == registration.environment_id and e.up for e in view.environments)


def _leave(svc: Services, group: ProvisioningGroup, registration: Registration) -> Registration:
    """D6, started by the device: the group's policy refuses (never), keeps the twin
    (migrate), or leaves it behind for a new one from the group's defaults (reset)."""
    refuse_if_never(group)
    if group.reprovision_policy is not ReprovisionPolicy.RESET:
        return registration
    with svc.uow() as uow:
        uow.registrations.detach(registration.id, svc.clock.now())
        uow.commit()
    return replace(registration, device_id=None)


@dataclass(frozen=True)
class ActivationLimits:
    """§6 rate limits of activation, a minute each: failures per source address (devices
    of a factory or a site share one, so successes do not count), and attempts per device
    (its group and serial)."""

    failures_per_source: int = 30
    attempts_per_device: int = 10


@dataclass(frozen=True)
class ActivationRequest:
    """A device's proof (§6): its group and serial, the time it signed until, and the
    signature; and the address it came from."""

    group_id: str
    serial: str
    expires: int
    signature: str
    source_ip: str | None = None

    @property
    def failures_key(self) -> str:
        return f"activate-failed:{self.source_ip or 'unknown'}"

    @property
    def limit_key(self) -> str:
        return f"activate:{self.group_id}\n{self.serial}"


def activate(
    svc: Services,
    *,
    group_id: str,
    serial: str,
    expires: int,
    signature: str,
    source_ip: str | None = None,
    limits: ActivationLimits = ActivationLimits(),
) -> Activation:
    """D4, §6: check the proof, then make or find the twin and hand out a new credential.
    InvalidSignature, SignatureExpired, NotRegistered (also for an unknown group),
    RegistrationDisabled; RateLimited past ``limits``."""
    request = ActivationRequest(group_id, serial, expires, signature, source_ip)
    (outcome,) = activate_many(svc, [request], limits)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def activate_many(
    svc: Services,
    requests: Sequence[ActivationRequest],
    limits: ActivationLimits = ActivationLimits(),
) -> list[Activation | DomainError]:
    """activate() for activations that arrived together (§7): what they read comes in one
    query and what they write goes in one statement, each round trip shared by the
    batch. Each outcome, in order, is the activation or the error that refused it; a
    refused proof counts against its source (§6). Activations of one device in a batch
    run one after the other; one that raced a concurrent activation of its device for the
    twin runs again, as a repeat of that one."""
    outcomes: dict[int, Activation | DomainError] = {}
    tries = dict.fromkeys(range(len(requests)), 0)
    while len(outcomes) < len(requests):
        batch: dict[str, int] = {}  # one activation per device at a time (one hit each)
        for n in tries:
            if n not in outcomes:
                batch.setdefault(requests[n].limit_key, n)
        for n in _round(svc, requests, list(batch.values()), limits, outcomes):
            tries[n] += 1
            if tries[n] > 1:
                outcomes[n] = Conflict("A concurrent activation of this device; try again.")
    return [outcomes[n] for n in range(len(requests))]


def _refuse_if_failing(failed: int, limits: ActivationLimits) -> None:
    if failed >= limits.failures_per_source:
        raise RateLimited(
            "Too many failed activations from here; try again in a minute.", retry_after=WINDOW
        )


@dataclass(frozen=True)
class _Prepared:
    """An activation checked and ready to write, and what its device will be told."""

    write: ActivationWrite
    activation: Activation


def _round(
    svc: Services,
    requests: Sequence[ActivationRequest],
    batch: list[int],
    limits: ActivationLimits,
    outcomes: dict[int, Activation | DomainError],
) -> list[int]:
    """One try of the activations ``batch`` numbers (of distinct devices), their outcomes
    put in ``outcomes``: everything read in one query, each proof checked, then every
    write in one statement (on PostgreSQL: two round trips in all, §7). An activation's
    writes take effect only if its registration is as read (no twin, for a first
    activation) and its device is within its rate limit. Returns the activations that
    raced a concurrent one for their twin: they are to run again."""
    now = svc.clock.now()
    asked = [
        ActivationAsked(requests[n].group_id, requests[n].serial, requests[n].failures_key)
        for n in batch
    ]
    with svc.uow(read_only=True) as uow:
        views = uow.activations.view_many(asked, now - timedelta(seconds=WINDOW))
        failed = {
            a.failures_key: uow.rate_limits.count(a.failures_key, now=now, window_seconds=WINDOW)
            for a, view in zip(asked, views, strict=True)
            if view is None
        }
    prepared: dict[int, _Prepared] = {}
    refused: Counter[str] = Counter()  # failures by source in this batch, so far
    opened: dict[tuple[str, ...], list[str]] = {}
    for n, view in zip(batch, views, strict=True):
        request = requests[n]
        key = request.failures_key
        try:
            _check_time(svc, request.expires)
            if view is None:
                _refuse_if_failing(failed[key] + refused[key], limits)
                raise NotRegistered(f"No provisioning group {request.group_id!r}.")
            _refuse_if_failing(view.recent_failures + refused[key], limits)
            prepared[n] = _prepare(svc, request, view, now, opened)
        except DomainError as error:
            outcomes[n] = error
            if isinstance(error, (Unauthenticated, Forbidden)):
                refused[key] += 1
    if refused:
        with svc.uow() as uow:
            for key, count in refused.items():
                for _ in range(count):
                    uow.rate_limits.hit(key, now=now, window_seconds=WINDOW)
            uow.commit()
    if not prepared:
        return []
    with svc.uow(single_statement=True) as uow:
        written = uow.activations.write_many(
            [p.write for p in prepared.values()],
            at=now,
            limit=limits.attempts_per_device,
            window_seconds=WINDOW,
        )
        uow.commit()
    raced = []
    for (n, ready), (made, hits) in zip(prepared.items(), written, strict=True):
        if hits > limits.attempts_per_device:
            outcomes[n] = RateLimited(
                "Too many activations of this device; try again in a minute.", retry_after=WINDOW
            )
        elif made:
            outcomes[n] = ready.activation
        else:
            raced.append(n)  # the twin is made now: this activation is a repeat of that one
    return raced


def _prepare(
    svc: Services,
    request: ActivationRequest,
    view: ActivationView,
    now: datetime,
    opened_secrets: dict[tuple[str, ...], list[str]],
) -> _Prepared:
    """The proof checked, the twin (on a first activation), environment and credential
    chosen, and the writes that make them. ``opened_secrets``: the groups' secrets opened
    so far in the batch, by their sealed texts (a batch's serials are mostly of one
    group)."""
    group, serial = view.group, request.serial
    opened = opened_secrets.get(view.sealed_secrets)
    if opened is None:
        context = group_secret_context(group.id)
        opened = [svc.secrets.open(sealed, context=context) for sealed in view.sealed_secrets]
        opened_secrets[view.sealed_secrets] = opened
    check_activation(opened, request.group_id, serial, request.expires, request.signature)
    registration = _registration(svc, view, serial)
    moved = _moved_off(view, registration)
    if moved:
        registration = _leave(svc, group, registration)
    environment = _environment(group, view.environments, registration)
    credential = secrets.token_urlsafe(32)
    twin = _twin(svc, group, registration) if registration.device_id is None else None
    if twin is not None:
        device_id, organization_id = twin.id, twin.organization_id
        departments = twin.departments
    else:
        device_id = registration.device_id or ""
        organization_id = view.device_organization_id or group.organization_id
        departments = view.device_departments
    first = registration.activated_at is None
    actor = provisioned_actor(organization_id, serial, request.source_ip)
    change = Change(
        "device.activated" if first else "device.reprovisioned" if moved else "device.reactivated",
        Target("device", device_id, departments),
        after={
            "group_id": group.group_id,
            "serial": serial,
            "environment": environment.name if environment else None,
        },
    )
    write = ActivationWrite(
        first=twin,
        registration_id=registration.id,
        environment_id=environment.id if environment else None,
        credential_digest=digest_secret(credential),
        entry=entry_of(svc.ids.new(), now, actor, change, organization_id),
        event=event_of(svc.ids.new(), now, actor, change, organization_id),
        limit_key=request.limit_key,
    )
    attributes = {**group.defaults.attributes, **registration.attributes}
    activation = Activation(
        device_id, credential, environment, group.defaults.configuration, attributes, first
    )
    return _Prepared(write, activation)
