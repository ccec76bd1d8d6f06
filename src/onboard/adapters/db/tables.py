"""Table definitions (SQLAlchemy Core). Every tenant-owned row carries organization_id (P1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

ID = String(26)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _where_present(column: str) -> dict[str, Any]:
    """A partial index's condition on both backends: only rows that have ``column``."""
    condition = text(f"{column} IS NOT NULL")
    return {"postgresql_where": condition, "sqlite_where": condition}


def _where_absent(column: str) -> dict[str, Any]:
    """A partial index's condition on both backends: only rows without ``column``."""
    condition = text(f"{column} IS NULL")
    return {"postgresql_where": condition, "sqlite_where": condition}


def _created_at() -> Column[object]:
    return Column("created_at", UtcDateTime(), nullable=False)


organizations = Table(
    "organizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    _created_at(),
)

departments = Table(
    "departments",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("organization_id", "name"),
)

persons = Table(
    "persons",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    _created_at(),
)

members = Table(
    "members",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "person_id", ID, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("roles", String(200), nullable=False),
    Column("all_departments", Boolean, nullable=False),
    _created_at(),
    UniqueConstraint("organization_id", "person_id"),
)

member_departments = Table(
    "member_departments",
    metadata,
    Column("member_id", ID, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id"), primary_key=True, index=True),
)

customers = Table(
    "customers",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("organization_id", "name"),
)

customer_departments = Table(
    "customer_departments",
    metadata,
    Column("customer_id", ID, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id"), primary_key=True, index=True),
)

customer_users = Table(
    "customer_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("customer_id", ID, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column(
        "person_id", ID, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    _created_at(),
    UniqueConstraint("customer_id", "person_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "member_id", ID, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(200), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("last_used_at", UtcDateTime()),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "person_id", ID, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("member_id", ID, ForeignKey("members.id", ondelete="CASCADE")),
    Column("customer_user_id", ID, ForeignKey("customer_users.id", ondelete="CASCADE")),
    _created_at(),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("hits", Integer, nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE")),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(64)),
    Column("actor_label", String(400), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target_type", String(50), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("source_ip", String(64)),
    # The device whose lifecycle timeline the entry belongs to (A3), if any.
    Column("device_id", ID),
    Index(None, "organization_id", "id"),
    Index(None, "organization_id", "action", "id"),
    Index(None, "organization_id", "target_id"),
    Index(None, "organization_id", "actor_id"),
    Index(None, "device_id", "id"),
)

# Departments of the audited target at the time of the change; no foreign key, because
# the log outlives the departments it mentions.
audit_entry_departments = Table(
    "audit_entry_departments",
    metadata,
    Column("entry_id", ID, ForeignKey("audit_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, primary_key=True, index=True),
)

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE")),
    Column("type", String(100), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("published_at", UtcDateTime()),
    Index("ix_outbox_events_unpublished", "published_at", "id"),
)

templates = Table(
    "templates",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("fields", JSON, nullable=False),
    # The GS1 GTIN of the product this template describes: a dynamic code with this GTIN
    # creates its device from this template (A14).
    Column("gtin", String(14)),
    _created_at(),
    UniqueConstraint("organization_id", "name"),
    Index(None, "organization_id", "gtin", unique=True),
)

template_departments = Table(
    "template_departments",
    metadata,
    Column("template_id", ID, ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id"), primary_key=True, index=True),
)

devices = Table(
    "devices",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("serial", String(100)),
    Column("template_id", ID, ForeignKey("templates.id")),
    Column("attributes", JSON, nullable=False),
    Column("customer_id", ID, ForeignKey("customers.id", ondelete="SET NULL")),
    Column("location_text", String(500)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("status", String(20), nullable=False),
    Column("gtin", String(14)),
    # The installation photo (A3), a file in the storage adapter.
    Column("photo_key", String(200)),
    Column("photo_content_type", String(100)),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "organization_id", "id"),
    # A14: GTIN and serial name one device; NULL GTINs never clash.
    Index(None, "organization_id", "gtin", "serial", unique=True),
    Index(None, "gtin", "serial"),
    Index(None, "organization_id", "serial"),
    Index(None, "organization_id", "name"),
    Index(None, "organization_id", "template_id", "id"),
    Index(None, "organization_id", "customer_id", "id"),
    Index(None, "organization_id", "status", "id"),
    Index(None, "photo_key"),
)

device_departments = Table(
    "device_departments",
    metadata,
    Column("device_id", ID, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id"), primary_key=True, index=True),
)

codes = Table(
    "codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("token", String(16), nullable=False, unique=True),
    Column("label", String(100)),
    Column("batch", String(100)),
    Column("active", Boolean, nullable=False),
    Column("pin_hash", String(255)),
    # Deleting a device unpairs its codes and deletes none of them (A5).
    Column("device_id", ID, ForeignKey("devices.id", ondelete="SET NULL")),
    # A14: a dynamic code is bound to the scanned payload it was created from.
    Column("payload", String(500)),
    # When the code's label first went out in a batch print run (issue 5's progress).
    Column("printed_at", UtcDateTime()),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "organization_id", "id"),
    # Partial: most codes have no payload and every new one has no device, so a batch of a
    # million adds no entries here (issue 5). "payload = ?" and "device_id = ?" imply the
    # condition, so lookups (and the foreign key's SET NULL) still use these indexes.
    Index(
        None,
        "organization_id",
        "payload",
        unique=True,
        **_where_present("payload"),
    ),
    Index(
        None,
        "device_id",
        **_where_present("device_id"),
    ),
    Index(None, "organization_id", "batch", "id"),
    Index(None, "organization_id", "active", "id"),
)

# Numbered runs of codes; a code names its batch by number in codes.batch (issue 5).
code_batches = Table(
    "code_batches",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("number", String(100), nullable=False),
    Column("name", String(200)),
    Column("pin_hash", String(255)),
    _created_at(),
    UniqueConstraint("organization_id", "number"),
    Index(None, "organization_id", "id"),
)

code_departments = Table(
    "code_departments",
    metadata,
    Column("code_id", ID, ForeignKey("codes.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ID, ForeignKey("departments.id"), primary_key=True, index=True),
)

# A8 kept as rows: a paired code's departments are its device's, an unpaired code's its
# own. Maintained at pair, unpair, department changes and deletions, so that
# department-scoped lists of a million codes read one index instead of evaluating A8 per
# row (A16). Derived rows, written only by repositories/effective.py and SqlCodes from
# codes, code_departments and device_departments: no foreign keys, whose per-row checks
# took a third of the time of making a batch of a million codes (issue 5).
code_effective_departments = Table(
    "code_effective_departments",
    metadata,
    Column("code_id", ID, primary_key=True),
    Column("department_id", ID, primary_key=True),
    Index(None, "department_id", "code_id"),
)

device_interactions = Table(
    "device_interactions",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("contact", String(200)),
    Column("author", String(400), nullable=False),
    _created_at(),
    Index(None, "device_id", "id"),
)

code_notifications = Table(
    "code_notifications",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("code_id", ID, ForeignKey("codes.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column(
        "interaction_id",
        ID,
        ForeignKey("device_interactions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("message", Text, nullable=False),
    Column("contact", String(200)),
    _created_at(),
    Index(None, "code_id", "id"),
)

service_records = Table(
    "service_records",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("performed_at", UtcDateTime(), nullable=False),
    Column("author", String(400), nullable=False),
    _created_at(),
    Index(None, "device_id", "id"),
)


# Manuals and other documents of a device or, as defaults, of a template (A3, A4): a file
# in the storage adapter or a link, each public (shown on the code page) or internal.
documents = Table(
    "documents",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="CASCADE")),
    Column("template_id", ID, ForeignKey("templates.id", ondelete="CASCADE")),
    Column("title", String(200), nullable=False),
    Column("url", String(2000)),
    Column("storage_key", String(200)),
    Column("content_type", String(100)),
    Column("size", Integer),
    Column("public", Boolean, nullable=False),
    Column("author", String(400), nullable=False),
    _created_at(),
    Index(None, "device_id", "id"),
    Index(None, "template_id", "id"),
    # A stored file is deleted when its last document or photo lets go of it.
    Index(None, "storage_key"),
)

# A14: how an organization recognizes payloads that are not our code URLs: GS1 (Digital
# Link or element string, optionally only GTINs under a company prefix) or a regular
# expression with named groups ``serial`` and optionally ``gtin``.
dynamic_code_rules = Table(
    "dynamic_code_rules",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("pattern", String(500)),
    Column("template_id", ID, ForeignKey("templates.id", ondelete="SET NULL")),
    _created_at(),
    UniqueConstraint("organization_id", "name"),
)


# --- Part B: licensed client devices ----------------------------------------------------

# A client application that runs on devices (B1); organization-wide, like templates.
products = Table(
    "products",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("name", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("organization_id", "name"),
    Index(None, "organization_id", "id"),
)

# One license serves one device (B1, B2). Removing the device frees it (B9). While a
# single-use pairing code for it is valid, it is reserved until then (B4).
licenses = Table(
    "licenses",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("product_id", ID, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="SET NULL")),
    Column("expires_at", UtcDateTime()),
    Column("reserved_until", UtcDateTime()),
    _created_at(),
    Index(None, "organization_id", "product_id", "id"),
    # The free licenses of a product, in order: where a pairing looks for one (B5).
    Index(
        "ix_licenses_free",
        "product_id",
        "id",
        **_where_absent("device_id"),
    ),
    Index(
        None,
        "device_id",
        unique=True,
        **_where_present("device_id"),
    ),
)

# Reusable (B3) and single-use (B4) pairing codes; only the code's digest is kept.
pairing_codes = Table(
    "pairing_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("product_id", ID, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("max_uses", Integer),
    Column("uses", Integer, nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("license_id", ID, ForeignKey("licenses.id", ondelete="CASCADE")),
    _created_at(),
    Index(None, "organization_id", "product_id", "id"),
)


def _dropped_with_department() -> Column[str]:
    """A link's department, the link deleted with it."""
    return Column(
        "department_id",
        ID,
        ForeignKey("departments.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )


# The departments a pairing code gives the devices that pair with it (P5): its creator's,
# or those chosen. A department deleted later is dropped from the codes.
pairing_code_departments = Table(
    "pairing_code_departments",
    metadata,
    Column(
        "pairing_code_id",
        ID,
        ForeignKey("pairing_codes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _dropped_with_department(),
)

# Named JSON documents per product, immutable once made (B8).
configurations = Table(
    "configurations",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("product_id", ID, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("body", JSON, nullable=False),
    Column("etag", String(64), nullable=False),
    _created_at(),
    Index(None, "organization_id", "product_id", "id"),
)

# A device running a product's client: its hardware identity, license, configuration and
# credential (B5). It outlives its twin: a removed device (device_id NULL) still answers
# its next check-in with "no longer paired" (B9).
client_devices = Table(
    "client_devices",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("product_id", ID, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="SET NULL")),
    Column("hardware_id", String(200), nullable=False),
    Column("configuration_id", ID, ForeignKey("configurations.id", ondelete="SET NULL")),
    Column("credential_digest", String(64), nullable=False, unique=True),
    Column("model", String(100)),
    Column("os", String(100)),
    Column("app_version", String(100)),
    Column("paired_at", UtcDateTime(), nullable=False),
    Column("last_checkin_at", UtcDateTime()),
    UniqueConstraint("organization_id", "product_id", "hardware_id"),
    Index(
        None,
        "device_id",
        **_where_present("device_id"),
    ),
)


def _where_enrolled() -> dict[str, Any]:
    """A partial index's condition on both backends: enrollments not yet unenrolled."""
    condition = text("state <> 'unenrolled'")
    return {"postgresql_where": condition, "sqlite_where": condition}


# Connected devices put under management (C1). The access key is sealed by the keyring and
# never shown again; a serial is taken while its record is not unenrolled (C6). Gateways
# and direct devices hold a credential (its digest here) once enrolled.
enrollments = Table(
    "enrollments",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("serial", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("gateway_id", ID, ForeignKey("enrollments.id", ondelete="SET NULL")),
    Column("name", String(200)),
    Column("location", String(500)),
    Column("photo_key", String(300)),
    Column("state", String(20), nullable=False),
    Column("reason", String(500)),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="SET NULL")),
    Column("access_key", Text, nullable=False),
    Column("credential_digest", String(64), unique=True),
    Column("capabilities", JSON),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "organization_id", "serial", unique=True, **_where_enrolled()),
    Index(None, "organization_id", "state", "id"),
    Index(None, "gateway_id", "state", **_where_present("gateway_id")),
    # A stored file is deleted when nothing refers to it, this photo included (C9).
    Index(None, "photo_key", **_where_present("photo_key")),
)

# Written only by SqlEnrollments, with their record in its transaction. No foreign key on
# the enrollment: its per-row check locks each record just written (a write of its own),
# which took 13 s of a list of a million (C7). A record is never deleted but with its
# organization (C6 keeps it, unenrolled), whose departments take their links along: the
# one foreign key cascades. A department in use is not deleted (delete_department).
enrollment_departments = Table(
    "enrollment_departments",
    metadata,
    Column("enrollment_id", ID, primary_key=True),
    _dropped_with_department(),
)

# Every state an enrollment went through, with its time and a failure's reason (C1, C2).
enrollment_history = Table(
    "enrollment_history",
    metadata,
    Column("id", ID, primary_key=True),
    Column("enrollment_id", ID, ForeignKey("enrollments.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", String(500)),
    Column("at", UtcDateTime(), nullable=False),
    Index(None, "enrollment_id", "id"),
)

# The serials a gateway last reported nearby, with signal strength and time (C4, C9).
gateway_nearby = Table(
    "gateway_nearby",
    metadata,
    Column("gateway_id", ID, ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True),
    Column("serial", String(100), primary_key=True),
    Column("rssi", Integer),
    Column("seen_at", UtcDateTime(), nullable=False),
)


# --- provisioning (Part D) ----------------------------------------------------------------

# Where activated devices connect (P2): platform-wide, defined by the operator.
environments = Table(
    "environments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("region", String(100)),
    Column("api_url", String(500), nullable=False),
    Column("mqtt_url", String(500), nullable=False),
    Column("up", Boolean, nullable=False),
    Column("weight", Integer, nullable=False),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# An organization's devices sharing onboarding information (D1). The group id is public
# and platform-wide: a device sends only it. The secrets are sealed by the keyring; the
# secondary one is held during a rotation. Who may claim its devices by QR (D5): its own
# organization, the organizations listed in ``claimants``, or any when ``open_claims``.
provisioning_groups = Table(
    "provisioning_groups",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("group_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("secret", Text, nullable=False),
    Column("secondary_secret", Text),
    Column("registration_mode", String(20), nullable=False),
    Column("allocation_policy", String(20), nullable=False),
    Column("reprovision_policy", String(20), nullable=False),
    Column("template_id", ID, ForeignKey("templates.id", ondelete="SET NULL")),
    Column("configuration", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("open_claims", Boolean, nullable=False),
    # The named configuration (B8) the configuration was taken from, if any (§5.1).
    Column("configuration_id", ID, ForeignKey("configurations.id", ondelete="SET NULL")),
    Column("claimants", JSON, nullable=False),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "organization_id", "id"),
)

# The environments a group's devices are allocated among, in order (D4).
provisioning_group_environments = Table(
    "provisioning_group_environments",
    metadata,
    Column(
        "group_ref", ID, ForeignKey("provisioning_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("environment_id", ID, ForeignKey("environments.id"), primary_key=True, index=True),
    Column("position", Integer, nullable=False),
)

# The departments a group's new devices get (D1).
provisioning_group_departments = Table(
    "provisioning_group_departments",
    metadata,
    Column(
        "group_ref", ID, ForeignKey("provisioning_groups.id", ondelete="CASCADE"), primary_key=True
    ),
    _dropped_with_department(),
)

# Onboarding labels printed for a group, numbered per group (D5).
onboarding_batches = Table(
    "onboarding_batches",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "group_ref", ID, ForeignKey("provisioning_groups.id", ondelete="CASCADE"), nullable=False
    ),
    Column("number", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    _created_at(),
    UniqueConstraint("group_ref", "number"),
)

# A serial of a group (D3): registered in advance, or made when a device of an open group
# activated; then the twin it activated into, its environment and its credential (the
# digest). A million are written with COPY, so the indexes are few: the unique serial in
# its group, and the credential and twin only where present.
registrations = Table(
    "registrations",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "group_ref", ID, ForeignKey("provisioning_groups.id", ondelete="CASCADE"), nullable=False
    ),
    Column("serial", String(100), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("batch_id", ID, ForeignKey("onboarding_batches.id", ondelete="SET NULL")),
    Column("device_id", ID, ForeignKey("devices.id", ondelete="SET NULL")),
    Column("environment_id", ID, ForeignKey("environments.id")),
    Column("credential_digest", String(64)),
    Column("activated_at", UtcDateTime()),
    # Reprovisioned (D6) and not yet told: its next check-in says `reprovision`.
    Column("reprovision_pending", Boolean, nullable=False, server_default=false()),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("group_ref", "serial"),
    Index(None, "credential_digest", unique=True, **_where_present("credential_digest")),
    Index(None, "device_id", **_where_present("device_id")),
    Index(None, "batch_id", **_where_present("batch_id")),
)


def _trigram(table: Table, column: str, *, present_only: bool = False) -> None:
    """A trigram index for ILIKE '%text%' search on PostgreSQL (A16 at a million rows);
    SQLite, the embedded default, scans. ``present_only`` leaves rows without the text out
    (ILIKE never matches NULL): codes' labels, which a batch of a million often lacks."""
    Index(
        f"ix_{table.name}_{column}_trgm",
        table.c[column],
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=table.c[column].is_not(None) if present_only else None,
    ).ddl_if(dialect="postgresql")


for _table, _column in (
    (devices, "name"),
    (devices, "serial"),
    (devices, "location_text"),
    (codes, "batch"),
):
    _trigram(_table, _column)
_trigram(codes, "label", present_only=True)

# The start of a token typed from a sticker (LIKE 'ABCD%', A16): a b-tree with pattern ops
# serves a prefix whatever the database's collation. PostgreSQL only, as above.
Index(
    "ix_codes_token_pattern", codes.c.token, postgresql_ops={"token": "varchar_pattern_ops"}
).ddl_if(dialect="postgresql")

# P5 in one place: each department-scoped table and the table of its department links. A
# code is seen through its effective departments (A8), not its own.
DEPARTMENT_LINKS: dict[str, tuple[Table, str]] = {
    "members": (member_departments, "member_id"),
    "customers": (customer_departments, "customer_id"),
    "devices": (device_departments, "device_id"),
    "codes": (code_effective_departments, "code_id"),
    "audit_entries": (audit_entry_departments, "entry_id"),
    "enrollments": (enrollment_departments, "enrollment_id"),
}

# Seen by every member of the organization, whatever their departments.
ORGANIZATION_WIDE = frozenset(
    {
        "templates",
        "dynamic_code_rules",
        "code_batches",
        "products",
        "licenses",
        "pairing_codes",
        "configurations",
        "provisioning_groups",
        "registrations",
        "onboarding_batches",
    }
)

# Links that keep a department in use (it cannot be deleted while any exists).
DEPARTMENT_USES: tuple[Table, ...] = (
    member_departments,
    customer_departments,
    device_departments,
    code_departments,
    template_departments,
    enrollment_departments,
    provisioning_group_departments,
)
