"""Enrollment of connected devices by members (SPEC Part C): creating an enrollment (C1,
C8), the app-only enrollment of a node (C5), retrying a failed one (C2), deleting one,
which removes its twin at once and queues the unenrollment (C6), and reading them with
their history and the serials gateways see nearby (C4, C9)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, DeviceStatus, Location
from onboard.domain.documents import PHOTO_TYPES, accepted_type
from onboard.domain.enrollment import (
    ACTIVE_STATES,
    MAX_LOCATION,
    MAX_NAME,
    DeviceKind,
    DeviceLabel,
    Enrollment,
    EnrollmentFilter,
    EnrollmentState,
    Nearby,
    StateChange,
    check_access_key,
    check_capabilities,
    check_serial,
    check_text,
    label_groups,
    read_device_label,
    require_enroll,
)
from onboard.domain.errors import AlreadyEnrolled, Invalid
from onboard.services.common import not_found, resolve_departments
from onboard.services.devices import remove_device
from onboard.services.documents import (
    check_size,
    photo_type,
    release_files,
    set_photo,
    store_file,
    storing,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork

S = EnrollmentState


def key_context(enrollment_id: str) -> str:
    """What a sealed access key is bound to: its own record (a key copied elsewhere does
    not open)."""
    return f"enrollment:{enrollment_id}"


@dataclass(frozen=True)
class EnrollmentInput:
    """An enrollment as a member, a list row or the mobile app gives it (C1)."""

    serial: str
    access_key: str
    kind: DeviceKind
    gateway_id: str | None = None
    name: str | None = None
    location: str | None = None
    departments: list[str] | None = None


def _snapshot(e: Enrollment) -> dict[str, Any]:
    return {
        "serial": e.serial,
        "kind": e.kind.value,
        "gateway_id": e.gateway_id,
        "state": e.state.value,
        "reason": e.reason,
    }


def _target(e: Enrollment) -> Target:
    return Target("enrollment", e.id, e.departments)


def move(
    svc: Services,
    uow: UnitOfWork,
    actor: Actor,
    enrollment: Enrollment,
    state: EnrollmentState,
    *,
    reason: str | None = None,
    **changes: Any,
) -> Enrollment:
    """One step of C2 in the caller's transaction: the record saved, its history and its
    audit entry written."""
    moved = replace(enrollment.moved_to(state, svc.clock.now(), reason=reason), **changes)
    uow.enrollments.save(moved)
    uow.enrollments.add_history(
        svc.ids.new(), moved.id, StateChange(moved.state, moved.updated_at, moved.reason)
    )
    uow.record(
        actor,
        Change(
            f"enrollment.{state.value}",
            _target(moved),
            before={"state": enrollment.state.value},
            after={"state": moved.state.value, "reason": moved.reason},
        ),
        organization_id=moved.organization_id,
    )
    return moved


def _gateway(uow: UnitOfWork, scope: Scope, gateway_id: str) -> Enrollment:
    gateway = uow.enrollments.get(scope, gateway_id)
    if gateway is None or gateway.kind is not DeviceKind.GATEWAY:
        raise Invalid(
            "The gateway is not one of your enrolled gateways.",
            fields={"gateway_id": "an enrolled gateway"},
        )
    if gateway.state in (S.UNENROLL_PENDING, S.UNENROLLED):
        raise Invalid(
            "That gateway is being unenrolled.", fields={"gateway_id": "an enrolled gateway"}
        )
    return gateway


def checked(given: EnrollmentInput) -> EnrollmentInput:
    """The input with each field checked and cleaned (the rules of C1)."""
    if given.gateway_id is not None and given.kind is not DeviceKind.NODE:
        raise Invalid(
            "Only nodes enroll through a gateway.", fields={"gateway_id": "for nodes only"}
        )
    return replace(
        given,
        serial=check_serial(given.serial),
        access_key=check_access_key(given.access_key),
        name=check_text(given.name, "name", MAX_NAME),
        location=check_text(given.location, "location", MAX_LOCATION),
    )


def new_enrollment(
    svc: Services, scope: Scope, given: EnrollmentInput, departments: frozenset[str] | None
) -> Enrollment:
    now = svc.clock.now()
    return Enrollment(
        svc.ids.new(), scope.organization_id, given.serial, given.kind, given.gateway_id,
        given.name, given.location, S.PENDING, None, None, now, now, departments or frozenset(),
    )  # fmt: skip


def create_enrollment(
    svc: Services,
    actor: Actor,
    given: EnrollmentInput,
    *,
    enrolled_by_app: dict[str, Any] | None = None,
) -> Enrollment:
    """C1: a pending enrollment; the access key is sealed and never shown again. A node
    with a gateway becomes that gateway's job (C4); a direct device or a gateway enrolls
    itself with its proof (C3); a node without a gateway is enrolled by the app (C5),
    which may say so at once with the capabilities the node reported
    (``enrolled_by_app``): the record is then done and its twin made, all in one step."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    given = checked(given)
    capabilities = None
    if enrolled_by_app is not None:
        _check_app_only(given.kind, given.gateway_id)
        capabilities = check_capabilities(enrolled_by_app)
    with svc.uow() as uow:
        if given.gateway_id is not None:
            _gateway(uow, scope, given.gateway_id)
        if uow.enrollments.active_by_serial(scope.organization_id, given.serial) is not None:
            raise AlreadyEnrolled(
                f"Serial {given.serial} is enrolled already; delete its enrollment first.",
                fields={"serial": "enrolled already"},
            )
        departments = resolve_departments(uow, scope, given.departments)
        enrollment = new_enrollment(svc, scope, given, departments)
        sealed = svc.secrets.seal(given.access_key, context=key_context(enrollment.id))
        uow.enrollments.add(enrollment, sealed)  # its first step of history with it
        uow.record(
            actor,
            Change("enrollment.created", _target(enrollment), after=_snapshot(enrollment)),
            organization_id=scope.organization_id,
        )
        if capabilities is not None:
            started = move(svc, uow, actor, enrollment, S.IN_PROGRESS)
            enrollment = finish(svc, uow, actor, started, capabilities)
        uow.commit()
    return enrollment


def _check_app_only(kind: DeviceKind, gateway_id: str | None) -> None:
    if kind is not DeviceKind.NODE or gateway_id is not None:
        raise Invalid(
            "Only a node without a gateway is enrolled by the app; the others enroll "
            "themselves or through their gateway.",
            fields={"kind": "a node without a gateway"},
        )


def _enrollment(uow: UnitOfWork, scope: Scope, enrollment_id: str) -> Enrollment:
    found = uow.enrollments.get(scope, enrollment_id)
    if found is None:
        raise not_found("enrollment", enrollment_id)
    return found


def get_enrollment(svc: Services, actor: Actor, enrollment_id: str) -> Enrollment:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return _enrollment(uow, scope, enrollment_id)


def enrollment_history(svc: Services, actor: Actor, enrollment_id: str) -> list[StateChange]:
    """Every state the enrollment went through, oldest first (C1)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        _enrollment(uow, scope, enrollment_id)
        return uow.enrollments.history(enrollment_id)


def list_enrollments(
    svc: Services, actor: Actor, wanted: EnrollmentFilter, page: PageRequest
) -> Page[Enrollment]:
    """Newest first, filtered by state, kind, gateway or serial."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        return uow.enrollments.list_page(scope, wanted, page)


def retry_enrollment(svc: Services, actor: Actor, enrollment_id: str) -> Enrollment:
    """C2: a failed enrollment goes back to pending, for its gateway or device to try
    again."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = _enrollment(uow, scope, enrollment_id)
        moved = move(svc, uow, actor, found, S.PENDING)
        uow.commit()
    return moved


def twin_of(svc: Services, enrollment: Enrollment) -> Device:
    """The digital twin an enrollment puts under management (C3, C4, C5), with the
    installation photo taken while enrolling (C9)."""
    now = svc.clock.now()
    photo = enrollment.photo_key
    return Device(
        id=svc.ids.new(),
        organization_id=enrollment.organization_id,
        name=enrollment.name or enrollment.serial,
        serial=enrollment.serial,
        template_id=None,
        attributes={},
        departments=enrollment.departments,
        customer_id=None,
        location=Location(text=enrollment.location),
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
        photo_key=photo,
        photo_content_type=photo_type(svc, photo) if photo else None,
    )


def finish(
    svc: Services,
    uow: UnitOfWork,
    actor: Actor,
    enrollment: Enrollment,
    capabilities: dict[str, Any],
) -> Enrollment:
    """An enrollment in progress becomes done with the capabilities the device reported,
    and its twin appears (created now unless the device has one already)."""
    device_id = enrollment.device_id
    if device_id is None:
        twin = twin_of(svc, enrollment)
        uow.devices.add(twin)
        device_id = twin.id
    return move(svc, uow, actor, enrollment, S.DONE, device_id=device_id, capabilities=capabilities)


def enroll_by_app(
    svc: Services, actor: Actor, enrollment_id: str, capabilities: dict[str, Any]
) -> Enrollment:
    """C5: the mobile app enrolled a node itself, without a gateway, and reports it done
    with its capabilities."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    capabilities = check_capabilities(capabilities)
    with svc.uow() as uow:
        found = _enrollment(uow, scope, enrollment_id)
        _check_app_only(found.kind, found.gateway_id)
        if found.state is S.FAILED:
            found = move(svc, uow, actor, found, S.PENDING)
        started = move(svc, uow, actor, found, S.IN_PROGRESS)
        done = finish(svc, uow, actor, started, capabilities)
        uow.commit()
    return done


def delete_enrollment(svc: Services, actor: Actor, enrollment_id: str) -> Enrollment:
    """C6: the device is deleted at once and its unenrollment queued for its next
    connection (or its gateway's). One that never reached its device is unenrolled at
    once; the serial can then enroll again."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = _enrollment(uow, scope, enrollment_id)
        files: list[str | None] = []
        if found.device_id is not None:
            twin = uow.devices.get_unscoped(found.device_id)
            if twin is not None:
                files = remove_device(svc, uow, actor, twin)
        reached = found.state in (S.IN_PROGRESS, S.DONE) or found.device_id is not None
        moved = move(svc, uow, actor, found, S.UNENROLL_PENDING, device_id=None)
        if not reached:
            moved = move(svc, uow, actor, moved, S.UNENROLLED)
            uow.enrollments.set_credential(moved.id, None)
        uow.commit()
    release_files(svc, files)
    return moved


def nearby(svc: Services, actor: Actor, gateway: str | None = None) -> list[Nearby]:
    """C4, C9: serials gateways see that are not enrolled, strongest signal first; of one
    gateway (its enrollment's id or its twin's device id), or of every gateway the member
    sees."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        if gateway is None:
            return uow.enrollments.nearby(scope, None)
        by_device = EnrollmentFilter(kind=DeviceKind.GATEWAY, device_id=gateway)
        found = uow.enrollments.get(scope, gateway) or next(
            iter(uow.enrollments.list_page(scope, by_device, PageRequest(None, 1)).items), None
        )
        if found is None or found.kind is not DeviceKind.GATEWAY:
            raise not_found("gateway", gateway)
        return uow.enrollments.nearby(scope, [found.id])


# --- the mobile app (C9) -----------------------------------------------------------------


@dataclass(frozen=True)
class ScannedLabel:
    """A device's QR as read (C9), with the serial's live enrollment if it has one."""

    label: DeviceLabel
    enrollment: Enrollment | None


def read_label(svc: Services, actor: Actor, payload: str) -> ScannedLabel:
    """The serial and access key in the QR on a device's back: read by the organization's
    enrollment patterns first, in order, else as JSON or SERIAL:ACCESSKEY (C9)."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        rules = uow.dynamic_rules.in_order(scope.organization_id)
        label = read_device_label(payload, label_groups(rules, payload.strip(), svc.patterns))
        live = EnrollmentFilter(states=ACTIVE_STATES, serial=label.serial)
        found = uow.enrollments.list_page(scope, live, PageRequest(None, 1)).items
    return ScannedLabel(label, found[0] if found else None)


def set_enrollment_photo(
    svc: Services, actor: Actor, enrollment_id: str, content: bytes
) -> Enrollment:
    """C9: the installation photo taken while enrolling. A device enrolled already has
    it on its twin; otherwise the enrollment holds it until its twin appears."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    check_size(svc, content)
    content_type = accepted_type(content, PHOTO_TYPES, what="photo")
    with svc.uow() as uow:
        twin = _enrollment(uow, scope, enrollment_id).device_id
    if twin is not None:
        set_photo(svc, actor, twin, content)
        return get_enrollment(svc, actor, enrollment_id)
    with storing(svc) as stored, svc.uow() as uow:
        found = _enrollment(uow, scope, enrollment_id)
        key = store_file(svc, uow, content, stored)
        updated = replace(found, photo_key=key, updated_at=svc.clock.now())
        uow.enrollments.save(updated)
        uow.record(
            actor,
            Change(
                "enrollment.photo_set",
                _target(found),
                before={"photo": found.photo_key is not None},
                after={"photo": True, "content_type": content_type, "size": len(content)},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    if found.photo_key != key:
        release_files(svc, [found.photo_key])
    return updated


def enroll_on_site(
    svc: Services,
    actor: Actor,
    given: EnrollmentInput,
    *,
    photo: bytes | None = None,
    enrolled_by_app: dict[str, Any] | None = None,
) -> Enrollment:
    """C9: what the mobile app does in one flow: the enrollment (done at once for a node
    the app enrolled itself, C5) and the installation photo, checked before anything is
    stored so that a refused photo leaves no enrollment behind."""
    if photo is not None:
        check_size(svc, photo)
        accepted_type(photo, PHOTO_TYPES, what="photo")
    made = create_enrollment(svc, actor, given, enrolled_by_app=enrolled_by_app)
    return set_enrollment_photo(svc, actor, made.id, photo) if photo is not None else made


def list_gateways(svc: Services, actor: Actor, page: PageRequest) -> Page[Enrollment]:
    """The gateways the member sees, newest first, in every state but unenrolled."""
    wanted = EnrollmentFilter(states=ACTIVE_STATES, kind=DeviceKind.GATEWAY)
    return list_enrollments(svc, actor, wanted, page)
