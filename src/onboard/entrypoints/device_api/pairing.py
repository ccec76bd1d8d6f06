"""POST /device/v1/pair: a device pairs by sending the code it scanned (SPEC B5, B7, §6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from onboard.entrypoints.api.errors import PROBLEM_TYPE
from onboard.entrypoints.api.schemas import Problem
from onboard.entrypoints.device_api.schemas import (
    ConfigurationPublic,
    PairedPublic,
    PairRequest,
)
from onboard.entrypoints.http import client_ip, container
from onboard.services import licensing
from onboard.services.licensing import HardwareReport

router = APIRouter(tags=["pairing"])

_problem = {"content": {PROBLEM_TYPE: {"schema": Problem.model_json_schema()}}}
PAIR_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, **_problem}
    for status, description in [
        (404, "`not_found`: no such pairing code"),
        (409, "`no_free_license`: every license of the product is in use (B7)"),
        (
            410,
            "`pairing_code_expired`, `pairing_code_used` or `pairing_code_revoked` (B7)",
        ),
        (422, "`invalid`: the body is not valid"),
        (429, "`rate_limited`: too many pairing attempts from this address; see Retry-After"),
    ]
}


@router.post("/pair", response_model=PairedPublic, responses=PAIR_PROBLEMS)
def pair(body: PairRequest, request: Request) -> PairedPublic:
    """Pair this device (B5): the code is checked, a free license taken, the device created
    with the newest configuration, and its credential returned once. The same hardware
    pairing again keeps its device and license and gets a new credential. Every attempt,
    refused or not, counts towards the limit per source address."""
    built = container(request)
    source = client_ip(request)
    licensing.check_pair_rate(built.services, source, limit=built.settings.pair_attempts)
    report = HardwareReport(body.hardware_id, body.model, body.os, body.app_version)
    paired = licensing.pair(built.services, body.code, report, source_ip=source)
    configuration = paired.configuration
    return PairedPublic(
        device_id=paired.device_id,
        credential=paired.credential,
        license_id=paired.license_id,
        configuration=None
        if configuration is None
        else ConfigurationPublic(
            id=configuration.id, etag=configuration.etag, body=configuration.body
        ),
    )
