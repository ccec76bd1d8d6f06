"""POST /api/v1/onboard: a member's app onboards the device whose onboarding label it
scanned into the member's organization (SPEC D5, §5.1)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from onboard.entrypoints.api import presenters as present
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import CurrentActor, Svc
from onboard.entrypoints.api.schemas import NO_NUL
from onboard.services import pairing
from onboard.services.provisioning.onboarding import claim_payload

router = APIRouter(tags=["provisioning"])


class Onboard(s.Body):
    payload: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NO_NUL,
        description="The scanned onboarding QR: {PUBLIC_URL}/o/{group_id}/{serial}/{claim_code}.",
    )
    name: str | None = Field(None, max_length=200, description="Default: the serial.")
    location: str | None = Field(None, max_length=500)


@router.post(
    "/onboard",
    response_model=s.DevicePublic,
    responses={
        403: {"description": "`claim_not_allowed`: the group does not let your organization"},
        404: {"description": "`not_found`: not a label of this platform, or a wrong code"},
        409: {"description": "`already_onboarded`: another organization has the device"},
        429: {"description": "`rate_limited`: too many wrong codes from this address"},
    },
)
def onboard(body: Onboard, svc: Svc, actor: CurrentActor) -> s.DevicePublic:
    """D5: the device's twin in your organization, made from its group's defaults with
    the name and location given (the photo can follow with PUT /devices/{id}/photo).
    Scanning again from your organization answers the same device."""
    device = claim_payload(svc, actor, body.payload, body.name, body.location)
    return present.device(device, pairing.codes_of_device(svc, actor, device.id))
