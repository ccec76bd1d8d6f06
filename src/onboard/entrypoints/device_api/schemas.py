"""Request and response bodies of the device API (SPEC §6 field names)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from onboard.entrypoints.api.schemas import NO_NUL

# What a device reports of itself is stored in columns of 100 characters.
Reported = Annotated[str, Field(max_length=100, pattern=NO_NUL)]


class DeviceBody(BaseModel):
    # Firmware newer than the server may send more fields: they are ignored, not refused,
    # so that devices in the field keep working across server versions.
    model_config = ConfigDict(extra="ignore")


class PairRequest(DeviceBody):
    code: str = Field(
        min_length=1,
        max_length=2000,
        pattern=NO_NUL,
        description="The scanned text: the pairing code itself or its link (B5).",
    )
    hardware_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The device's stable hardware identity (IMEI, serial, machine id): "
        "pairing the same hardware again keeps its device and license.",
    )
    model: Reported | None = None
    os: Reported | None = None
    app_version: Reported | None = None


class ConfigurationPublic(BaseModel):
    id: str
    etag: str
    body: dict[str, Any]


class PairedPublic(BaseModel):
    device_id: str
    credential: str = Field(
        description="The device's secret, returned once: send it as `Authorization: Bearer`."
    )
    license_id: str
    configuration: ConfigurationPublic | None = Field(
        description="The newest configuration of the product; null when it has none yet."
    )


class CheckinRequest(DeviceBody):
    configuration_etag: str | None = Field(
        None, max_length=64, description="The ETag of the configuration the device runs."
    )
    state: dict[str, Any] | None = Field(None, description="What the device reports of itself.")


class CommandPublic(BaseModel):
    id: str
    type: str = Field(
        description="`unpair`: the device was removed; forget the credential (B9). "
        "`unenroll`: the enrollment was deleted; factory-reset and acknowledge (C6)."
    )
    params: dict[str, Any]


class CheckinPublic(BaseModel):
    configuration: ConfigurationPublic | None = Field(
        description="Only when it differs from the device's ETag (B8); null otherwise."
    )
    commands: list[CommandPublic]


class AckRequest(DeviceBody):
    ok: bool
    error: str | None = Field(None, max_length=2000, pattern=NO_NUL)


class EnrollRequest(DeviceBody):
    serial: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    expires: int = Field(description="Unix seconds: the proof holds until then, at most an hour.")
    signature: str = Field(
        max_length=200,
        description='b64(HMAC-SHA256(access key, serial + "\\n" + str(expires))) (§6).',
    )


class EnrolledPublic(BaseModel):
    enrollment_id: str
    device_id: str
    credential: str = Field(
        description="The device's secret, returned once: send it as `Authorization: Bearer`."
    )
    settings: dict[str, Any]


class CompleteRequest(DeviceBody):
    capabilities: dict[str, Any] = Field(description="What the device can do (C3).")


class JobPublic(BaseModel):
    id: str
    type: str = Field(description="`enroll` or `unenroll` (C4, C6).")
    serial: str
    access_key: str | None = Field(description="For `enroll` only: the node's secret.")
    settings: dict[str, Any]


class JobResult(DeviceBody):
    ok: bool
    capabilities: dict[str, Any] | None = None
    error: str | None = Field(None, max_length=500, pattern=NO_NUL)


class SightingBody(DeviceBody):
    serial: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    rssi: int | None = Field(None, ge=-200, le=50, description="Signal strength in dBm.")


class NearbyRequest(DeviceBody):
    serials: list[SightingBody] = Field(max_length=1000)


class ActivateRequest(DeviceBody):
    group_id: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    serial: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    expires: int = Field(description="Unix seconds: the proof holds until then, at most an hour.")
    signature: str = Field(
        max_length=200,
        description='b64(HMAC-SHA256(device key, group_id + "\\n" + serial + "\\n" + '
        "str(expires))) (§6, D2).",
    )


class EnvironmentPublic(BaseModel):
    name: str
    api_url: str
    mqtt_url: str


class ActivatedPublic(BaseModel):
    device_id: str
    credential: str = Field(
        description="The device's secret, returned once: send it as `Authorization: Bearer`. "
        "Each activation gives a new one and ends the one before."
    )
    environment: EnvironmentPublic | None = Field(
        description="Where to connect (D4); null when the group has no environment up."
    )
    configuration: dict[str, Any]
    attributes: dict[str, Any]
