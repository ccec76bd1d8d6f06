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
    type: str = Field(description="`unpair`: the device was removed; forget the credential (B9).")
    params: dict[str, Any]


class CheckinPublic(BaseModel):
    configuration: ConfigurationPublic | None = Field(
        description="Only when it differs from the device's ETag (B8); null otherwise."
    )
    commands: list[CommandPublic]


class AckRequest(DeviceBody):
    ok: bool
    error: str | None = Field(None, max_length=2000, pattern=NO_NUL)
