"""Request and response bodies of the members' API (SPEC §5.1 field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

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


class AuditEntryPublic(BaseModel):
    id: str
    at: datetime
    actor: dict[str, str | None]
    action: str
    target: dict[str, str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source_ip: str | None
