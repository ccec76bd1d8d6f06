"""What the use cases need from the outside world: storage, hashing, time and identifiers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from onboard.domain.access import Actor, Scope
from onboard.domain.audit import AuditEntry, Change, Event
from onboard.domain.batches import Batch, Progress
from onboard.domain.clock import Clock
from onboard.domain.codes import Code, Notification
from onboard.domain.devices import Device, Interaction, ServiceRecord, Template
from onboard.domain.documents import Document
from onboard.domain.dynamic_codes import DeviceIdentity, DynamicRule, Patterns
from onboard.domain.enrollment import (
    DeviceKind,
    Enrollment,
    EnrollmentFilter,
    Nearby,
    Sighting,
    StateChange,
)
from onboard.domain.enrollment_import import RejectionCode, StagedRejection, StagedRow
from onboard.domain.identity import (
    ApiToken,
    Customer,
    CustomerUser,
    Department,
    Member,
    Organization,
    Person,
)
from onboard.domain.licensing import (
    ClientDevice,
    Configuration,
    License,
    LicensedDevice,
    LicenseStatus,
    LicenseTally,
    PairingCode,
    Product,
)
from onboard.domain.provisioning import (
    ActivationView,
    Environment,
    ProvisioningGroup,
    Registration,
)
from onboard.domain.registrations import (
    RegistrationRejectionCode,
    StagedRegistration,
    StagedRegistrationRejection,
)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class PageRequest:
    """Cursor pagination: ``after`` is the last id of the previous page (opaque to clients)."""

    after: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Page(Generic[T_co]):
    items: Sequence[T_co]
    next_after: str | None


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    target: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: the person, and the membership or customer account in use."""

    id: str
    person_id: str
    member_id: str | None
    customer_user_id: str | None
    expires_at: datetime


@dataclass(frozen=True)
class CodeFilter:
    """A16: what a list of codes can be narrowed by; None means any."""

    paired: bool | None = None
    active: bool | None = None
    pin: bool | None = None
    printed: bool | None = None
    department: str | None = None
    batch: str | None = None
    device_id: str | None = None
    q: str | None = None


@dataclass(frozen=True)
class DeviceFilter:
    """A16: what a list of devices can be narrowed by; None means any."""

    paired: bool | None = None
    department: str | None = None
    template: str | None = None
    customer: str | None = None
    status: str | None = None
    q: str | None = None


class Ids(Protocol):
    def new(self) -> str: ...


class Entropy(Protocol):
    """Random bytes from a CSPRNG (code tokens, one-time secrets)."""

    def __call__(self, size: int, /) -> bytes: ...


class Signer(Protocol):
    """Signs values that browsers hold for us (keyed by the secret key)."""

    def sign(self, message: str) -> str: ...
    def verify(self, message: str, signature: str) -> bool: ...


class SecretBox(Protocol):
    """Encrypts device secrets at rest (C1, D1); ``context`` binds a value to its record."""

    def seal(self, plaintext: str, *, context: str) -> str: ...
    def open(self, sealed: str, *, context: str) -> str: ...
    def is_current(self, sealed: str) -> bool:
        """Whether the value is sealed under the current key (rotation leaves it be)."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class OrganizationRepository(Protocol):
    def add(self, organization: Organization) -> None: ...
    def get(self, organization_id: str) -> Organization | None: ...
    def get_by_name(self, name: str) -> Organization | None: ...
    def get_many(self, organization_ids: Sequence[str]) -> list[Organization]: ...


class DepartmentRepository(Protocol):
    def add(self, department: Department) -> None: ...
    def get(self, scope: Scope, department_id: str) -> Department | None: ...
    def get_by_name(self, organization_id: str, name: str) -> Department | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Department]: ...
    def count(self, scope: Scope) -> int: ...
    def existing_ids(self, organization_id: str, ids: frozenset[str]) -> frozenset[str]: ...
    def rename(self, department_id: str, name: str) -> None: ...
    def delete(self, department_id: str) -> None: ...
    def usage(self, department_id: str) -> int: ...


class PersonRepository(Protocol):
    def add(self, person: Person) -> None: ...
    def get(self, person_id: str) -> Person | None: ...
    def get_by_email(self, email: str) -> Person | None: ...
    def set_password_hash(self, person_id: str, password_hash: str) -> None: ...


class MemberRepository(Protocol):
    def add(self, member: Member) -> None: ...
    def get(self, scope: Scope, member_id: str) -> Member | None: ...
    def get_unscoped(self, member_id: str) -> Member | None: ...
    def get_for_person(self, organization_id: str, person_id: str) -> Member | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Member]: ...
    def count(self, scope: Scope) -> int: ...
    def all_in_organization(self, organization_id: str) -> list[Member]: ...
    def of_person(self, person_id: str) -> list[Member]: ...
    def update(self, member: Member) -> None: ...
    def delete(self, member_id: str) -> None: ...


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None: ...
    def get(self, scope: Scope, customer_id: str) -> Customer | None: ...
    def get_unscoped(self, customer_id: str) -> Customer | None: ...
    def get_by_name(self, organization_id: str, name: str) -> Customer | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Customer]: ...
    def count(self, scope: Scope) -> int: ...
    def update(self, customer: Customer) -> None: ...
    def delete(self, customer_id: str) -> None: ...


class CustomerUserRepository(Protocol):
    def add(self, user: CustomerUser) -> None: ...
    def get(self, customer_id: str, user_id: str) -> CustomerUser | None: ...
    def get_unscoped(self, user_id: str) -> CustomerUser | None: ...
    def get_for_person(self, customer_id: str, person_id: str) -> CustomerUser | None: ...
    def list_page(self, customer_id: str, page: PageRequest) -> Page[CustomerUser]: ...
    def of_person(self, person_id: str) -> list[CustomerUser]: ...
    def delete(self, user_id: str) -> None: ...


class TokenRepository(Protocol):
    def add(self, token: ApiToken, token_hash: str) -> None: ...
    def get(self, member_id: str, token_id: str) -> ApiToken | None: ...
    def list_page(self, member_id: str, page: PageRequest) -> Page[ApiToken]: ...
    def find_by_hash(self, token_hash: str) -> ApiToken | None: ...
    def touch(self, token_id: str, at: datetime) -> None: ...
    def delete(self, token_id: str) -> None: ...


class SessionRepository(Protocol):
    def add(self, session: WebSession, token_hash: str, created_at: datetime) -> None: ...
    def find_by_hash(self, token_hash: str) -> WebSession | None: ...
    def set_context(
        self, session_id: str, *, member_id: str | None, customer_user_id: str | None
    ) -> None: ...
    def delete(self, session_id: str) -> None: ...
    def delete_expired(self, now: datetime) -> int: ...
    def delete_for_person(self, person_id: str) -> None: ...


class RateLimitRepository(Protocol):
    def hit(self, key: str, *, now: datetime, window_seconds: int) -> int:
        """Count one attempt for ``key`` in the current window; return the window's total."""
        ...

    def count(self, key: str, *, now: datetime, window_seconds: int) -> int: ...
    def reset(self, key: str) -> None: ...


class AuditRepository(Protocol):
    def list_page(
        self, scope: Scope, filters: AuditFilter, page: PageRequest
    ) -> Page[AuditEntry]: ...
    def of_device(
        self, device_id: str, page: PageRequest, *, actions: Collection[str] = ()
    ) -> Page[AuditEntry]: ...
    def count(self, scope: Scope) -> int: ...


class TemplateRepository(Protocol):
    def add(self, template: Template) -> None: ...
    def get(self, scope: Scope, template_id: str) -> Template | None: ...
    def get_unscoped(self, template_id: str) -> Template | None: ...
    def get_by_name(self, organization_id: str, name: str) -> Template | None: ...
    def get_by_gtin(self, organization_id: str, gtin: str) -> Template | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Template]: ...
    def update(self, template: Template) -> None: ...
    def delete(self, template_id: str) -> None: ...
    def usage(self, template_id: str) -> int: ...


class DeviceRepository(Protocol):
    def add(self, device: Device) -> None: ...
    def get(self, scope: Scope, device_id: str, *, for_change: bool = False) -> Device | None:
        """``for_change``: hold the device's row to the end of the transaction, so that
        concurrent changes of it (and pairings with it) wait instead of being lost."""
        ...

    def get_many(self, scope: Scope, device_ids: Sequence[str]) -> list[Device]:
        """Those of ``device_ids`` the scope sees, in one query."""
        ...

    def move(self, device_id: str, organization_id: str, at: datetime) -> None:
        """D6: the twin goes to another organization with its documents, service records
        and interactions; what only its old organization has (departments, customer,
        template) it leaves behind. Its codes are to be unpaired first."""
        ...

    def get_unscoped(self, device_id: str) -> Device | None: ...
    def departments_of(self, device_ids: Sequence[str]) -> dict[str, frozenset[str]]: ...
    def get_by_identity(
        self, scope: Scope, gtin: str | None, serial: str, *, template_id: str | None = None
    ) -> Device | None:
        """The oldest device the scope sees with this GTIN (None: without one) and serial,
        and of that template when one is given (A14)."""
        ...

    def with_identity(self, gtin: str, serial: str, *, limit: int) -> list[Device]:
        """Devices of any organization with this GTIN and serial, for GS1 Digital Link
        paths (A14): the caller decides what an ambiguous answer means."""
        ...

    def list_page(self, scope: Scope, filters: DeviceFilter, page: PageRequest) -> Page[Device]: ...
    def count(self, scope: Scope) -> int: ...
    def update(self, device: Device) -> None: ...
    def delete(self, device_id: str) -> None: ...


class CodeRepository(Protocol):
    def add_many(self, codes: Sequence[Code]) -> None: ...
    def get(self, scope: Scope, token: str) -> Code | None: ...
    def get_by_payload(self, scope: Scope, payload: str) -> Code | None:
        """The dynamic code bound to exactly this payload, if the scope sees it (A14)."""
        ...

    def get_by_token(self, token: str) -> Code | None:
        """Any organization's code, for the public page (no scope: the token is the key)."""
        ...

    def resolve(self, token: str) -> tuple[Code, Device | None, Template | None] | None:
        """The code, its device and the device's template in one read, for the public
        page; departments are not loaded (code users have no scope)."""
        ...

    def list_page(self, scope: Scope, filters: CodeFilter, page: PageRequest) -> Page[Code]: ...
    def tokens_page(
        self, scope: Scope, filters: CodeFilter, page: PageRequest
    ) -> Page[tuple[str, str]]:
        """(id, token) of the matching codes, oldest first."""
        ...

    def tally(self, scope: Scope, batches: Sequence[str]) -> dict[str, Progress]:
        """How many of the scope's codes each batch has, printed and paired."""
        ...

    def mark_printed(
        self, scope: Scope, filters: CodeFilter, after: str | None, through: str, at: datetime
    ) -> int:
        """First printing of the matching codes with ids in (``after``, ``through``]."""
        ...

    def count(self, scope: Scope) -> int: ...
    def of_device(self, device_id: str) -> list[Code]: ...
    def of_devices(self, device_ids: Sequence[str]) -> dict[str, list[Code]]: ...
    def claim(self, code_id: str, device_id: str, at: datetime) -> bool:
        """Pair atomically: True only if the code was active and free (A6)."""
        ...

    def release(self, code_id: str, device_id: str, at: datetime) -> bool: ...
    def lock_paired(self, code_id: str, device_id: str) -> bool:
        """Hold the code's row for this transaction if it is active and paired with the
        device (so it cannot be unpaired under a notification); False if it is not."""
        ...

    def update(self, code: Code) -> None: ...
    def delete(self, code_id: str) -> None: ...


class BatchRepository(Protocol):
    def add(self, batch: Batch) -> None: ...
    def get(self, scope: Scope, batch_id: str) -> Batch | None: ...
    def get_by_number(self, organization_id: str, number: str) -> Batch | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Batch]: ...
    def count(self, organization_id: str) -> int: ...


class ProductRepository(Protocol):
    def add(self, product: Product) -> None: ...
    def get(self, scope: Scope, product_id: str) -> Product | None: ...
    def get_by_name(self, organization_id: str, name: str) -> Product | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[Product]: ...


class LicenseRepository(Protocol):
    def add_many(self, licenses: Sequence[License]) -> None: ...
    def get(self, scope: Scope, license_id: str) -> License | None: ...
    def list_page(
        self, scope: Scope, product_id: str | None, status: LicenseStatus | None, page: PageRequest
    ) -> Page[License]: ...
    def take_free(self, product_id: str, device_id: str, now: datetime) -> str | None:
        """Give the device a free, unexpired, unreserved license of the product, atomically
        (B6); its id, or None when there is none."""
        ...

    def take(self, license_id: str, device_id: str, now: datetime) -> bool:
        """Give the device this license if it is still free and unexpired (B4)."""
        ...

    def reserve(self, license_id: str, until: datetime, now: datetime) -> bool:
        """Hold a free license for a single-use code until ``until`` (B4)."""
        ...

    def release(self, license_id: str) -> None:
        """End a free license's hold for a single-use code (B4)."""
        ...

    def of_device(self, device_id: str) -> License | None: ...
    def tally(
        self, organization_id: str, product_ids: Sequence[str], now: datetime
    ) -> dict[str, LicenseTally]:
        """The licenses of these products counted, by product (those without any absent)."""
        ...


class PairingCodeRepository(Protocol):
    def add(self, code: PairingCode, digest: str) -> None: ...
    def get(self, scope: Scope, code_id: str) -> PairingCode | None: ...
    def by_digest(self, digest: str) -> PairingCode | None: ...
    def list_page(
        self, scope: Scope, product_id: str | None, page: PageRequest
    ) -> Page[PairingCode]: ...
    def use(self, code_id: str, now: datetime) -> bool:
        """Count one use if the code is unrevoked, unexpired and has uses left, atomically."""
        ...

    def revoke(self, code_id: str, at: datetime) -> None: ...


class ConfigurationRepository(Protocol):
    def add(self, configuration: Configuration) -> None: ...
    def get(self, scope: Scope, configuration_id: str) -> Configuration | None: ...
    def newest(self, product_id: str) -> Configuration | None: ...
    def list_page(
        self, scope: Scope, product_id: str | None, page: PageRequest
    ) -> Page[Configuration]: ...


class ClientDeviceRepository(Protocol):
    def add(self, device: ClientDevice, credential_digest: str) -> None: ...
    def by_hardware(
        self, organization_id: str, product_id: str, hardware_id: str
    ) -> ClientDevice | None: ...
    def replace_credential(self, client_id: str, credential_digest: str) -> None: ...
    def delete(self, client_id: str) -> None: ...
    def by_credential(self, credential_digest: str) -> ClientDevice | None: ...
    def touch(self, client_id: str, at: datetime) -> None: ...
    def of_devices(self, device_ids: Sequence[str]) -> dict[str, ClientDevice]:
        """The client records of these twins, by device id (those that have one)."""
        ...

    def set_configuration(self, client_ids: Sequence[str], configuration_id: str) -> int: ...
    def list_page(
        self,
        scope: Scope,
        product_id: str | None,
        configuration_id: str | None,
        page: PageRequest,
    ) -> Page[LicensedDevice]:
        """Paired devices whose twins the scope sees, newest paired first."""
        ...

    def count_by_configuration(
        self, scope: Scope, configuration_ids: Sequence[str]
    ) -> dict[str, int]:
        """How many paired devices the scope sees use each configuration."""
        ...


class EnvironmentRepository(Protocol):
    """Platform-wide (P2)."""

    def add(self, environment: Environment, at: datetime) -> None: ...
    def update(self, environment: Environment, at: datetime) -> None: ...
    def get(self, environment_id: str) -> Environment | None: ...
    def by_name(self, name: str) -> Environment | None: ...
    def all(self) -> list[Environment]: ...
    def of_group(self, group_ref: str) -> list[Environment]:
        """A group's environments in its order (D4)."""
        ...


class ProvisioningGroupRepository(Protocol):
    def add(
        self,
        group: ProvisioningGroup,
        sealed_secret: str,
        at: datetime,
        sealed_secondary: str | None = None,
    ) -> None: ...
    def update(self, group: ProvisioningGroup, at: datetime) -> None: ...
    def get(self, scope: Scope, group_ref: str) -> ProvisioningGroup | None: ...
    def by_group_id(self, group_id: str) -> ProvisioningGroup | None:
        """Platform-wide: a device names its group by the public id only."""
        ...

    def by_group_ref(self, group_ref: str) -> ProvisioningGroup | None:
        """By its record's id, whatever the organization (for its devices)."""
        ...

    def list_page(self, scope: Scope, page: PageRequest) -> Page[ProvisioningGroup]: ...
    def sealed_secrets(self, group_ref: str) -> tuple[str, str | None]: ...
    def set_secrets(
        self, group_ref: str, primary: str, secondary: str | None, at: datetime
    ) -> None: ...
    def sealed_page(self, after: str | None, limit: int) -> list[tuple[str, str, str]]: ...
    def sealed_secondary_page(
        self, after: str | None, limit: int
    ) -> list[tuple[str, str, str]]: ...
    def reseal(self, column: str, changes: Sequence[tuple[str, str, str]]) -> int: ...


@dataclass(frozen=True)
class ActivationAsked:
    """An activation to read for (D4): the group and serial it names, and the rate-limit
    key of its source's failures (§6)."""

    group_id: str
    serial: str
    failures_key: str


@dataclass(frozen=True)
class ActivationWrite:
    """All one activation writes (D4): with ``first``, the twin it makes (only if the
    registration has none yet); the registration's new credential (its digest) and
    environment; its audit entry and event; a hit of its device's rate limit (§6)."""

    first: Device | None
    registration_id: str
    environment_id: str | None
    credential_digest: str
    entry: AuditEntry
    event: Event
    limit_key: str


class ActivationRepository(Protocol):
    def view_many(
        self, asked: Sequence[ActivationAsked], since: datetime
    ) -> list[ActivationView | None]:
        """All each asked activation reads, at once (D4), in order; None for an unknown
        group id. Recent failures count hits of the failures key in a window started after
        ``since``."""
        ...

    def write_many(
        self, writes: Sequence[ActivationWrite], *, at: datetime, limit: int, window_seconds: int
    ) -> list[tuple[bool, int]]:
        """All each activation writes, in order: whether it was made (False: a concurrent
        activation made the twin first, or its device's hits are over ``limit``; then
        only the hit is written) and the hits. The limit keys are distinct. One statement
        where the storage can (so a single-statement unit of work may run it)."""
        ...


class RegistrationRepository(Protocol):
    def add_many(self, registrations: Sequence[Registration]) -> None: ...
    def get(
        self, group_ref: str, serial: str, *, for_change: bool = False
    ) -> Registration | None: ...
    def ensure(self, registration: Registration) -> Registration:
        """The group's registration of the serial, made from ``registration`` when there
        is none; held for change."""
        ...

    def by_id(self, registration_id: str) -> Registration | None: ...
    def by_credential(self, digest: str) -> Registration | None: ...
    def of_device(self, device_id: str) -> Registration | None: ...
    def list_page(self, scope: Scope, group_ref: str, page: PageRequest) -> Page[Registration]: ...
    def list_by_serial(self, scope: Scope, group_ref: str, page: PageRequest) -> Page[Registration]:
        """The group's registrations by serial, after the registration ``page.after``."""
        ...

    def reprovision(
        self, registration_id: str, device_id: str, environment_id: str | None, at: datetime
    ) -> None:
        """D6: its (new) twin and environment, to be told at the next check-in."""
        ...

    def detach(self, registration_id: str, at: datetime) -> None:
        """D6, reset: it leaves its twin behind; its next activation makes a new one."""
        ...

    def told(self, registration_id: str, at: datetime) -> bool: ...
    def pass_twin(self, old_id: str, new_id: str, device_id: str, at: datetime) -> bool:
        """D7: the twin passes from the old registration (disabled, its credential ended)
        to the new one, if that has none."""
        ...

    def set_disabled(self, registration_id: str, disabled: bool, at: datetime) -> None: ...
    def activate(
        self,
        registration_id: str,
        device_id: str,
        environment_id: str | None,
        credential_digest: str,
        at: datetime,
    ) -> bool:
        """Give the registration its twin, if it has none yet (False otherwise)."""
        ...

    def rotate(
        self,
        registration_id: str,
        environment_id: str | None,
        credential_digest: str,
        at: datetime,
    ) -> None: ...

    # A pre-registration list (D3) is staged in this transaction, checked as a whole, then
    # applied.
    def start_import(self) -> None: ...
    def stage_import(self, rows: Iterable[StagedRegistration]) -> int:
        """Stage the rows as the iterable yields them (never all at once); how many."""
        ...

    def check_import(self, group_ref: str) -> None:
        """Refuse staged rows for duplicates in the list and serials registered in the
        group already (one reason a row)."""
        ...

    def import_tally(self) -> dict[RegistrationRejectionCode | None, int]:
        """Staged rows by reason refused, None counting the valid ones."""
        ...

    def import_rejections(self, after: int, limit: int) -> list[StagedRegistrationRejection]: ...
    def apply_import(self, organization_id: str, group_ref: str, at: datetime) -> Iterator[int]:
        """The valid staged rows become the group's registrations step by step; yields how
        many are written so far."""
        ...

    def end_import(self) -> None: ...


class EnrollmentRepository(Protocol):
    def add(self, enrollment: Enrollment, sealed_key: str) -> None: ...
    def get(self, scope: Scope, enrollment_id: str) -> Enrollment | None: ...
    def get_unscoped(self, enrollment_id: str) -> Enrollment | None: ...
    def active_by_serial(self, organization_id: str, serial: str) -> Enrollment | None: ...
    def candidates(self, serial: str, kinds: Sequence[DeviceKind]) -> list[Enrollment]: ...
    def list_page(
        self, scope: Scope, wanted: EnrollmentFilter, page: PageRequest
    ) -> Page[Enrollment]: ...
    def save(self, enrollment: Enrollment) -> None: ...
    def sealed_key(self, enrollment_id: str) -> str: ...
    def set_credential(self, enrollment_id: str, digest: str | None) -> None: ...
    def by_credential(self, digest: str) -> Enrollment | None: ...
    def add_history(self, step_id: str, enrollment_id: str, change: StateChange) -> None: ...
    def history(self, enrollment_id: str) -> list[StateChange]: ...
    def jobs_of(self, gateway_id: str, limit: int) -> list[Enrollment]: ...
    def report_nearby(self, gateway_id: str, seen: Sequence[Sighting], at: datetime) -> None: ...
    def nearby(self, scope: Scope, gateway_ids: Sequence[str] | None) -> list[Nearby]: ...
    def sealed_keys(self, after: str | None, limit: int) -> list[tuple[str, str, str]]:
        """One page of every organization's enrollments by id after ``after``: (id,
        organization id, sealed key), for key rotation."""
        ...

    def reseal(self, changes: Sequence[tuple[str, str, str]]) -> int:
        """For each (id, old, new) replace the sealed key if the record still holds
        ``old`` (compare-and-set); how many were replaced."""
        ...

    # A list imported (C7) is staged in this transaction, checked as a whole, then applied.
    def start_import(self) -> None: ...
    def stage_import(self, rows: Iterable[StagedRow]) -> int:
        """Stage the rows as the iterable yields them (never all at once); how many."""
        ...

    def check_import(self, scope: Scope) -> None:
        """Refuse staged rows for duplicates in the list, serials enrolled already and
        unknown gateways (one reason a row)."""
        ...

    def import_tally(self) -> dict[RejectionCode | None, int]:
        """Staged rows by reason refused, None counting the valid ones."""
        ...

    def import_rejections(self, after: int, limit: int) -> list[StagedRejection]: ...
    def apply_import(
        self, organization_id: str, departments: frozenset[str], at: datetime
    ) -> Iterator[int]:
        """The valid staged rows become pending enrollments step by step; yields how many
        are written so far."""
        ...

    def end_import(self) -> None: ...


class InteractionRepository(Protocol):
    def add(self, interaction: Interaction) -> None: ...
    def list_page(self, device_id: str, page: PageRequest) -> Page[Interaction]: ...


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> None: ...
    def get(self, code_id: str, notification_id: str) -> Notification | None: ...
    def list_page(self, code_id: str, page: PageRequest) -> Page[Notification]: ...
    def delete(self, notification_id: str) -> None: ...
    def delete_for_code(self, code_id: str) -> int: ...


class ServiceRecordRepository(Protocol):
    def add(self, record: ServiceRecord) -> None: ...
    def list_page(self, device_id: str, page: PageRequest) -> Page[ServiceRecord]: ...


class DocumentRepository(Protocol):
    """Documents of devices and templates (A3, A4); callers load the device or template
    through its scoped repository first, so these reads take its id."""

    def add(self, document: Document) -> None: ...
    def get(
        self, document_id: str, *, device_id: str | None = None, template_id: str | None = None
    ) -> Document | None:
        """The document of that device, or of that template."""
        ...

    def list_page(
        self,
        page: PageRequest,
        *,
        device_id: str | None = None,
        template_id: str | None = None,
        public_only: bool = False,
    ) -> Page[Document]: ...
    def of_template(self, template_id: str) -> list[Document]: ...
    def storage_keys(
        self, *, device_id: str | None = None, template_id: str | None = None
    ) -> set[str]: ...
    def delete(self, document_id: str) -> None: ...
    def set_public(self, document_id: str, public: bool) -> None: ...
    def file_in_use(self, storage_key: str) -> bool:
        """Whether any document or installation photo still refers to the stored file."""
        ...

    def lock_file(self, storage_key: str) -> None:
        """Hold the stored file for this transaction: whoever adds a reference to it and
        whoever deletes it once unreferenced take turns (callers lock keys in order)."""
        ...


class FileStorage(Protocol):
    """Files kept outside the database (document files, installation photos), named by
    their content: the same bytes stored twice are one file under one key."""

    def key_for(self, data: bytes) -> str:
        """The key the bytes are (or would be) stored under."""
        ...

    def put(self, data: bytes) -> str:
        """Store the bytes; return their key."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes under the key; NotFound when the file is gone."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file under the key, if there is one."""
        ...


class DynamicRuleRepository(Protocol):
    """An organization's dynamic-code rules (A14), organization-wide like templates."""

    def add(self, rule: DynamicRule) -> None: ...
    def get(self, scope: Scope, rule_id: str) -> DynamicRule | None: ...
    def get_by_name(self, organization_id: str, name: str) -> DynamicRule | None: ...
    def list_page(self, scope: Scope, page: PageRequest) -> Page[DynamicRule]: ...
    def in_order(self, organization_id: str) -> list[DynamicRule]:
        """All of the organization's rules in creation order, the order they are tried."""
        ...

    def delete(self, rule_id: str) -> None: ...


class Gs1Reader(Protocol):
    """Reads a GS1 Digital Link URI or GS1 element string (A14)."""

    def read(self, payload: str) -> DeviceIdentity | None:
        """The GTIN (AI 01, as 14 digits) and serial (AI 21) the payload carries; None
        when it is not GS1 or lacks either. Never raises."""
        ...


@dataclass(frozen=True)
class OnboardingBatch:
    """A numbered run of a provisioning group's onboarding labels (D5): numbers count 1,
    2, ... per group; ``size`` is how many registrations it labels."""

    id: str
    organization_id: str
    group_ref: str
    number: int
    size: int
    created_at: datetime


@dataclass(frozen=True)
class OnboardingTally:
    """How far a batch's devices have come (D5): onboarded (a twin) and activated."""

    onboarded: int = 0
    activated: int = 0


class OnboardingBatchRepository(Protocol):
    """Onboarding batches of a group and the registrations they label (D5)."""

    def hold_group(self, group_ref: str) -> None:
        """Hold the group's row to the end of the transaction: batches of one group are
        numbered and filled one at a time."""
        ...

    def next_number(self, group_ref: str) -> int: ...
    def add(self, batch: OnboardingBatch) -> None: ...
    def fill(self, batch_id: str, group_ref: str, count: int) -> int:
        """Put the group's first ``count`` enabled registrations in no batch (by serial)
        into the batch; how many."""
        ...

    def set_size(self, batch_id: str, size: int) -> None: ...
    def get(self, scope: Scope, group_ref: str, number: int) -> OnboardingBatch | None: ...
    def of_group(self, scope: Scope, group_ref: str) -> list[OnboardingBatch]:
        """The group's batches, newest first."""
        ...

    def tally(self, group_ref: str) -> dict[str, OnboardingTally]:
        """The group's batches' registrations counted, by batch id (empty ones absent)."""
        ...

    def serials_page(
        self, group_ref: str, batch_id: str, after: str | None, limit: int
    ) -> list[str]:
        """The batch's serials after ``after``, in order."""
        ...

    def claim(self, registration_id: str, device_id: str, at: datetime) -> bool:
        """Give the registration the twin it was onboarded into, if it has none yet."""
        ...


class UnitOfWork(Protocol):
    """One transaction: repositories share it; leaving without commit() rolls back."""

    onboarding_batches: OnboardingBatchRepository
    organizations: OrganizationRepository
    departments: DepartmentRepository
    persons: PersonRepository
    members: MemberRepository
    customers: CustomerRepository
    customer_users: CustomerUserRepository
    tokens: TokenRepository
    sessions: SessionRepository
    rate_limits: RateLimitRepository
    audit: AuditRepository
    templates: TemplateRepository
    devices: DeviceRepository
    codes: CodeRepository
    batches: BatchRepository
    products: ProductRepository
    licenses: LicenseRepository
    pairing_codes: PairingCodeRepository
    configurations: ConfigurationRepository
    client_devices: ClientDeviceRepository
    enrollments: EnrollmentRepository
    environments: EnvironmentRepository
    provisioning_groups: ProvisioningGroupRepository
    registrations: RegistrationRepository
    activations: ActivationRepository
    interactions: InteractionRepository
    notifications: NotificationRepository
    service_records: ServiceRecordRepository
    documents: DocumentRepository
    dynamic_rules: DynamicRuleRepository

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...

    def record(self, actor: Actor, change: Change, *, organization_id: str | None) -> None:
        """Append the audit entry and the outbox event of one change (P8, P9)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False, single_statement: bool = False) -> UnitOfWork:
        """A new unit of work. A ``read_only`` one only reads and cannot commit, so the
        storage may skip opening and rolling back a transaction (each read still sees
        committed data; reads the hot public paths do, A12). A ``single_statement`` one
        makes one write, which the storage may run as a transaction of its own (only
        repository methods that say so are one statement)."""
        ...


@dataclass(frozen=True)
class Services:
    """What every use case gets: a fresh transaction per call, time, ids and hashing."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: Ids
    passwords: PasswordHasher
    entropy: Entropy
    signer: Signer
    secrets: SecretBox
    public_url: str
    files: FileStorage
    gs1: Gs1Reader
    patterns: Patterns
    upload_max_bytes: int
