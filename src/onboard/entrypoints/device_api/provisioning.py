"""POST /device/v1/activate: plug-and-play activation (SPEC D4, §6). A device proves it
holds the key derived from its group's secret and its serial, and gets its twin, a
credential, its environment, its configuration and initial attributes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from onboard.bootstrap import Container
from onboard.domain.errors import DomainError
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.schemas import Problem
from onboard.entrypoints.device_api.schemas import ActivatedPublic, ActivateRequest
from onboard.entrypoints.http import client_ip, container
from onboard.services.provisioning.activation import (
    Activation,
    ActivationLimits,
    ActivationRequest,
    activate_many,
)

router = APIRouter(tags=["provisioning"])

_problem = {"content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, **_problem}
    for status, description in [
        (
            401,
            "`invalid_signature`; `signature_expired`: expires in the past or more than an "
            "hour ahead",
        ),
        (
            403,
            "`not_registered`: the serial is not registered in its group (or the group is "
            "unknown); `registration_disabled`",
        ),
        (422, "`invalid`: the body is not valid"),
        (429, "`rate_limited`: too many failures from this address or activations of this "
         "device; see Retry-After"),
    ]
}  # fmt: skip


@router.post("/activate", response_model=ActivatedPublic, responses=PROBLEMS)
def activate_device(body: ActivateRequest, request: Request) -> JSONResponse:
    """D4: the device's twin (made on its first activation from its group's defaults), a
    new credential, the environment it is allocated, its configuration and attributes.
    Activating again keeps the twin and rotates the credential."""
    # The application answers this path in its activation lane (activation_lane.py), ahead
    # of this route, which describes the operation and serves the device API on its own.
    return JSONResponse(activated(container(request), body, client_ip(request)))


def activated(built: Container, body: ActivateRequest, source_ip: str | None) -> dict[str, Any]:
    """The answer to one activation (raises the DomainError that refused it)."""
    (answer,) = activated_many(built, [(body, source_ip)])
    if isinstance(answer, DomainError):
        raise answer
    return answer


def activated_many(
    built: Container, asked: Sequence[tuple[ActivateRequest, str | None]]
) -> list[dict[str, Any] | DomainError]:
    """The answers to activations that arrived together, as ActivatedPublic describes
    them, written directly (the thousand activations a second of §7 skip the response
    model's validation), or the DomainError that refused each."""
    settings = built.settings
    outcomes = activate_many(
        built.services,
        [
            ActivationRequest(b.group_id, b.serial, b.expires, b.signature, source_ip)
            for b, source_ip in asked
        ],
        ActivationLimits(settings.activation_failures, settings.activation_attempts),
    )
    return [_answer(done) if isinstance(done, Activation) else done for done in outcomes]


def _answer(done: Activation) -> dict[str, Any]:
    environment = done.environment
    return {
        "device_id": done.device_id,
        "credential": done.credential,
        "environment": None
        if environment is None
        else {
            "name": environment.name,
            "api_url": environment.api_url,
            "mqtt_url": environment.mqtt_url,
        },
        "configuration": done.configuration,
        "attributes": done.attributes,
    }
