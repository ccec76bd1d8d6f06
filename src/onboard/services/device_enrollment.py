"""Enrollment as devices and gateways take part in it (SPEC C3, C4, C6, §6): a device
proves it holds its access key and gets its credential, completes with its capabilities,
learns of its unenrollment at check-in and acknowledges it; a gateway fetches the jobs for
its nodes, reports their results, and reports the serials it sees nearby."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.commands import Command
from onboard.domain.enrollment import (
    DeviceKind,
    Enrollment,
    EnrollmentState,
    Sighting,
    check_capabilities,
    check_expiry,
    check_serial,
    check_signature,
    enroll_signature,
)
from onboard.domain.errors import (
    Invalid,
    InvalidSignature,
    InvalidTransition,
    NotEnrolled,
    NotFound,
    Unauthenticated,
)
from onboard.domain.values import digest_secret
from onboard.services.enrollments import finish, key_context, move, twin_of
from onboard.services.ports import Services, UnitOfWork

S = EnrollmentState
# How often an enrolled device is told to check in, in its settings (§6).
CHECKIN_SECONDS = 60
MAX_JOBS = 100
MAX_NEARBY = 1000
UNENROLL = "unenroll"


def _device_actor(enrollment: Enrollment, source_ip: str | None = None) -> Actor:
    return Actor(
        kind=ActorKind.DEVICE,
        id=None,
        label=f"{enrollment.kind.value} {enrollment.serial}",
        scope=Scope(enrollment.organization_id),
        source_ip=source_ip,
    )


def settings_of(enrollment: Enrollment) -> dict[str, Any]:
    """What a device is told when it enrolls (§6): its name and place as the organization
    set them, and how often to check in."""
    return {
        "name": enrollment.name,
        "location": enrollment.location,
        "checkin_interval_s": CHECKIN_SECONDS,
    }


@dataclass(frozen=True)
class Enrolled:
    """What a device gets from enrolling, once: its credential among the rest (C3)."""

    enrollment_id: str
    device_id: str
    credential: str
    settings: dict[str, Any]


def _proven(
    svc: Services, uow: UnitOfWork, serial: str, expires: int, signature: str
) -> Enrollment:
    """The enrollment whose access key made this proof: the device does not know its
    organization, so each live enrollment of the serial that enrolls itself is tried."""
    candidates = uow.enrollments.candidates(serial, (DeviceKind.DIRECT, DeviceKind.GATEWAY))
    # One waiting to be enrolled comes before one done (the same device claimed again); one
    # being unenrolled comes last.
    order = {S.PENDING: 0, S.FAILED: 0, S.IN_PROGRESS: 0, S.DONE: 1, S.UNENROLL_PENDING: 2}
    ranked = sorted((e for e in candidates if e.state in order), key=lambda e: order[e.state])
    if not ranked:
        raise NotEnrolled(f"No enrollment waits for serial {serial}; ask for one to be made.")
    for enrollment in ranked:
        sealed = uow.enrollments.sealed_key(enrollment.id)
        key = svc.secrets.open(sealed, context=key_context(enrollment.id))
        try:
            check_signature(enroll_signature(key, serial, expires), signature)
        except InvalidSignature:
            continue
        return enrollment
    raise InvalidSignature("The signature does not match the device's access key.")


def _unenrolled_by_reset(
    svc: Services, uow: UnitOfWork, enrollment: Enrollment, source_ip: str | None
) -> NotEnrolled:
    """C6: a device told to unenroll that comes back with a proof of its key has been
    factory-reset (its acknowledgement was lost with its credential): the unenrollment is
    complete, and there is nothing to enroll it into."""
    move(svc, uow, _device_actor(enrollment, source_ip), enrollment, S.UNENROLLED)
    uow.enrollments.set_credential(enrollment.id, None)
    uow.commit()
    return NotEnrolled(
        f"Serial {enrollment.serial} was unenrolled; ask for a new enrollment to enroll again."
    )


def enroll(
    svc: Services, serial: str, expires: int, signature: str, *, source_ip: str | None = None
) -> Enrolled:
    """C3: a device proves it holds its access key and receives its enrollment: its twin,
    a credential (shown once) and its settings. The record is in progress until the device
    completes it with its capabilities; enrolling again, before or after, gives a new
    credential and keeps everything else."""
    serial = check_serial(serial)
    check_expiry(expires, svc.clock.now())
    credential = secrets.token_urlsafe(32)
    with svc.uow() as uow:
        enrollment = _proven(svc, uow, serial, expires, signature)
        if enrollment.state is S.UNENROLL_PENDING:
            raise _unenrolled_by_reset(svc, uow, enrollment, source_ip)
        actor = _device_actor(enrollment, source_ip)
        if enrollment.state is S.FAILED:
            enrollment = move(svc, uow, actor, enrollment, S.PENDING)
        if enrollment.state is S.PENDING:
            enrollment = move(svc, uow, actor, enrollment, S.IN_PROGRESS)
        if enrollment.device_id is None:
            twin = twin_of(svc, enrollment)
            uow.devices.add(twin)
            enrollment = replace(enrollment, device_id=twin.id)
            uow.enrollments.save(enrollment)
        uow.enrollments.set_credential(enrollment.id, digest_secret(credential))
        uow.commit()
    assert enrollment.device_id is not None
    return Enrolled(enrollment.id, enrollment.device_id, credential, settings_of(enrollment))


def _holder(uow: UnitOfWork, credential: str) -> Enrollment:
    found = uow.enrollments.by_credential(digest_secret(credential))
    if found is None:
        raise Unauthenticated("Unknown device credential; enroll the device again.")
    return found


def holder(svc: Services, credential: str) -> Enrollment | None:
    """The enrollment a credential belongs to, if it is an enrolled device's."""
    with svc.uow() as uow:
        return uow.enrollments.by_credential(digest_secret(credential))


def complete(
    svc: Services, credential: str, enrollment_id: str, capabilities: dict[str, Any]
) -> Enrollment:
    """C3: the device says what it can do; its enrollment is done. Completing again
    replaces the capabilities."""
    capabilities = check_capabilities(capabilities)
    with svc.uow() as uow:
        enrollment = _holder(uow, credential)
        if enrollment.id != enrollment_id:
            raise NotFound(f"No enrollment {enrollment_id!r} for this device.")
        actor = _device_actor(enrollment)
        if enrollment.state is S.DONE:
            enrollment = replace(enrollment, capabilities=capabilities)
            uow.enrollments.save(enrollment)
        elif enrollment.state is S.IN_PROGRESS:
            enrollment = finish(svc, uow, actor, enrollment, capabilities)
        else:
            raise InvalidTransition(
                f"This enrollment is {enrollment.state.value.replace('_', ' ')}; it cannot "
                "be completed."
            )
        uow.commit()
    return enrollment


def commands_for(enrollment: Enrollment) -> tuple[Command, ...]:
    """C6: a deleted enrollment's device is told to unenroll at its next connection."""
    if enrollment.state is S.UNENROLL_PENDING:
        return (Command(f"{UNENROLL}-{enrollment.id}", UNENROLL, {}),)
    return ()


def acknowledge(svc: Services, credential: str, command_id: str, *, ok: bool) -> None:
    """§6, C6: the device factory-reset; its enrollment is unenrolled, its credential ends
    and the serial may enroll again. A device that could not reset is asked again."""
    with svc.uow() as uow:
        enrollment = _holder(uow, credential)
        pending = enrollment.state is S.UNENROLL_PENDING
        if command_id != f"{UNENROLL}-{enrollment.id}" or not pending:
            raise NotFound(f"No command {command_id!r} for this device.")
        if ok:
            move(svc, uow, _device_actor(enrollment), enrollment, S.UNENROLLED)
            uow.enrollments.set_credential(enrollment.id, None)
            uow.commit()


# --- gateways (C4) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Work for a gateway on one of its nodes (§6): enroll it with its access key, or
    unenroll it."""

    id: str
    type: str
    serial: str
    access_key: str | None
    settings: dict[str, Any]


def _gateway(uow: UnitOfWork, credential: str) -> Enrollment:
    gateway = _holder(uow, credential)
    if gateway.kind is not DeviceKind.GATEWAY:
        raise NotFound("Only gateways have jobs.")
    return gateway


def jobs(svc: Services, credential: str) -> list[Job]:
    """C4: the gateway's work: its pending nodes (now in progress, handed out with their
    access keys), those in progress it has not reported yet, and those to unenroll (C6)."""
    with svc.uow() as uow:
        gateway = _gateway(uow, credential)
        actor = _device_actor(gateway)
        found: list[Job] = []
        for node in uow.enrollments.jobs_of(gateway.id, MAX_JOBS):
            if node.state is S.UNENROLL_PENDING:
                found.append(Job(node.id, UNENROLL, node.serial, None, {}))
                continue
            if node.state is S.PENDING:
                node = move(svc, uow, actor, node, S.IN_PROGRESS)
            sealed = uow.enrollments.sealed_key(node.id)
            key = svc.secrets.open(sealed, context=key_context(node.id))
            found.append(Job(node.id, "enroll", node.serial, key, settings_of(node)))
        uow.commit()
    return found


def job_result(
    svc: Services,
    credential: str,
    job_id: str,
    *,
    ok: bool,
    capabilities: dict[str, Any] | None = None,
    error: str | None = None,
) -> Enrollment:
    """C4: the gateway did a job. An enrollment is done with the node's capabilities (its
    twin appears) or failed with the gateway's error; an unenrollment ends the record."""
    with svc.uow() as uow:
        gateway = _gateway(uow, credential)
        node = uow.enrollments.get_unscoped(job_id)
        if node is None or node.gateway_id != gateway.id:
            raise NotFound(f"No job {job_id!r} for this gateway.")
        actor = _device_actor(gateway)
        if node.state is S.UNENROLL_PENDING:
            if ok:
                node = move(svc, uow, actor, node, S.UNENROLLED)
        elif node.state is not S.IN_PROGRESS:
            raise InvalidTransition(
                f"The node's enrollment is {node.state.value.replace('_', ' ')}; there is "
                "no result to report."
            )
        elif ok:
            node = finish(svc, uow, actor, node, check_capabilities(capabilities or {}))
        else:
            if not (error and error.strip()):
                raise Invalid("A failed job says why.", fields={"error": "what went wrong"})
            node = move(svc, uow, actor, node, S.FAILED, reason=error)
        uow.commit()
    return node


def report_nearby(svc: Services, credential: str, seen: list[Sighting]) -> int:
    """C4: the serials the gateway sees now, with their signal strength; they replace its
    previous report."""
    if len(seen) > MAX_NEARBY:
        raise Invalid(
            f"Report at most {MAX_NEARBY} serials at once.", fields={"serials": "too many"}
        )
    unique = {check_serial(s.serial): replace(s, serial=check_serial(s.serial)) for s in seen}
    with svc.uow() as uow:
        gateway = _gateway(uow, credential)
        uow.enrollments.report_nearby(gateway.id, list(unique.values()), svc.clock.now())
        uow.commit()
    return len(unique)
