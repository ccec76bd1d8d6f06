"""The device API of enrollment (SPEC C3, C4, C6, §6): a device enrolls itself with its
proof and completes with its capabilities; a gateway fetches its jobs, reports their
results and the serials it sees nearby."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from onboard.domain.enrollment import Sighting
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.schemas import Problem
from onboard.entrypoints.device_api.checkin import Credential
from onboard.entrypoints.device_api.schemas import (
    CompleteRequest,
    EnrolledPublic,
    EnrollRequest,
    JobPublic,
    JobResult,
    NearbyRequest,
)
from onboard.entrypoints.http import client_ip, container
from onboard.services import device_enrollment
from onboard.services.common import count_attempt

router = APIRouter(tags=["enrollment"])

_problem = {"content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}}}


def _problems(*described: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"description": description, "model": Problem, **_problem}
        for status, description in (*described, (422, "`invalid`: the body is not valid"))
    }


@router.post(
    "/enroll",
    response_model=EnrolledPublic,
    responses=_problems(
        (
            401,
            "`invalid_signature`, or `signature_expired`: expires in the past or more than "
            "an hour ahead",
        ),
        (404, "`not_enrolled`: no enrollment waits for this serial"),
        (429, "`rate_limited`: too many attempts from this address; see Retry-After"),
    ),
)
def enroll(body: EnrollRequest, request: Request) -> EnrolledPublic:
    """C3: prove the device holds its access key and receive its enrollment: the twin's
    id, a credential (returned once) and its settings. Then complete it with the
    device's capabilities."""
    built = container(request)
    source = client_ip(request)
    count_attempt(
        built.services, f"enroll:{source or 'unknown'}", built.settings.pair_attempts,
        "enrollment attempts",
    )  # fmt: skip
    enrolled = device_enrollment.enroll(
        built.services, body.serial, body.expires, body.signature, source_ip=source
    )
    return EnrolledPublic(
        enrollment_id=enrolled.enrollment_id,
        device_id=enrolled.device_id,
        credential=enrolled.credential,
        settings=enrolled.settings,
    )


@router.post(
    "/enroll/{enrollment_id}/complete",
    responses=_problems(
        (401, "`unauthenticated`: no credential, or one no device has"),
        (404, "`not_found`: not this device's enrollment"),
        (409, "`invalid_transition`: the enrollment is being removed"),
    ),
)
def complete(
    enrollment_id: str, body: CompleteRequest, device: Credential, request: Request
) -> dict[str, str]:
    """C3: the device's capabilities; its enrollment is done and its twin shows them."""
    device_enrollment.complete(
        container(request).services, device, enrollment_id, body.capabilities
    )
    return {}


@router.get(
    "/gateway/jobs",
    response_model=list[JobPublic],
    responses=_problems((401, "`unauthenticated`"), (404, "`not_found`: not a gateway")),
)
def jobs(device: Credential, request: Request) -> list[JobPublic]:
    """C4: the nodes to enroll (with their access keys) or unenroll (C6)."""
    found = device_enrollment.jobs(container(request).services, device)
    return [
        JobPublic(
            id=j.id, type=j.type, serial=j.serial, access_key=j.access_key, settings=j.settings
        )
        for j in found
    ]


@router.post(
    "/gateway/jobs/{job_id}/result",
    responses=_problems(
        (401, "`unauthenticated`"),
        (404, "`not_found`: no such job for this gateway"),
        (409, "`invalid_transition`: the job was reported already"),
    ),
)
def job_result(
    job_id: str, body: JobResult, device: Credential, request: Request
) -> dict[str, str]:
    """C4: the node enrolled, with its capabilities, or failed, with the error; or the node
    was unenrolled (C6)."""
    device_enrollment.job_result(
        container(request).services,
        device,
        job_id,
        ok=body.ok,
        capabilities=body.capabilities,
        error=body.error,
    )
    return {}


@router.post(
    "/gateway/nearby",
    responses=_problems((401, "`unauthenticated`"), (404, "`not_found`: not a gateway")),
)
def nearby(body: NearbyRequest, device: Credential, request: Request) -> dict[str, int]:
    """C4: the serials the gateway sees now, with their signal strength (replacing its
    previous report)."""
    seen = [Sighting(s.serial, s.rssi) for s in body.serials]
    kept = device_enrollment.report_nearby(container(request).services, device, seen)
    return {"reported": kept}
