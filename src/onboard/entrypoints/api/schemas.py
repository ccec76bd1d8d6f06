"""Request and response bodies of the members' API (SPEC §5.1 field names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")

RoleName = Literal["administrator", "device_manager", "iot_manager", "technician", "viewer"]
# PostgreSQL text cannot hold NUL: refused here as invalid input rather than failing later.
NO_NUL = r"^[^\x00]*$"
# A name: something other than white space, and no NUL.
NAME_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
# The domain's email rule (values.normalize_email), so generated clients know it too.
EMAIL_PATTERN = r"^\s*[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s.\x00]{2,}\s*$"
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
Password = Annotated[str, Field(min_length=10, max_length=256)]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
DepartmentIds = Annotated[list[Ident], Field(max_length=500)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, str]] | None = None


class PageOf(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class OrganizationRef(BaseModel):
    id: str
    name: str


class MePublic(BaseModel):
    id: str
    email: str
    organization: OrganizationRef
    roles: list[RoleName]
    departments: list[str] | None = Field(description="null means all departments")


class DepartmentCreate(Body):
    name: Name


class DepartmentUpdate(Body):
    name: Name


class DepartmentPublic(BaseModel):
    id: str
    name: str
    created_at: datetime


class MemberCreate(Body):
    email: Email
    password: Password | None = Field(
        None, description="For a new person; without it a one-time password is returned once."
    )
    roles: Annotated[list[RoleName], Field(min_length=1, max_length=5)]
    departments: DepartmentIds | None = Field(None, description="null means all departments")


class MemberUpdate(Body):
    roles: Annotated[list[RoleName], Field(min_length=1, max_length=5)] | None = None
    departments: DepartmentIds | None = Field(None, description="null means all departments")


class MemberPublic(BaseModel):
    id: str
    email: str
    roles: list[RoleName]
    departments: list[str] | None
    created_at: datetime
    one_time_password: str | None = Field(
        None, description="Only in the answer that created a new person without a password."
    )


class TokenCreate(Body):
    name: Name


class TokenPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The token itself: shown once, never again.")


class CustomerCreate(Body):
    name: Name
    departments: DepartmentIds | None = None


class CustomerUpdate(Body):
    name: Name | None = None
    departments: DepartmentIds | None = None


class CustomerPublic(BaseModel):
    id: str
    name: str
    departments: list[str]
    created_at: datetime


class CustomerUserCreate(Body):
    email: Email
    password: Password | None = None


class CustomerUserPublic(BaseModel):
    id: str
    customer_id: str
    email: str
    created_at: datetime
    one_time_password: str | None = None


class TimelineEntryPublic(BaseModel):
    """One event of a device's lifecycle timeline (A3): an audit entry without the
    address it came from."""

    id: str
    at: datetime
    actor: dict[str, str | None]
    action: str
    target: dict[str, str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditEntryPublic(TimelineEntryPublic):
    source_ip: str | None


# --- Part A: templates, devices, codes, the public code page (SPEC A1-A16) ---------------

FieldTypeName = Literal["string", "number", "boolean", "date"]
DeviceStatusName = Literal["active", "inactive", "maintenance", "retired"]
PublicStateName = Literal["not_found", "deactivated", "unpaired", "pin_required", "paired"]
InteractionKindName = Literal["note", "message", "notification"]
# The domain's rules (domain.codes, domain.devices), so generated clients know them too.
PIN_PATTERN = r"^[0-9]{4,8}$"
FIELD_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
Pin = Annotated[str, Field(pattern=PIN_PATTERN, description="4 to 8 digits")]
Label = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
Batch = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
Serial = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
# The domain checks the check digit (domain.dynamic_codes.check_gtin); stored as 14 digits.
Gtin = Annotated[
    str,
    Field(
        pattern=r"^\s*([0-9]{8}|[0-9]{12,14})\s*$",
        max_length=40,
        description="GS1 GTIN-8, -12, -13 or -14 with a valid check digit; shown as 14 digits.",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=10_000, pattern=NAME_PATTERN)]
TokenText = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
AttributeValue = (
    bool
    | Annotated[int, Field(ge=-(2**53), le=2**53)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[str, Field(max_length=2000, pattern=NO_NUL)]
    | None
)
Attributes = Annotated[
    dict[Annotated[str, Field(max_length=64)], AttributeValue], Field(max_length=100)
]


def _utc(moment: datetime) -> datetime:
    """The moment in UTC; a time without zone is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise ValueError("out of range") from None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _not_null(value: Any) -> Any:
    """A field that may be left out of a change, but not set to null."""
    if value is None:
        raise ValueError("must not be null; leave the field out to keep it")
    return value


class TemplateField(Body):
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)]
    type: FieldTypeName = "string"
    required: bool = False
    public: bool = Field(False, description="Shown to code users on the device's public page.")


TemplateFields = Annotated[list[TemplateField], Field(max_length=100)]


class TemplateCreate(Body):
    name: Name
    fields: TemplateFields = []
    departments: DepartmentIds | None = Field(
        None, description="Departments new devices of this template get."
    )
    gtin: Gtin | None = Field(
        None, description="Dynamic codes with this GTIN create their devices from it (A14)."
    )


class TemplateUpdate(Body):
    name: Name | SkipJsonSchema[None] = None
    fields: TemplateFields | SkipJsonSchema[None] = None
    departments: DepartmentIds | None = None
    gtin: Gtin | None = Field(None, description="null removes the GTIN")

    _present = field_validator("name", "fields", mode="before")(_not_null)


class TemplatePublic(BaseModel):
    id: str
    name: str
    fields: list[TemplateField]
    departments: list[str]
    gtin: str | None = None
    created_at: datetime


class Location(Body):
    text: Annotated[str, Field(max_length=500, pattern=NO_NUL)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class DeviceCreate(Body):
    name: Name
    serial: Serial | None = None
    gtin: Gtin | None = Field(
        None, description="With the serial, names the device in GS1 payloads (A14)."
    )
    template_id: Ident | None = None
    attributes: Attributes | None = Field(
        None, description="Typed by the template's fields; without a template, plain values."
    )
    departments: DepartmentIds | None = Field(
        None, description="Default: the template's, else your own."
    )
    customer_id: Ident | None = None
    location: Location | None = None


class DeviceUpdate(Body):
    name: Name | SkipJsonSchema[None] = None
    serial: Serial | None = None
    gtin: Gtin | None = None
    template_id: Ident | None = None
    attributes: Attributes | None = None
    departments: DepartmentIds | None = None
    customer_id: Ident | None = None
    location: Location | None = None
    status: DeviceStatusName | SkipJsonSchema[None] = None

    _present = field_validator("name", "status", mode="before")(_not_null)


class DevicePublic(BaseModel):
    id: str
    name: str
    serial: str | None
    gtin: str | None = None
    template_id: str | None
    attributes: dict[str, Any]
    departments: list[str]
    customer_id: str | None
    location: Location
    status: DeviceStatusName
    codes: list[str] = Field(description="Tokens of the codes paired with the device.")
    photo_url: str | None = Field(
        None, description="Path of the installation photo on this server; null when none."
    )
    created_at: datetime
    updated_at: datetime


class DeviceCodeCreate(Body):
    """Pair an existing code (``code``) or create one paired at once (``new``)."""

    code: TokenText | None = Field(None, description="The token of an unpaired code to pair.")
    new: bool | None = Field(None, description="true: create a new code paired at once.")

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.code is not None) == bool(self.new):
            raise ValueError('give either "code" (a token) or "new": true')
        return self


class ServiceRecordCreate(Body):
    text: Text
    performed_at: UtcDatetime | None = Field(None, description="Default: now.")


class ServiceRecordPublic(BaseModel):
    id: str
    device_id: str
    text: str
    performed_at: datetime
    author: str
    created_at: datetime


class InteractionCreate(Body):
    kind: Literal["note", "message"]
    text: Text


class InteractionPublic(BaseModel):
    id: str
    device_id: str
    kind: InteractionKindName
    text: str
    contact: str | None
    author: str
    created_at: datetime


class DocumentLinkCreate(Body):
    """A document that is a link (a file comes as multipart/form-data instead)."""

    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
    title: Name
    public: bool = Field(False, description="Shown to code users (A12).")


class DocumentPublic(BaseModel):
    """A document of a device or template (A3, A4): a link (``url``) or a file
    (``content_url``, a path on this server, with its sniffed ``content_type``)."""

    id: str
    title: str
    public: bool
    url: str | None
    content_url: str | None
    content_type: str | None
    size: int | None
    author: str
    created_at: datetime


class PublicDocumentPublic(BaseModel):
    """A public document as code users see it (A12)."""

    id: str
    title: str
    url: str | None
    content_url: str | None
    content_type: str | None
    size: int | None


class CodeCreate(Body):
    count: int = Field(1, ge=1, le=100_000, description="More than 1 answers {items: [...]}.")
    batch: Batch | None = None
    label: Label | None = None
    departments: DepartmentIds | None = None
    pin: Pin | None = None


class CodeUpdate(Body):
    active: bool | SkipJsonSchema[None] = None
    pin: Pin | None = Field(None, description="null removes the PIN")
    label: Label | None = None
    departments: DepartmentIds | None = Field(
        None, description="The code's own departments, which apply while it is unpaired (A8)."
    )

    _present = field_validator("active", mode="before")(_not_null)


class CodePublic(BaseModel):
    token: str
    url: str
    label: str | None
    batch: str | None
    active: bool
    pin_protected: bool
    departments: list[str] = Field(
        description="Effective departments: the device's while paired, else the code's own (A8)."
    )
    own_departments: list[str]
    device_id: str | None
    payload: str | None = Field(
        None, description="A dynamic code's scanned payload it is bound to (A14)."
    )
    created_at: datetime
    updated_at: datetime


class CodeBatchPublic(BaseModel):
    items: list[CodePublic]


class CodePair(Body):
    """Pair with an existing device (``device_id``) or a new one (``new_device``)."""

    device_id: Ident | None = None
    new_device: DeviceCreate | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.device_id is None) == (self.new_device is None):
            raise ValueError('give either "device_id" or "new_device"')
        return self


class NotificationPublic(BaseModel):
    id: str
    device_id: str
    message: str
    contact: str | None
    created_at: datetime


class PinEntry(Body):
    pin: Pin


class NotificationCreate(Body):
    message: Annotated[str, Field(min_length=1, max_length=2000, pattern=NAME_PATTERN)]
    contact: Annotated[str, Field(max_length=200, pattern=NO_NUL)] | None = None


class NotificationSent(BaseModel):
    message: str
    contact: str | None
    created_at: datetime


class DeviceViewPublic(BaseModel):
    """What a code user sees of a device: its name, public attributes, photo and public
    documents (A12)."""

    name: str
    attributes: dict[str, Any]
    photo_url: str | None = None
    documents: list[PublicDocumentPublic] = Field(default_factory=list)


class CodeStatePublic(BaseModel):
    """The code page as JSON (A12): its state, and the device's public view once paired."""

    state: PublicStateName
    token: str | None = Field(description="The canonical token; null when not found.")
    label: str | None
    device: DeviceViewPublic | None


class ImportRowPublic(BaseModel):
    row: int
    ok: bool
    code: str | None = None
    detail: str | None = None


class ImportReportPublic(BaseModel):
    imported: int
    rows: list[ImportRowPublic]


# --- dynamic codes (A14) ------------------------------------------------------------------


RuleKindName = Literal["gs1", "regex", "enrollment"]


class DynamicRuleCreate(Body):
    name: Name
    kind: RuleKindName
    pattern: Annotated[str, Field(max_length=500, pattern=NO_NUL)] | None = Field(
        None,
        description="gs1: an optional GS1 company prefix (only GTINs under it match); regex: "
        "a regular expression matching the whole payload, with the named group serial and "
        "optionally gtin; enrollment: how the QR on a connected device's back gives its "
        "serial and access key, a regular expression with the named groups serial and key "
        "(C9), read when the mobile app enrolls a device and never for codes.",
    )
    template_id: Ident | None = Field(
        None, description="For devices whose GTIN maps to no template (or with no GTIN)."
    )


class DynamicRulePublic(BaseModel):
    id: str
    name: str
    kind: RuleKindName
    pattern: str | None
    template_id: str | None
    created_at: datetime


class ScanRequest(Body):
    payload: Annotated[str, Field(min_length=1, max_length=1000, pattern=NO_NUL)] = Field(
        description="The scanned text: a code URL or token, a GS1 Digital Link or element "
        "string, or what a regex rule reads (at most 500 characters once trimmed)."
    )
    create: bool = Field(
        False,
        description="true: a payload a rule reads that names no device yet creates the device "
        "(from the template mapped to its GTIN) and a code bound to the payload, paired at once.",
    )
    attributes: Attributes | None = Field(
        None, description="Attributes of a device created from the payload."
    )


class ScanResultPublic(BaseModel):
    result: Literal["code", "device", "created", "unknown"]
    code: CodePublic | None = Field(description="The code the payload is, or is bound to.")
    device: DevicePublic | None
    gtin: str | None = Field(description="The GTIN a rule read from the payload (14 digits).")
    serial: str | None = Field(description="The serial a rule read from the payload.")
