"""What an activation reads (SPEC D4, §6), in one round trip: activations come by the
thousand a second (§7), so the group, its secrets, departments and environments, the
serial's registration, its twin's organization and the source's recent failures are one
query, a row per environment of the group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from onboard.adapters.db import tables as t
from onboard.adapters.db.raw import RawStatement
from onboard.adapters.db.repositories.audit import SqlAudit, entry_values, event_values
from onboard.adapters.db.repositories.devices import SqlDevices, new_device_values
from onboard.adapters.db.repositories.limits import SqlRateLimits
from onboard.adapters.db.repositories.provisioning import SqlRegistrations
from onboard.domain.audit import AuditEntry, Event
from onboard.domain.devices import Device
from onboard.domain.provisioning import (
    ActivationView,
    AllocationPolicy,
    Environment,
    GroupDefaults,
    ProvisioningGroup,
    Registration,
    RegistrationMode,
    ReprovisionPolicy,
)

_g = t.provisioning_groups.c
_r = t.registrations.alias("r")
_d = t.devices.alias("d")
_ge = t.provisioning_group_environments.alias("ge")
_e = t.environments.alias("e")
# The registration's and the environments' columns the view reads, prefixed in its rows.
_REGISTRATION_COLUMNS = (
    "id", "organization_id", "attributes", "disabled", "device_id", "environment_id",
    "activated_at", "created_at", "batch_id", "reprovision_pending",
)  # fmt: skip
_ENVIRONMENT_COLUMNS = ("id", "name", "api_url", "mqtt_url", "region", "weight", "up")


def _view() -> Select[Any]:
    """The query of view(), built once with its parameters bound by name."""
    links = t.provisioning_group_departments.c
    device_links = t.device_departments.c
    limits = t.rate_limits.c
    departments = (
        select(func.aggregate_strings(links.department_id, ","))
        .where(links.group_ref == _g.id)
        .scalar_subquery()
    )
    device_departments = (
        select(func.aggregate_strings(device_links.department_id, ","))
        .where(device_links.device_id == _r.c.device_id)
        .scalar_subquery()
    )
    failures = (
        select(limits.hits)
        .where(
            limits.key == bindparam("failures_key"),
            limits.window_start > bindparam("since", type_=t.UtcDateTime()),
        )
        .scalar_subquery()
    )
    return (
        select(
            t.provisioning_groups,
            departments.label("departments"),
            failures.label("failures"),
            *(_r.c[name].label(f"r_{name}") for name in _REGISTRATION_COLUMNS),
            _d.c.organization_id.label("device_organization_id"),
            device_departments.label("device_departments"),
            *(_e.c[name].label(f"e_{name}") for name in _ENVIRONMENT_COLUMNS),
        )
        .select_from(
            t.provisioning_groups.outerjoin(
                _r, and_(_r.c.group_ref == _g.id, _r.c.serial == bindparam("serial"))
            )
            .outerjoin(_d, _d.c.id == _r.c.device_id)
            .outerjoin(_ge, _ge.c.group_ref == _g.id)
            .outerjoin(_e, _e.c.id == _ge.c.environment_id)
        )
        .where(_g.group_id == bindparam("group_id"))
        .order_by(_ge.c.position)
    )


_VIEW = _view()


class SqlActivations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def view(
        self, group_id: str, serial: str, failures_key: str, since: datetime
    ) -> ActivationView | None:
        """The view of an activation of ``serial`` in the group ``group_id``; None when
        no group has that id. ``recent_failures`` counts the hits of ``failures_key`` in a
        window that started after ``since``."""
        given = {
            "group_id": group_id,
            "serial": serial,
            "failures_key": failures_key,
            "since": since,
        }
        if self.conn.dialect.name == "postgresql":
            rows: Sequence[Any] = _RAW_VIEW.run(self.conn, given)
        else:
            rows = self.conn.execute(_VIEW, given).all()
        if not rows:
            return None
        first = rows[0]
        environments = tuple(
            Environment(r.e_id, r.e_name, r.e_api_url, r.e_mqtt_url, r.e_region, r.e_weight, r.e_up)
            for r in rows
            if r.e_id is not None
        )
        group = ProvisioningGroup(
            first.id,
            first.organization_id,
            first.group_id,
            first.name,
            RegistrationMode(first.registration_mode),
            AllocationPolicy(first.allocation_policy),
            ReprovisionPolicy(first.reprovision_policy),
            GroupDefaults(
                first.template_id,
                first.configuration,
                first.attributes,
                _split(first.departments),
                first.configuration_id,
            ),
            tuple(e.id for e in environments),
            first.created_at.astimezone(UTC),
            first.secondary_secret is not None,
            first.open_claims,
            frozenset(first.claimants),
        )
        registration = (
            None
            if first.r_id is None
            else Registration(
                first.r_id,
                first.r_organization_id,
                first.id,
                serial,
                first.r_attributes,
                first.r_disabled,
                first.r_device_id,
                first.r_environment_id,
                _utc(first.r_activated_at),
                first.r_created_at.astimezone(UTC),
                first.r_batch_id,
                first.r_reprovision_pending,
            )
        )
        secrets = tuple(s for s in (first.secret, first.secondary_secret) if s is not None)
        return ActivationView(
            group,
            secrets,
            environments,
            registration,
            first.device_organization_id,
            _split(first.device_departments),
            first.failures or 0,
        )

    def write(
        self,
        *,
        first: Device | None,
        registration_id: str,
        environment_id: str | None,
        credential_digest: str,
        at: datetime,
        entry: AuditEntry,
        event: Event,
        limit_key: str,
        limit: int,
        window_seconds: int,
    ) -> tuple[bool, int]:
        """An activation's writes: the hit of ``limit_key``, the registration's new
        credential and environment and, with ``first``, its twin (only if it has none
        yet), the audit entry and the event. Returns whether they were made (False: a
        concurrent activation gave the registration a twin first, or the hits of
        ``limit_key`` in its window, this one included, are over ``limit``) and those
        hits. One statement on PostgreSQL (a transaction of its own in a single-statement
        unit of work); elsewhere the repositories' statements, in the unit's transaction,
        which the caller rolls back when nothing was made."""
        if self.conn.dialect.name == "postgresql":
            values = _write_values(
                first, registration_id, environment_id, credential_digest, at, entry, event,
                limit_key, window_seconds,
            ) | {"attempts_limit": limit}  # fmt: skip
            (row,) = (_RAW_FIRST if first else _RAW_REPEAT).run(self.conn, values)
            return bool(row.made), int(row.hits)
        hits = SqlRateLimits(self.conn).hit(limit_key, now=at, window_seconds=window_seconds)
        if hits > limit:
            return False, hits
        registrations = SqlRegistrations(self.conn)
        if first is None:
            registrations.rotate(registration_id, environment_id, credential_digest, at)
        else:
            SqlDevices(self.conn).add(first)
            if not registrations.activate(
                registration_id, first.id, environment_id, credential_digest, at
            ):
                return False, hits
        audit = SqlAudit(self.conn)
        audit.add(entry)
        audit.add_event(event)
        return True, hits


def _split(joined: str | None) -> frozenset[str]:
    return frozenset(joined.split(",")) if joined else frozenset()


# --- the writes of an activation ---------------------------------------------------------

_DEVICE_COLUMNS = tuple(c.name for c in t.devices.columns)
_ENTRY_COLUMNS = tuple(c.name for c in t.audit_entries.columns)
_EVENT_COLUMNS = tuple(c.name for c in t.outbox_events.columns)


def _params(table: Table, prefix: str, columns: tuple[str, ...]) -> list[Any]:
    """A bound parameter per column, named ``prefix + column`` and typed as the column. A
    SELECT list tells PostgreSQL nothing of its parameters' types: text, numbers, booleans
    and times find their column's type on their own, JSON is cast."""
    found = []
    for name in columns:
        column_type = table.c[name].type
        given = bindparam(prefix + name, type_=column_type)
        found.append(cast(given, column_type) if isinstance(column_type, JSON) else given)
    return found


def _activation_statement(first: bool) -> Any:
    """PostgreSQL: every write of an activation in one statement, one round trip (§7):
    the device's rate-limit hit, the registration's twin or new credential, the twin (on a
    first activation) with its departments, the audit entry with its departments and the
    event. The registration's update decides: when a concurrent activation gave it a twin
    first, or the hit takes the device past its limit, it matches nothing and nothing else
    is written (``made`` is 0; the hit is). Each
    data-modifying CTE runs once whether or not the final SELECT reads it; the foreign
    key of the registration's twin is checked at the end of the statement, when the twin
    is there. The columns and their types come from the tables, as SqlDevices and SqlAudit
    write them."""
    limits = t.rate_limits
    expired = limits.c.window_start <= bindparam("expired_before", type_=t.UtcDateTime())
    at = bindparam("at", type_=t.UtcDateTime())
    hit = (
        postgresql_insert(limits)
        .values(key=bindparam("limit_key"), window_start=at, hits=1)
        .on_conflict_do_update(
            index_elements=[limits.c.key],
            set_={
                "hits": case((expired, 1), else_=limits.c.hits + 1),
                "window_start": case((expired, at), else_=limits.c.window_start),
            },
        )
        .returning(limits.c.hits)
        .cte("hit")
    )
    r = t.registrations.c
    within_limit = select(hit.c.hits).scalar_subquery() <= bindparam("attempts_limit")
    chosen = [r.id == bindparam("registration_id"), within_limit]
    if first:
        chosen.append(r.device_id.is_(None))
    registration = (
        update(t.registrations)
        .where(*chosen)
        .values(
            environment_id=bindparam("environment_id"),
            credential_digest=bindparam("credential_digest"),
            activated_at=at,
            updated_at=at,
            reprovision_pending=False,
            **({"device_id": bindparam("d_id")} if first else {}),
        )
        .returning(r.id)
        .cte("registration")
    )
    entry_departments = type_coerce(bindparam("entry_departments"), ARRAY(String))
    entry = (
        insert(t.audit_entries)
        .from_select(
            _ENTRY_COLUMNS,
            select(*_params(t.audit_entries, "e_", _ENTRY_COLUMNS)).select_from(registration),
        )
        .returning(t.audit_entries.c.id)
        .cte("entry")
    )
    entry_links = (
        insert(t.audit_entry_departments)
        .from_select(
            ["entry_id", "department_id"],
            select(entry.c.id, func.unnest(entry_departments)).select_from(entry),
        )
        .cte("entry_links")
    )
    event = (
        insert(t.outbox_events)
        .from_select(
            _EVENT_COLUMNS,
            select(*_params(t.outbox_events, "v_", _EVENT_COLUMNS)).select_from(registration),
        )
        .cte("event")
    )
    ctes = [hit, registration, entry, entry_links, event]
    if first:
        device = (
            insert(t.devices)
            .from_select(
                _DEVICE_COLUMNS,
                select(*_params(t.devices, "d_", _DEVICE_COLUMNS)).select_from(registration),
            )
            .returning(t.devices.c.id)
            .cte("device")
        )
        links = type_coerce(bindparam("device_departments"), ARRAY(String))
        device_links = (
            insert(t.device_departments)
            .from_select(
                ["device_id", "department_id"],
                select(device.c.id, func.unnest(links)).select_from(device),
            )
            .cte("device_links")
        )
        ctes += [device, device_links]
    made = select(func.count()).select_from(registration).scalar_subquery()
    hits = select(hit.c.hits).scalar_subquery()
    return select(made.label("made"), hits.label("hits")).add_cte(*ctes)


_FIRST = _activation_statement(first=True)
_REPEAT = _activation_statement(first=False)
_RAW_VIEW = RawStatement(_VIEW)
_RAW_FIRST = RawStatement(_FIRST)
_RAW_REPEAT = RawStatement(_REPEAT)


def _write_values(
    first: Device | None,
    registration_id: str,
    environment_id: str | None,
    credential_digest: str,
    at: datetime,
    entry: AuditEntry,
    event: Event,
    limit_key: str,
    window_seconds: int,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "limit_key": limit_key,
        "expired_before": at - timedelta(seconds=window_seconds),
        "at": at,
        "registration_id": registration_id,
        "environment_id": environment_id,
        "credential_digest": credential_digest,
        "entry_departments": sorted(entry.departments or ()),
        **{f"e_{k}": v for k, v in entry_values(entry).items()},
        **{f"v_{k}": v for k, v in event_values(event).items()},
    }
    if first is not None:
        values["device_departments"] = sorted(first.departments)
        values.update({f"d_{k}": v for k, v in new_device_values(first).items()})
    return values


def _utc(moment: datetime | None) -> datetime | None:
    """A time as UtcDateTime gives it (psycopg gives it in the session's time zone)."""
    return None if moment is None else moment.astimezone(UTC)
