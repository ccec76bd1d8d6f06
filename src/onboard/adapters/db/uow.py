"""The unit of work: one database transaction shared by the repositories of one use case."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import IntegrityError

from onboard.adapters.db import repositories as r
from onboard.adapters.db import tables as t
from onboard.domain.access import Actor
from onboard.domain.audit import AuditEntry, Change
from onboard.domain.clock import Clock
from onboard.domain.errors import Conflict
from onboard.services import ports
from onboard.services.ports import Ids


class SqlUnitOfWork:
    """Opens a transaction on enter; commit() commits it; leaving without commit rolls back.
    A constraint violation surfaces as the domain's Conflict.

    A ``read_only`` unit on PostgreSQL opens no transaction: under READ COMMITTED each
    statement sees committed data on its own either way, so the code page (A12) saves the
    BEGIN and ROLLBACK round trips, and psycopg keeps the statements it prepared (a ROLLBACK
    drops them). On SQLite it is an ordinary unit (one writer at a time needs the
    transaction)."""

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
    interactions: ports.InteractionRepository
    notifications: ports.NotificationRepository
    service_records: ports.ServiceRecordRepository
    documents: ports.DocumentRepository
    dynamic_rules: ports.DynamicRuleRepository

    def __init__(self, engine: Engine, clock: Clock, ids: Ids, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._autocommit = read_only and engine.dialect.name == "postgresql"
        self._clock = clock
        self._ids = ids
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        if self._autocommit:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            conn.begin()
        self._conn = conn
        self.organizations = r.SqlOrganizations(conn)
        self.departments = r.SqlDepartments(conn)
        self.persons = r.SqlPersons(conn)
        self.members = r.SqlMembers(conn)
        self.customers = r.SqlCustomers(conn)
        self.customer_users = r.SqlCustomerUsers(conn)
        self.tokens = r.SqlTokens(conn)
        self.sessions = r.SqlSessions(conn)
        self.rate_limits = r.SqlRateLimits(conn)
        self._audit = r.SqlAudit(conn)
        self.audit = self._audit
        self.templates = r.SqlTemplates(conn)
        self.devices = r.SqlDevices(conn)
        self.codes = r.SqlCodes(conn)
        self.batches = r.SqlBatches(conn)
        self.products = r.SqlProducts(conn)
        self.licenses = r.SqlLicenses(conn)
        self.pairing_codes = r.SqlPairingCodes(conn)
        self.configurations = r.SqlConfigurations(conn)
        self.client_devices = r.SqlClientDevices(conn)
        self.enrollments = r.SqlEnrollments(conn)
        self.environments = r.SqlEnvironments(conn)
        self.provisioning_groups = r.SqlProvisioningGroups(conn)
        self.registrations = r.SqlRegistrations(conn)
        self.interactions = r.SqlInteractions(conn)
        self.notifications = r.SqlNotifications(conn)
        self.service_records = r.SqlServiceRecords(conn)
        self.documents = r.SqlDocuments(conn)
        self.dynamic_rules = r.SqlDynamicRules(conn)
        return self

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
        try:
            self._conn.commit()
        except IntegrityError as exc:
            raise Conflict("The change clashes with a concurrent one; try again.") from exc

    def record(self, actor: Actor, change: Change, *, organization_id: str | None) -> None:
        """Audit entry and outbox event of one change, in this transaction (P8, P9)."""
        assert self._conn is not None, "record() outside the unit of work"
        assert not self._read_only, "record() in a read-only unit of work"
        now = self._clock.now()
        entry = AuditEntry(
            id=self._ids.new(),
            organization_id=organization_id,
            at=now,
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_label=actor.label,
            action=change.action,
            target_type=change.target.type,
            target_id=change.target.id,
            before=change.before,
            after=change.after,
            source_ip=actor.source_ip,
            departments=change.target.departments,
            device_id=change.timeline_device,
        )
        self._audit.add(entry)
        self._conn.execute(
            insert(t.outbox_events).values(
                id=self._ids.new(),
                organization_id=organization_id,
                type=change.action,
                occurred_at=now,
                payload={
                    "target": {"type": change.target.type, "id": change.target.id},
                    "actor": {"kind": actor.kind.value, "id": actor.id},
                    "before": change.before,
                    "after": change.after,
                },
                published_at=None,
            )
        )
