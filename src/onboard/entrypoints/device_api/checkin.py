"""POST /device/v1/checkin and /commands/{id}/ack: a paired device asks what changed and
says what it did (SPEC §6, B8, B9). The device's credential is its bearer token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from onboard.domain.commands import Command
from onboard.domain.errors import Unauthenticated
from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.schemas import Problem
from onboard.entrypoints.device_api.schemas import (
    AckRequest,
    CheckinPublic,
    CheckinRequest,
    CommandPublic,
    ConfigurationPublic,
)
from onboard.entrypoints.http import container
from onboard.services import device_enrollment, licensing
from onboard.services.provisioning import checkin as provisioning_checkin

router = APIRouter(tags=["check-in"])

_bearer = HTTPBearer(
    auto_error=False, description="The credential the device got when it paired (§6)."
)


def credential(
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if given is None or not given.credentials:
        raise Unauthenticated("Send the device credential as 'Authorization: Bearer ...'.")
    return given.credentials


Credential = Annotated[str, Depends(credential)]

_problem = {"content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, **_problem}
    for status, description in [
        (401, "`unauthenticated`: no credential, or one no device has (any more)"),
        (404, "`not_found`: no such command for this device"),
        (422, "`invalid`: the body is not valid"),
    ]
}


@router.post("/checkin", response_model=CheckinPublic, responses=PROBLEMS)
def checkin(body: CheckinRequest, device: Credential, request: Request) -> CheckinPublic:
    """The configuration when it changed (B8; a provisioned device's is its group's, D4)
    and the commands waiting: `unpair` once the licensed device was removed (B9),
    `unenroll` once the enrolled device's enrollment was deleted (C6), `reprovision` once
    the provisioned device was moved (D6: it activates again to learn where to)."""
    svc = container(request).services
    try:
        found = licensing.checkin(svc, device, configuration_etag=body.configuration_etag)
    except Unauthenticated:
        # Not a licensed client device: perhaps an enrolled one (C6: `unenroll`), or a
        # provisioned one (D4: its group's configuration).
        enrolled = device_enrollment.holder(svc, device)
        if enrolled is not None:
            return CheckinPublic(
                configuration=None, commands=_commands(device_enrollment.commands_for(enrolled))
            )
        provisioned = provisioning_checkin.holder(svc, device)
        if provisioned is None:
            raise
        answer = provisioning_checkin.checkin(
            svc, provisioned, configuration_etag_held=body.configuration_etag
        )
        given = answer.configuration
        return CheckinPublic(
            configuration=None
            if given is None
            else ConfigurationPublic(id=given[0], etag=given[1], body=given[2]),
            commands=_commands(answer.commands),
        )
    configuration = found.configuration
    return CheckinPublic(
        configuration=None
        if configuration is None
        else ConfigurationPublic(
            id=configuration.id, etag=configuration.etag, body=configuration.body
        ),
        commands=_commands(found.commands),
    )


def _commands(commands: Iterable[Command]) -> list[CommandPublic]:
    return [CommandPublic(id=c.id, type=c.type, params=c.params) for c in commands]


@router.post("/commands/{command_id}/ack", responses=PROBLEMS)
def ack(command_id: str, body: AckRequest, device: Credential, request: Request) -> dict[str, str]:
    """The device did what it was told (or says why not)."""
    svc = container(request).services
    try:
        licensing.acknowledge(svc, device, command_id, ok=body.ok)
    except Unauthenticated:
        if device_enrollment.holder(svc, device) is not None:
            device_enrollment.acknowledge(svc, device, command_id, ok=body.ok)
            return {}
        provisioned = provisioning_checkin.holder(svc, device)
        if provisioned is None:
            raise
        if body.ok:
            provisioning_checkin.acknowledge(svc, provisioned, command_id)
    return {}
