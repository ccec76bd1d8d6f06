"""What activations read and write (SPEC D4, §6), a batch of them at a time: activations
come by the thousand a second (§7), so a process gathers those that arrive together and
reads all they need in one query (the groups, their secrets, departments and
environments, the serials' registrations, their twins' organizations and the sources'
recent failures, a row per asked serial and environment of its group), then writes all
they make in one statement. Each round trip is shared by the batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.sql.elements import ColumnClause

from onboard.adapters.db import tables as t
from onboard.adapters.db.raw import RawStatement
from onboard.adapters.db.repositories.audit import SqlAudit, entry_values, event_values
from onboard.adapters.db.repositories.devices import SqlDevices, new_device_values
from onboard.adapters.db.repositories.limits import SqlRateLimits
from onboard.adapters.db.repositories.provisioning import SqlRegistrations
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
from onboard.services.ports import ActivationAsked, ActivationWrite

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
_ASKED = ("group_id", "serial", "failures_key")


def _json_as_text(columns: Any, prefix: str = "") -> list[Any]:
    """The columns, the JSON ones as their text: the view repeats the group's on every row
    (a row per serial and environment), and view_many() parses each text once."""
    return [
        cast(c, Text).label(prefix + c.name)
        if isinstance(c.type, JSON)
        else c.label(prefix + c.name)
        for c in columns
    ]


def _asked_on_postgresql() -> FromClause:
    """The batch's asked serials, numbered from 1, as one JSON parameter. (Not arrays: the
    planner sizes an unnest by its arrays and so plans the query anew on every run; a JSON
    record set has one estimate, and its generic plan is kept.)"""
    columns: list[ColumnClause[Any]] = [column("n", Integer)]
    columns += [column(name, String) for name in _ASKED]
    columns.append(column("since", t.UtcDateTime()))
    return (
        func.json_to_recordset(bindparam("asked", type_=JSON))
        .table_valued(*columns)
        .render_derived(name="q", with_types=True)
    )


def _asked_one() -> FromClause:
    """One asked serial (elsewhere than on PostgreSQL, asked one at a time)."""
    values = [bindparam(name, type_=String).label(name) for name in _ASKED]
    since = bindparam("since", type_=t.UtcDateTime()).label("since")
    return select(literal(1, Integer).label("n"), *values, since).subquery("q")


def _view(q: Any, *, lateral: bool) -> Select[Any]:
    """What view_many() reads for the asked serial ``q``: a row per environment of its
    group, none for an unknown group. ``lateral``: ``q`` is not among its tables but a
    row of an enclosing query's."""
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
            limits.key == q.c.failures_key,
            limits.window_start > q.c.since,
        )
        .correlate_except(t.rate_limits)
        .scalar_subquery()
    )
    return (
        select(
            *_json_as_text(t.provisioning_groups.columns),
            departments.label("departments"),
            failures.label("failures"),
            *_json_as_text([_r.c[name] for name in _REGISTRATION_COLUMNS], "r_"),
            _d.c.organization_id.label("device_organization_id"),
            device_departments.label("device_departments"),
            *(_e.c[name].label(f"e_{name}") for name in _ENVIRONMENT_COLUMNS),
            _ge.c.position.label("e_position"),
        )
        .select_from(
            (t.provisioning_groups if lateral else q.join(t.provisioning_groups, true()))
            .outerjoin(_r, and_(_r.c.group_ref == _g.id, _r.c.serial == q.c.serial))
            .outerjoin(_d, _d.c.id == _r.c.device_id)
            .outerjoin(_ge, _ge.c.group_ref == _g.id)
            .outerjoin(_e, _e.c.id == _ge.c.environment_id)
        )
        .where(_g.group_id == q.c.group_id)
    )


def _view_many() -> Select[Any]:
    """PostgreSQL: the view of each asked serial of the batch, numbered ``asked``. Each is
    read on its own, through the indexes (``OFFSET 0`` keeps the planner from joining
    the batch with whole tables instead)."""
    q = _asked_on_postgresql()
    each = _view(q, lateral=True).offset(literal_column("0")).lateral("v")
    return (
        select(q.c.n.label("asked"), each)
        .select_from(q.join(each, true()))
        .order_by(q.c.n, each.c.e_position)
    )


_VIEW_ONE = _view(_asked_one(), lateral=False).order_by(_ge.c.position)


class SqlActivations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def view_many(
        self, asked: Sequence[ActivationAsked], since: datetime
    ) -> list[ActivationView | None]:
        """The view of each asked activation, in order; None where no group has the id.
        ``recent_failures`` counts the hits of the asked ``failures_key`` in a window that
        started after ``since``. One query on PostgreSQL; elsewhere one per activation."""
        found: dict[int, list[Any]] = {}
        if self.conn.dialect.name == "postgresql":
            records = [
                {"n": n, "since": since, **{name: getattr(one, name) for name in _ASKED}}
                for n, one in enumerate(asked, start=1)
            ]
            for row in _RAW_VIEW.run(self.conn, {"asked": records}):
                found.setdefault(row.asked, []).append(row)
        else:
            for n, one in enumerate(asked, start=1):
                given = {name: getattr(one, name) for name in _ASKED} | {"since": since}
                for row in self.conn.execute(_VIEW_ONE, given):
                    found.setdefault(n, []).append(row)
        groups: dict[str, tuple[ProvisioningGroup, tuple[Environment, ...]]] = {}
        return [
            _view_of(found[n], one.serial, groups) if n in found else None
            for n, one in enumerate(asked, start=1)
        ]

    def write_many(
        self, writes: Sequence[ActivationWrite], *, at: datetime, limit: int, window_seconds: int
    ) -> list[tuple[bool, int]]:
        """Each activation's writes: the hit of its ``limit_key``, the registration's new
        credential and environment and, with ``first``, its twin (only if the registration
        has none yet), the audit entry and the event. Returns, in order, whether each was
        made (False: a concurrent activation gave the registration a twin first, or the
        hits of ``limit_key`` in its window, this one included, are over ``limit``; only
        the hit is written) and those hits. The limit keys are distinct.

        One statement on PostgreSQL (a transaction of its own in a single-statement unit
        of work); elsewhere the repositories' statements in the unit's transaction, each
        activation's behind a savepoint."""
        if self.conn.dialect.name == "postgresql":
            given = _write_batch(writes, at, window_seconds) | {"attempts_limit": limit}
            return [(bool(r.made), int(r.hits)) for r in _RAW_WRITE.run(self.conn, given)]
        return [self._write_one(w, at, limit, window_seconds) for w in writes]

    def _write_one(
        self, write: ActivationWrite, at: datetime, limit: int, window_seconds: int
    ) -> tuple[bool, int]:
        hits = SqlRateLimits(self.conn).hit(write.limit_key, now=at, window_seconds=window_seconds)
        if hits > limit:
            return False, hits
        registrations = SqlRegistrations(self.conn)
        with self.conn.begin_nested() as savepoint:
            first = write.first
            if first is None:
                registrations.rotate(
                    write.registration_id, write.environment_id, write.credential_digest, at
                )
            else:
                SqlDevices(self.conn).add(first)
                if not registrations.activate(
                    write.registration_id, first.id, write.environment_id,
                    write.credential_digest, at,
                ):  # fmt: skip
                    savepoint.rollback()
                    return False, hits
            audit = SqlAudit(self.conn)
            audit.add(write.entry)
            audit.add_event(write.event)
        return True, hits


def _view_of(
    rows: Sequence[Any],
    serial: str,
    groups: dict[str, tuple[ProvisioningGroup, tuple[Environment, ...]]],
) -> ActivationView:
    """The view of an asked serial from its rows; ``groups``: the batch's groups and their
    environments made so far, by id (a batch's serials are mostly of one group)."""
    first = rows[0]
    if first.id not in groups:
        groups[first.id] = _group_of(rows)
    group, environments = groups[first.id]
    registration = (
        None
        if first.r_id is None
        else Registration(
            first.r_id,
            first.r_organization_id,
            first.id,
            serial,
            json.loads(first.r_attributes),
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


def _group_of(rows: Sequence[Any]) -> tuple[ProvisioningGroup, tuple[Environment, ...]]:
    """The group of an asked serial's rows, and its environments in order."""
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
            json.loads(first.configuration),
            json.loads(first.attributes),
            _split(first.departments),
            first.configuration_id,
        ),
        tuple(e.id for e in environments),
        first.created_at.astimezone(UTC),
        first.secondary_secret is not None,
        first.open_claims,
        frozenset(json.loads(first.claimants)),
    )
    return group, environments


def _split(joined: str | None) -> frozenset[str]:
    return frozenset(joined.split(",")) if joined else frozenset()


# --- the writes of a batch of activations (PostgreSQL) -----------------------------------

# The batch's columns, a record per activation in one JSON parameter (see
# _asked_on_postgresql). The entry's (e_), the event's (v_) and the twin's (d_, NULL for a
# repeat activation) are typed as their tables' columns.
_WRITE_COLUMNS: dict[str, Any] = {
    "n": Integer(),
    "limit_key": String(),
    "registration_id": String(),
    "environment_id": String(),
    "credential_digest": String(),
    "entry_departments": Text(),  # comma-joined, as the view reads departments
    "device_departments": Text(),
}
# Each table's column names, prefixed.
_PREFIXED: dict[str, dict[str, str]] = {}
for _prefix, _table in (("e_", t.audit_entries), ("v_", t.outbox_events), ("d_", t.devices)):
    _PREFIXED[_prefix] = {c.name: _prefix + c.name for c in _table.columns}
    for _column in _table.columns:
        _WRITE_COLUMNS[_prefix + _column.name] = _column.type


def _from_batch(w: Any, table: Table, prefix: str) -> list[Any]:
    """The batch's columns for a row of ``table``, in the table's order."""
    return [w.c[prefix + c.name] for c in table.columns]


def _write_statement() -> Any:
    """PostgreSQL: every write of a batch of activations in one statement, one round trip
    (§7). The batch's rows come as arrays (``w``). Each activation's rate-limit hit is
    written, in the order of the keys (concurrent batches lock the rows in one order);
    then its registration is updated, which decides: when a concurrent activation gave it
    a twin first, or the hit takes the device past its limit, the update matches nothing
    and nothing else is written for it. The made ones get their twin (a first activation)
    with its departments, their audit entry with its departments and their event. Each
    data-modifying CTE runs once whether or not the final SELECT reads it; foreign keys
    are checked at the end of the statement, when every row is there. The columns and
    their types come from the tables, as SqlDevices and SqlAudit write them."""
    batch = (
        func.json_to_recordset(bindparam("batch", type_=JSON))
        .table_valued(*(column(name, kind) for name, kind in _WRITE_COLUMNS.items()))
        .render_derived(with_types=True)
    )
    w = select(batch).cte("w")
    limits = t.rate_limits
    expired = limits.c.window_start <= bindparam("expired_before", type_=t.UtcDateTime())
    at = bindparam("at", type_=t.UtcDateTime())
    hit = (
        postgresql_insert(limits)
        .from_select(
            ["key", "window_start", "hits"],
            select(w.c.limit_key, at, literal(1, Integer)).order_by(w.c.limit_key),
        )
        .on_conflict_do_update(
            index_elements=[limits.c.key],
            set_={
                "hits": case((expired, 1), else_=limits.c.hits + 1),
                "window_start": case((expired, at), else_=limits.c.window_start),
            },
        )
        .returning(limits.c.key, limits.c.hits)
        .cte("hit")
    )
    r = t.registrations.c
    registration = (
        update(t.registrations)
        .where(
            r.id == w.c.registration_id,
            hit.c.key == w.c.limit_key,
            hit.c.hits <= bindparam("attempts_limit", type_=Integer),
            # A first activation's twin only where the registration has none yet.
            (w.c.d_id.is_(None)) | (r.device_id.is_(None)),
        )
        .values(
            environment_id=w.c.environment_id,
            credential_digest=w.c.credential_digest,
            activated_at=at,
            updated_at=at,
            reprovision_pending=False,
            device_id=func.coalesce(w.c.d_id, r.device_id),
        )
        .returning(w.c.n)
        .cte("registration")
    )
    made = w.join(registration, registration.c.n == w.c.n)
    split = func.unnest(func.string_to_array(w.c.entry_departments, ","))
    entry = insert(t.audit_entries).from_select(
        [c.name for c in t.audit_entries.columns],
        select(*_from_batch(w, t.audit_entries, "e_")).select_from(made),
    )
    entry_links = insert(t.audit_entry_departments).from_select(
        ["entry_id", "department_id"], select(w.c.e_id, split).select_from(made)
    )
    event = insert(t.outbox_events).from_select(
        [c.name for c in t.outbox_events.columns],
        select(*_from_batch(w, t.outbox_events, "v_")).select_from(made),
    )
    twins = select(*_from_batch(w, t.devices, "d_")).select_from(made)
    device = insert(t.devices).from_select(
        [c.name for c in t.devices.columns], twins.where(w.c.d_id.is_not(None))
    )
    device_split = func.unnest(func.string_to_array(w.c.device_departments, ","))
    device_links = insert(t.device_departments).from_select(
        ["device_id", "department_id"],
        select(w.c.d_id, device_split).select_from(made).where(w.c.d_id.is_not(None)),
    )
    writes = [
        statement.cte(name)
        for name, statement in (
            ("entry", entry), ("entry_links", entry_links), ("event", event),
            ("device", device), ("device_links", device_links),
        )
    ]  # fmt: skip
    return (
        select(
            w.c.n,
            registration.c.n.is_not(None).label("made"),
            hit.c.hits,
        )
        .select_from(
            w.join(hit, hit.c.key == w.c.limit_key).outerjoin(
                registration, registration.c.n == w.c.n
            )
        )
        .add_cte(w, hit, registration, *writes)
        .order_by(w.c.n)
    )


_RAW_VIEW = RawStatement(_view_many())
_RAW_WRITE = RawStatement(_write_statement())


def _write_batch(
    writes: Sequence[ActivationWrite], at: datetime, window_seconds: int
) -> dict[str, Any]:
    """The batch's parameters: a record per activation (RawStatement writes its times as
    ISO 8601 text)."""
    rows = []
    for n, write in enumerate(writes, start=1):
        row: dict[str, Any] = {
            "n": n,
            "limit_key": write.limit_key,
            "registration_id": write.registration_id,
            "environment_id": write.environment_id,
            "credential_digest": write.credential_digest,
            "entry_departments": ",".join(sorted(write.entry.departments or ())),
            "device_departments": ",".join(sorted(write.first.departments)) if write.first else "",
            **{_PREFIXED["e_"][k]: v for k, v in entry_values(write.entry).items()},
            **{_PREFIXED["v_"][k]: v for k, v in event_values(write.event).items()},
        }
        if write.first is not None:
            row.update({_PREFIXED["d_"][k]: v for k, v in new_device_values(write.first).items()})
        rows.append(row)
    return {"batch": rows, "at": at, "expired_before": at - timedelta(seconds=window_seconds)}


def _utc(moment: datetime | None) -> datetime | None:
    """A time as UtcDateTime gives it (psycopg gives it in the session's time zone)."""
    return None if moment is None else moment.astimezone(UTC)
