"""/api/v1/enrollments, /api/v1/nearby and /api/v1/gateways: connected devices put under
management (SPEC Part C, C1-C6, C8, C9; §5.1). An enrollment's access key goes in once and
never comes out; an enrollment follows its departments (P5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from onboard.domain.enrollment import (
    DeviceKind,
    Enrollment,
    EnrollmentFilter,
    EnrollmentState,
    Nearby,
    StateChange,
)
from onboard.domain.errors import Invalid
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Paging, PathId, Svc, next_cursor
from onboard.entrypoints.api.files import PHOTO_BODY, UPLOAD_RESPONSES, PhotoUpload
from onboard.services import enrollments
from onboard.services.enrollments import EnrollmentInput

router = APIRouter(prefix="/enrollments", tags=["enrollment"])
nearby_router = APIRouter(prefix="/nearby", tags=["enrollment"])
gateways_router = APIRouter(prefix="/gateways", tags=["enrollment"])
routers = (router, nearby_router, gateways_router)

KindName = Literal["gateway", "node", "direct"]
StateName = Literal["pending", "in_progress", "done", "failed", "unenroll_pending", "unenrolled"]
Text = Annotated[str, Field(max_length=500, pattern=s.NO_NUL)]


class EnrollmentCreate(s.Body):
    serial: str = Field(min_length=1, max_length=100, pattern=s.NO_NUL)
    access_key: str = Field(
        min_length=1,
        max_length=200,
        pattern=s.NO_NUL,
        description="The device's secret, from its QR or the manufacturer's list: stored "
        "encrypted, never shown again (C1).",
    )
    kind: KindName
    gateway_id: s.Ident | None = Field(None, description="For a node enrolled by a gateway.")
    name: Text | None = None
    location: Text | None = None
    departments: s.DepartmentIds | None = Field(
        None, description="Default: yours, or none when you work in every department."
    )
    state: Literal["pending", "done"] = Field(
        "pending",
        description="`done` when the mobile app enrolled a node without a gateway itself "
        "(C5): the record is done at once, with `capabilities`, and its twin made.",
    )
    capabilities: dict[str, Any] | None = Field(
        None, description="What the node reported; with `state: done` only."
    )


class LabelRead(s.Body):
    payload: str = Field(
        min_length=1,
        max_length=2000,
        pattern=s.NO_NUL,
        description="The text of the QR on a device's back.",
    )


class LabelPublic(BaseModel):
    """What a device's QR says (C9), and the serial's enrollment if it has one."""

    serial: str
    access_key: str = Field(description="As the QR holds it: the caller scanned it.")
    enrollment: EnrollmentPublic | None


class StepPublic(BaseModel):
    state: StateName
    at: datetime
    reason: str | None


class EnrollmentPublic(BaseModel):
    """An enrollment record (C1), without its access key."""

    id: str
    serial: str
    kind: KindName
    gateway_id: str | None
    name: str | None
    location: str | None
    state: StateName
    reason: str | None = Field(description="Why it failed (C2).")
    device_id: str | None = Field(description="Its twin, once enrolled (C3-C5).")
    capabilities: dict[str, Any] | None
    departments: list[str]
    created_at: datetime
    updated_at: datetime


class EnrollmentDetail(EnrollmentPublic):
    history: list[StepPublic]


class AppEnrolled(s.Body):
    capabilities: dict[str, Any] = Field(description="What the node reported (C5).")


class NearbyPublic(BaseModel):
    gateway_id: str
    serial: str
    rssi: int | None
    seen_at: datetime


def _public(e: Enrollment) -> EnrollmentPublic:
    return EnrollmentPublic(
        id=e.id,
        serial=e.serial,
        kind=e.kind.value,
        gateway_id=e.gateway_id,
        name=e.name,
        location=e.location,
        state=e.state.value,
        reason=e.reason,
        device_id=e.device_id,
        capabilities=e.capabilities,
        departments=sorted(e.departments),
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _step(step: StateChange) -> StepPublic:
    return StepPublic(state=step.state.value, at=step.at, reason=step.reason)


@router.post("", status_code=201, response_model=EnrollmentPublic)
def create(body: EnrollmentCreate, svc: Svc, actor: CurrentActor) -> EnrollmentPublic:
    """C1: a pending enrollment. A node with a gateway becomes that gateway's job (C4); a
    direct device or a gateway enrolls itself (C3); a node without one is enrolled by the
    app (C5). 403 `enrollment_forbidden` (C8), 409 `already_enrolled`."""
    if body.capabilities is not None and body.state != "done":
        raise Invalid(
            "Capabilities come with state done (C5), when the app enrolled the node.",
            fields={"capabilities": "with state done only"},
        )
    given = EnrollmentInput(
        body.serial,
        body.access_key,
        DeviceKind(body.kind),
        body.gateway_id,
        body.name,
        body.location,
        body.departments,
    )
    by_app = (body.capabilities or {}) if body.state == "done" else None
    return _public(enrollments.create_enrollment(svc, actor, given, enrolled_by_app=by_app))


@router.post("/label", response_model=LabelPublic)
def read_label(body: LabelRead, svc: Svc, actor: CurrentActor) -> LabelPublic:
    """C9: the serial and access key in a scanned device QR, read by the organization's
    `enrollment` patterns (see /dynamic-code-rules), else as JSON `{"serial", "key"}` or
    `SERIAL:ACCESSKEY`; with the serial's live enrollment when there is one. 422
    `invalid` when the QR is not a device label."""
    found = enrollments.read_label(svc, actor, body.payload)
    return LabelPublic(
        serial=found.label.serial,
        access_key=found.label.access_key,
        enrollment=_public(found.enrollment) if found.enrollment else None,
    )


@router.get("", response_model=s.PageOf[EnrollmentPublic])
def list_(
    svc: Svc,
    actor: CurrentActor,
    paging: Paging,
    state: Annotated[list[StateName] | None, Query(max_length=6)] = None,
    kind: KindName | None = None,
    gateway_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=s.NO_NUL)] = None,
    serial: Annotated[str | None, Query(min_length=1, max_length=100, pattern=s.NO_NUL)] = None,
) -> s.PageOf[EnrollmentPublic]:
    """Newest first; `state` may be given several times."""
    wanted = EnrollmentFilter(
        frozenset(EnrollmentState(x) for x in state or ()),
        DeviceKind(kind) if kind else None,
        gateway_id,
        serial,
    )
    page = enrollments.list_enrollments(svc, actor, wanted, paging)
    return s.PageOf(items=[_public(e) for e in page.items], next_cursor=next_cursor(page))


@router.get("/{enrollment_id}", response_model=EnrollmentDetail)
def get(enrollment_id: PathId, svc: Svc, actor: CurrentActor) -> EnrollmentDetail:
    """The record with its history, oldest step first (C1)."""
    found = enrollments.get_enrollment(svc, actor, enrollment_id)
    history = enrollments.enrollment_history(svc, actor, enrollment_id)
    return EnrollmentDetail(**_public(found).model_dump(), history=[_step(h) for h in history])


@router.delete("/{enrollment_id}", response_model=EnrollmentPublic)
def delete(enrollment_id: PathId, svc: Svc, actor: CurrentActor) -> EnrollmentPublic:
    """C6: the twin is deleted at once; the unenrollment reaches the device (or its
    gateway) at its next connection: `unenroll_pending`, then `unenrolled` once it
    acknowledges; one that never reached its device is `unenrolled` at once."""
    return _public(enrollments.delete_enrollment(svc, actor, enrollment_id))


@router.post("/{enrollment_id}/retry", response_model=EnrollmentPublic)
def retry(enrollment_id: PathId, svc: Svc, actor: CurrentActor) -> EnrollmentPublic:
    """C2: a failed enrollment back to pending; 409 `invalid_transition` otherwise."""
    return _public(enrollments.retry_enrollment(svc, actor, enrollment_id))


@router.post("/{enrollment_id}/complete", response_model=EnrollmentPublic)
def complete_by_app(
    enrollment_id: PathId, body: AppEnrolled, svc: Svc, actor: CurrentActor
) -> EnrollmentPublic:
    """C5: the app enrolled a node without a gateway itself; the record is done with the
    node's capabilities and its twin appears."""
    return _public(enrollments.enroll_by_app(svc, actor, enrollment_id, body.capabilities))


@router.put(
    "/{enrollment_id}/photo",
    response_model=EnrollmentPublic,
    openapi_extra=PHOTO_BODY,
    responses=UPLOAD_RESPONSES,
)
def set_photo(
    enrollment_id: PathId, svc: Svc, actor: CurrentActor, content: PhotoUpload
) -> EnrollmentPublic:
    """C9: the installation photo taken while enrolling (multipart `file`: PNG, JPEG or
    WebP). Once the device is enrolled it is its twin's photo; before, the enrollment
    keeps it and the twin gets it when it appears."""
    return _public(enrollments.set_enrollment_photo(svc, actor, enrollment_id, content))


@nearby_router.get("", response_model=list[NearbyPublic])
def nearby(
    svc: Svc,
    actor: CurrentActor,
    gateway_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=s.NO_NUL)] = None,
) -> list[NearbyPublic]:
    """C4, C9: serials gateways see that are not enrolled yet, strongest signal first."""
    return _nearby(enrollments.nearby(svc, actor, gateway_id))


def _nearby(found: list[Nearby]) -> list[NearbyPublic]:
    return [
        NearbyPublic(gateway_id=n.gateway_id, serial=n.serial, rssi=n.rssi, seen_at=n.seen_at)
        for n in found
    ]


@gateways_router.get("", response_model=s.PageOf[EnrollmentPublic])
def gateways(svc: Svc, actor: CurrentActor, paging: Paging) -> s.PageOf[EnrollmentPublic]:
    """The gateways' enrollments (C4), newest first, without the unenrolled ones."""
    page = enrollments.list_gateways(svc, actor, paging)
    return s.PageOf(items=[_public(e) for e in page.items], next_cursor=next_cursor(page))


@gateways_router.get("/{gateway}/nearby", response_model=list[NearbyPublic])
def gateway_nearby(gateway: PathId, svc: Svc, actor: CurrentActor) -> list[NearbyPublic]:
    """What one gateway sees nearby, not enrolled yet, strongest signal first (C4, C9);
    the gateway by its twin's device id or its enrollment's id."""
    return _nearby(enrollments.nearby(svc, actor, gateway))
