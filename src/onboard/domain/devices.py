"""Devices (digital twins) and the templates that define their types (SPEC A3, A4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from onboard.domain.errors import Invalid, InvalidAttributes

MAX_FIELDS = 100
MAX_SERIAL_LENGTH = 100
MAX_TEXT_LENGTH = 10_000
MAX_ATTRIBUTE_TEXT = 2000
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class FieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


@dataclass(frozen=True)
class TemplateField:
    name: str
    type: FieldType
    required: bool = False
    public: bool = False


@dataclass(frozen=True)
class Template:
    """A device type: its attribute fields and the departments new devices get (A4)."""

    id: str
    organization_id: str
    name: str
    fields: tuple[TemplateField, ...]
    departments: frozenset[str]
    created_at: datetime
    gtin: str | None = None  # A14: dynamic codes with this GTIN create devices from it

    def field(self, name: str) -> TemplateField | None:
        return next((f for f in self.fields if f.name == name), None)


def check_fields(raw: list[dict[str, Any]]) -> tuple[TemplateField, ...]:
    """A template's fields: unique names of letters, digits and underscores, known types."""
    if len(raw) > MAX_FIELDS:
        raise Invalid(f"A template has at most {MAX_FIELDS} fields.", fields={"fields": "too many"})
    fields: list[TemplateField] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = str(item.get("name", ""))
        where = f"fields.{index}.name"
        if not _FIELD_NAME.match(name):
            raise Invalid(
                f"Field name {name!r} must start with a letter and use letters, digits, _.",
                fields={where: "letters, digits and _, starting with a letter"},
            )
        if name in seen:
            raise Invalid(f"Field {name!r} appears twice.", fields={where: "duplicate"})
        seen.add(name)
        try:
            kind = FieldType(item.get("type", "string"))
        except ValueError:
            raise Invalid(
                f"Field {name!r} has an unknown type.",
                fields={f"fields.{index}.type": "string, number, boolean or date"},
            ) from None
        fields.append(
            TemplateField(name, kind, bool(item.get("required")), bool(item.get("public")))
        )
    return tuple(fields)


def _typed(field: TemplateField, value: Any) -> Any:
    """The value in its field's type, or InvalidAttributes."""
    wrong = InvalidAttributes(
        f"Attribute {field.name!r} must be a {field.type.value}.",
        fields={f"attributes.{field.name}": f"a {field.type.value}"},
    )
    if field.type is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise wrong
        return value
    if field.type is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        if value != value or value in (float("inf"), float("-inf")):
            raise wrong
        return value
    if not isinstance(value, str):
        raise wrong
    if field.type is FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise wrong from None
    if len(value) > MAX_ATTRIBUTE_TEXT or "\x00" in value:
        raise InvalidAttributes(
            f"Attribute {field.name!r} is too long or holds a NUL character.",
            fields={f"attributes.{field.name}": f"at most {MAX_ATTRIBUTE_TEXT} characters"},
        )
    return value


def check_attributes(template: Template | None, attributes: dict[str, Any]) -> dict[str, Any]:
    """A4: with a template, attributes are its fields, typed, the required ones present;
    without one, free attributes of plain values."""
    if template is None:
        checked: dict[str, Any] = {}
        for name, value in attributes.items():
            if not _FIELD_NAME.match(name):
                raise InvalidAttributes(
                    f"Attribute name {name!r} is not allowed.",
                    fields={f"attributes.{name}": "letters, digits and _"},
                )
            kind = (
                FieldType.BOOLEAN
                if isinstance(value, bool)
                else FieldType.NUMBER
                if isinstance(value, int | float)
                else FieldType.STRING
            )
            checked[name] = _typed(TemplateField(name, kind), value)
        return checked
    unknown = sorted(set(attributes) - {f.name for f in template.fields})
    if unknown:
        raise InvalidAttributes(
            f"The template {template.name!r} has no field {unknown[0]!r}.",
            fields={f"attributes.{unknown[0]}": "not a field of the template"},
        )
    checked = {}
    for field in template.fields:
        value = attributes.get(field.name)
        if value is None or value == "":
            if field.required:
                raise InvalidAttributes(
                    f"Attribute {field.name!r} is required by the template.",
                    fields={f"attributes.{field.name}": "required"},
                )
            continue
        checked[field.name] = _typed(field, value)
    return checked


def check_serial(serial: str | None) -> str | None:
    if serial is None:
        return None
    serial = serial.strip()
    if not serial:
        return None
    if len(serial) > MAX_SERIAL_LENGTH or any(ord(c) < 32 for c in serial):
        raise Invalid(
            f"A serial number has at most {MAX_SERIAL_LENGTH} printable characters.",
            fields={"serial": f"at most {MAX_SERIAL_LENGTH} characters"},
        )
    return serial


def check_text(text: str, *, field: str = "text") -> str:
    text = text.strip()
    if not text:
        raise Invalid(f"The {field} must not be empty.", fields={field: "required"})
    if len(text) > MAX_TEXT_LENGTH or "\x00" in text:
        raise Invalid(
            f"The {field} has at most {MAX_TEXT_LENGTH} characters.",
            fields={field: f"at most {MAX_TEXT_LENGTH} characters"},
        )
    return text


@dataclass(frozen=True)
class Location:
    text: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def check_location(location: Location) -> Location:
    if location.latitude is not None and not -90 <= location.latitude <= 90:
        raise Invalid("Latitude is between -90 and 90.", fields={"location.latitude": "range"})
    if location.longitude is not None and not -180 <= location.longitude <= 180:
        raise Invalid("Longitude is between -180 and 180.", fields={"location.longitude": "range"})
    if (location.latitude is None) != (location.longitude is None):
        raise Invalid(
            "Give both latitude and longitude, or neither.",
            fields={"location": "both coordinates or none"},
        )
    text = location.text.strip() if location.text else None
    if text and (len(text) > 500 or "\x00" in text):
        raise Invalid("A location has at most 500 characters.", fields={"location.text": "long"})
    return Location(text or None, location.latitude, location.longitude)


@dataclass(frozen=True)
class Device:
    """One physical device's digital twin (A3)."""

    id: str
    organization_id: str
    name: str
    serial: str | None
    template_id: str | None
    attributes: dict[str, Any]
    departments: frozenset[str]
    customer_id: str | None
    location: Location
    status: DeviceStatus
    created_at: datetime
    updated_at: datetime
    gtin: str | None = None  # A14: with the serial, names the device in GS1 payloads
    photo_key: str | None = None  # the installation photo in the file storage (A3)
    photo_content_type: str | None = None


class InteractionKind(StrEnum):
    NOTE = "note"
    MESSAGE = "message"
    NOTIFICATION = "notification"


@dataclass(frozen=True)
class Interaction:
    """A customer interaction on a device: a note, a message, a code user's notification."""

    id: str
    organization_id: str
    device_id: str
    kind: InteractionKind
    text: str
    contact: str | None
    author: str
    created_at: datetime


@dataclass(frozen=True)
class ServiceRecord:
    """A dated entry of the device's service history, by a member (A3)."""

    id: str
    organization_id: str
    device_id: str
    text: str
    performed_at: datetime
    author: str
    created_at: datetime
