"""Reading what the device pages send, in the back office and the mobile app: typed template
attributes, the device form's fields and its file uploads (SPEC A3, A4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from onboard.domain.access import Actor
from onboard.domain.devices import Device, FieldType, Location, Template, TemplateField
from onboard.domain.errors import (
    Conflict,
    DepartmentForbidden,
    DomainError,
    FileTooLarge,
    Invalid,
    UnsupportedFileType,
)
from onboard.entrypoints import http
from onboard.entrypoints.uploads import Upload, read_page_upload
from onboard.entrypoints.web.forms import chosen_departments
from onboard.entrypoints.web.rendering import FormErrors, form_errors
from onboard.services import templates
from onboard.services.ports import Services

ATTRIBUTE_PREFIX = "attributes."
NO_TEMPLATE = "none"
MAX_FIELD_CHARS = 10_000

# The device use cases name their fields as the API does; the forms name some otherwise.
FIELD_NAMES = {
    "customer_id": "customer",
    "template_id": "template",
    "location.text": "location",
    "location": "location",
}
# Refusals a device form shows next to its fields rather than on a page of their own.
FORM_ERRORS = (Invalid, Conflict, DepartmentForbidden)
UPLOAD_ERRORS = (Invalid, FileTooLarge, UnsupportedFileType)
_YES = frozenset({"yes", "true", "on", "1"})
_NO = frozenset({"no", "false", "off", "0"})


def device_form_errors(error: DomainError) -> FormErrors:
    """A refusal of the device form, its fields named as the form names them."""
    return form_errors(error, fields=FIELD_NAMES)


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > MAX_FIELD_CHARS:
        raise Invalid(
            f"A field has at most {MAX_FIELD_CHARS:,} characters.",
            fields={name: f"at most {MAX_FIELD_CHARS} characters"},
        )
    return value


def _number(raw: str) -> int | float | str:
    """A number typed into a number field, with a decimal comma too ("7,5"); left as text
    when it is none, so the use case says so next to the field."""
    text = raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return raw


def attribute_value(field: TemplateField, raw: str) -> Any:
    """A4: what was typed into a template's field, in the field's type where it reads as
    one (a number, a yes or no); the domain refuses the rest next to the field."""
    if field.type is FieldType.NUMBER:
        return _number(raw)
    if field.type is FieldType.BOOLEAN:
        lowered = raw.lower()
        return True if lowered in _YES else False if lowered in _NO else raw
    return raw


def attributes_from(template: Template | None, form: Mapping[str, object]) -> dict[str, Any]:
    """A4: the template's fields as the form sent them, in their types; an empty field is
    left out (the use case says when a required one is missing)."""
    if template is None:
        return {}
    values: dict[str, Any] = {}
    for f in template.fields:
        raw = _text(form, ATTRIBUTE_PREFIX + f.name).strip()
        if raw:
            values[f.name] = attribute_value(f, raw)
    return values


def attribute_texts(template: Template | None, form: Mapping[str, object]) -> dict[str, str]:
    """What was typed into each attribute field, to show the form again as it was sent."""
    if template is None:
        return {}
    return {f.name: _text(form, ATTRIBUTE_PREFIX + f.name) for f in template.fields}


def shown_attributes(template: Template | None, device: Device) -> dict[str, str]:
    """The device's attributes as the form's fields show them."""
    if template is None:
        return {}
    texts: dict[str, str] = {}
    for f in template.fields:
        value = device.attributes.get(f.name)
        if value is None:
            texts[f.name] = ""
        elif isinstance(value, bool):
            texts[f.name] = "yes" if value else "no"
        else:
            texts[f.name] = str(value)
    return texts


@dataclass(frozen=True)
class DeviceFields:
    """The device form's own fields, as typed (attributes and departments aside)."""

    name: str = ""
    serial: str = ""
    gtin: str = ""
    customer: str = ""
    location: str = ""
    status: str = ""

    @classmethod
    def of(cls, device: Device) -> DeviceFields:
        return cls(
            name=device.name,
            serial=device.serial or "",
            gtin=device.gtin or "",
            customer=device.customer_id or "",
            location=device.location.text or "",
            status=device.status.value,
        )

    @classmethod
    def read(cls, form: FormData) -> DeviceFields:
        return cls(
            name=_text(form, "name"),
            serial=_text(form, "serial"),
            gtin=_text(form, "gtin"),
            customer=_text(form, "customer"),
            location=_text(form, "location"),
            status=_text(form, "status"),
        )

    def location_of(self, keep: Location | None = None) -> Location:
        """The typed location text; coordinates set elsewhere (the API) are kept."""
        kept = keep or Location()
        return Location(self.location.strip() or None, kept.latitude, kept.longitude)


def chosen_template(svc: Services, actor: Actor, raw: str | None) -> Template | None:
    """The template chosen for a new device; none for "none" (or nothing) chosen."""
    raw = (raw or "").strip()
    if not raw or raw == NO_TEMPLATE:
        return None
    return templates.get_template(svc, actor, raw)


def chosen_in(form: FormData) -> list[str]:
    """The departments ticked in the form."""
    return [v for v in form.getlist("departments") if isinstance(v, str) and v]


def departments_from(form: FormData) -> list[str] | None:
    """Create: none ticked leaves the choice to the template and the member's own (P5)."""
    return chosen_departments("some", chosen_in(form)) or None


async def _form_data(request: Request) -> FormData:
    # The form FastAPI parsed for the declared fields (parsed once, then cached).
    return await request.form()


RawForm = Annotated[FormData, Depends(_form_data)]


# --- uploads -------------------------------------------------------------------------------


async def _upload(request: Request) -> Upload:
    """The upload forms of the device pages (photo, document file). A plain form (no
    file) is read too: it carries the CSRF token and is answered like one without a file."""
    return await read_page_upload(
        request,
        http.container(request).services.upload_max_bytes,
        fields={http.CSRF_FIELD, "file_title", "public"},
    )


DeviceUpload = Annotated[Upload, Depends(_upload)]
