"""The unit of work: one database transaction shared by the repositories of one use case."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from onboard.adapters.db import repositories as r
from onboard.domain.access import Actor
from onboard.domain.audit import Change, entry_of, event_of
from onboard.domain.clock import Clock
from onboard.domain.errors import Conflict
from onboard.services import ports
from onboard.services.ports import Ids

# The repositories a unit of work offers, each made on its first use in the unit (a unit
# uses a few of them: an activation two, D4, §7).
_REPOSITORIES: dict[str, Callable[[Connection], object]] = {
    "organizations": r.SqlOrganizations,
    "departments": r.SqlDepartments,
    "persons": r.SqlPersons,
    "members": r.SqlMembers,
    "customers": r.SqlCustomers,
    "customer_users": r.SqlCustomerUsers,
    "tokens": r.SqlTokens,
    "sessions": r.SqlSessions,
    "rate_limits": r.SqlRateLimits,
    "_audit": r.SqlAudit,
    "audit": r.SqlAudit,
    "templates": r.SqlTemplates,
    "devices": r.SqlDevices,
    "codes": r.SqlCodes,
    "batches": r.SqlBatches,
    "products": r.SqlProducts,
    "licenses": r.SqlLicenses,
    "pairing_codes": r.SqlPairingCodes,
    "configurations": r.SqlConfigurations,
    "client_devices": r.SqlClientDevices,
    "enrollments": r.SqlEnrollments,
    "environments": r.SqlEnvironments,
    "provisioning_groups": r.SqlProvisioningGroups,
    "registrations": r.SqlRegistrations,
    "activations": r.SqlActivations,
    "interactions": r.SqlInteractions,
    "notifications": r.SqlNotifications,
    "service_records": r.SqlServiceRecords,
    "documents": r.SqlDocuments,
    "dynamic_rules": r.SqlDynamicRules,
    "onboarding_batches": r.SqlOnboardingBatches,
}


class SqlUnitOfWork:
    """Opens a transaction on enter; commit() commits it; leaving without commit rolls back.
    A constraint violation surfaces as the domain's Conflict.

    A ``read_only`` unit on PostgreSQL opens no transaction: under READ COMMITTED each
    statement sees committed data on its own either way, so the code page (A12) saves the
    BEGIN and ROLLBACK round trips, and psycopg keeps the statements it prepared (a ROLLBACK
    drops them). On SQLite it is an ordinary unit (one writer at a time needs the
    transaction).

    A ``single_statement`` unit writes with one statement on PostgreSQL, which is a
    transaction of its own: it opens none either (an activation's writes, D4, §7); its
    commit() has nothing left to do. On SQLite it is an ordinary unit too, so a repository
    may write there with several statements what is one statement on PostgreSQL."""

    organizations: ports.OrganizationRepository
    departments: ports.DepartmentRepository
    persons: ports.PersonRepository
    members: ports.MemberRepository
    customers: ports.CustomerRepository
    customer_users: ports.CustomerUserRepository
    tokens: ports.TokenRepository
    sessions: ports.SessionRepository
    rate_limits: ports.RateLimitRepository
    audit: ports.AuditRepository
    templates: ports.TemplateRepository
    devices: ports.DeviceRepository
    codes: ports.CodeRepository
    batches: ports.BatchRepository
    products: ports.ProductRepository
    licenses: ports.LicenseRepository
    pairing_codes: ports.PairingCodeRepository
    configurations: ports.ConfigurationRepository
    client_devices: ports.ClientDeviceRepository
    enrollments: ports.EnrollmentRepository
    environments: ports.EnvironmentRepository
    provisioning_groups: ports.ProvisioningGroupRepository
    registrations: ports.RegistrationRepository
    activations: ports.ActivationRepository
    interactions: ports.InteractionRepository
    notifications: ports.NotificationRepository
    service_records: ports.ServiceRecordRepository
    documents: ports.DocumentRepository
    dynamic_rules: ports.DynamicRuleRepository
    onboarding_batches: ports.OnboardingBatchRepository
    _audit: r.SqlAudit

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        ids: Ids,
        *,
        read_only: bool = False,
        single_statement: bool = False,
        autocommit_engine: Engine | None = None,
    ) -> None:
        self._engine = engine
        # One statement is a transaction of its own: PostgreSQL (the only backend with an
        # autocommit engine) saves BEGIN and COMMIT. Set: this unit runs in autocommit.
        self._autocommit_engine = autocommit_engine if read_only or single_statement else None
        self._read_only = read_only
        self._clock = clock
        self._ids = ids
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        if self._autocommit_engine is not None:
            conn = self._autocommit_engine.connect()
        else:
            conn = self._engine.connect()
            conn.begin()
        self._conn = conn
        return self

    def __getattr__(self, name: str) -> Any:
        """A repository on its first use in the unit, kept for the rest of it."""
        make = _REPOSITORIES.get(name)
        conn = self.__dict__.get("_conn")
        if make is None or conn is None:
            raise AttributeError(name)
        repository = make(conn)
        setattr(self, name, repository)
        return repository

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()
        if isinstance(exc, IntegrityError):
            raise Conflict("The change clashes with a concurrent one; try again.") from exc

    def commit(self) -> None:
        assert self._conn is not None, "commit() outside the unit of work"
        assert not self._read_only, "commit() in a read-only unit of work"
        if self._autocommit_engine is not None:
            return  # the one statement committed as it ran
        try:
            self._conn.commit()
        except IntegrityError as exc:
            raise Conflict("The change clashes with a concurrent one; try again.") from exc

    def record(self, actor: Actor, change: Change, *, organization_id: str | None) -> None:
        """Audit entry and outbox event of one change, in this transaction (P8, P9)."""
        assert self._conn is not None, "record() outside the unit of work"
        assert not self._read_only, "record() in a read-only unit of work"
        now = self._clock.now()
        self._audit.add(entry_of(self._ids.new(), now, actor, change, organization_id))
        self._audit.add_event(event_of(self._ids.new(), now, actor, change, organization_id))
