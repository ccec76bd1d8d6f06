"""Provisioning (SPEC Part D, P2): environments, provisioning groups with their sealed
secrets, and the registrations of serials. Activating a registration and rotating its
credential are single conditional statements, so concurrent activations of one device
make one twin (D4)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, bulk_insert, paginate
from onboard.adapters.db.repositories.registration_import import RegistrationImports
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.provisioning import (
    AllocationPolicy,
    Environment,
    GroupDefaults,
    ProvisioningGroup,
    Registration,
    RegistrationMode,
    ReprovisionPolicy,
)
from onboard.services.ports import Page, PageRequest

_env = t.environments.c
_group = t.provisioning_groups.c
_reg = t.registrations.c


def _environment(row: Row[Any]) -> Environment:
    return Environment(row.id, row.name, row.api_url, row.mqtt_url, row.region, row.weight, row.up)


class SqlEnvironments:
    """Platform-wide (P2): not scoped by organization."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, environment: Environment, at: datetime) -> None:
        self.conn.execute(
            insert(t.environments).values(
                id=environment.id,
                name=environment.name,
                region=environment.region,
                api_url=environment.api_url,
                mqtt_url=environment.mqtt_url,
                up=environment.up,
                weight=environment.weight,
                created_at=at,
                updated_at=at,
            )
        )

    def update(self, environment: Environment, at: datetime) -> None:
        self.conn.execute(
            update(t.environments)
            .where(_env.id == environment.id)
            .values(
                name=environment.name,
                region=environment.region,
                api_url=environment.api_url,
                mqtt_url=environment.mqtt_url,
                up=environment.up,
                weight=environment.weight,
                updated_at=at,
            )
        )

    def get(self, environment_id: str) -> Environment | None:
        row = self.conn.execute(select(t.environments).where(_env.id == environment_id)).first()
        return None if row is None else _environment(row)

    def by_name(self, name: str) -> Environment | None:
        row = self.conn.execute(select(t.environments).where(_env.name == name)).first()
        return None if row is None else _environment(row)

    def all(self) -> list[Environment]:
        rows = self.conn.execute(select(t.environments).order_by(_env.name))
        return [_environment(r) for r in rows]

    def of_group(self, group_ref: str) -> list[Environment]:
        """A group's environments in its order (D4)."""
        g = t.provisioning_group_environments.c
        rows = self.conn.execute(
            select(t.environments)
            .join(t.provisioning_group_environments, g.environment_id == _env.id)
            .where(g.group_ref == group_ref)
            .order_by(g.position)
        )
        return [_environment(r) for r in rows]


class SqlProvisioningGroups:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.departments = Linked(conn, t.provisioning_group_departments, "group_ref")

    def _environment_ids(self, refs: Iterable[str]) -> dict[str, tuple[str, ...]]:
        ref_list = list(refs)
        found: dict[str, list[str]] = defaultdict(list)
        if ref_list:
            g = t.provisioning_group_environments.c
            rows = self.conn.execute(
                select(g.group_ref, g.environment_id)
                .where(g.group_ref.in_(ref_list))
                .order_by(g.group_ref, g.position)
            )
            for ref, environment_id in rows:
                found[ref].append(environment_id)
        return {ref: tuple(found.get(ref, ())) for ref in ref_list}

    def _records(self, rows: Sequence[Row[Any]]) -> list[ProvisioningGroup]:
        departments = self.departments.of(r.id for r in rows)
        environments = self._environment_ids(r.id for r in rows)
        return [
            ProvisioningGroup(
                r.id,
                r.organization_id,
                r.group_id,
                r.name,
                RegistrationMode(r.registration_mode),
                AllocationPolicy(r.allocation_policy),
                ReprovisionPolicy(r.reprovision_policy),
                GroupDefaults(
                    r.template_id,
                    r.configuration,
                    r.attributes,
                    departments[r.id],
                    r.configuration_id,
                ),
                environments[r.id],
                r.created_at,
                r.secondary_secret is not None,
                r.open_claims,
                frozenset(r.claimants),
            )
            for r in rows
        ]

    def _one(self, *where: Any) -> ProvisioningGroup | None:
        rows = self.conn.execute(select(t.provisioning_groups).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(
        self,
        group: ProvisioningGroup,
        sealed_secret: str,
        at: datetime,
        sealed_secondary: str | None = None,
    ) -> None:
        self.conn.execute(
            insert(t.provisioning_groups).values(
                id=group.id,
                organization_id=group.organization_id,
                group_id=group.group_id,
                secret=sealed_secret,
                secondary_secret=sealed_secondary,
                created_at=at,
                **self._settings(group, at),
            )
        )
        self._links(group)

    def update(self, group: ProvisioningGroup, at: datetime) -> None:
        """Its settings (not its ids or secrets)."""
        self.conn.execute(
            update(t.provisioning_groups)
            .where(_group.id == group.id)
            .values(**self._settings(group, at))
        )
        self._links(group)

    @staticmethod
    def _settings(group: ProvisioningGroup, at: datetime) -> dict[str, Any]:
        return {
            "name": group.name,
            "registration_mode": group.registration_mode.value,
            "allocation_policy": group.allocation_policy.value,
            "reprovision_policy": group.reprovision_policy.value,
            "template_id": group.defaults.template_id,
            "configuration": group.defaults.configuration,
            "configuration_id": group.defaults.configuration_id,
            "attributes": group.defaults.attributes,
            "open_claims": group.open_claims,
            "claimants": sorted(group.claimants),
            "updated_at": at,
        }

    def _links(self, group: ProvisioningGroup) -> None:
        self.departments.replace(group.id, group.defaults.departments)
        g = t.provisioning_group_environments
        self.conn.execute(delete(g).where(g.c.group_ref == group.id))
        if group.environment_ids:
            self.conn.execute(
                insert(g),
                [
                    {"group_ref": group.id, "environment_id": e, "position": n}
                    for n, e in enumerate(group.environment_ids)
                ],
            )

    def get(self, scope: Scope, group_ref: str) -> ProvisioningGroup | None:
        return self._one(visible(scope, t.provisioning_groups), _group.id == group_ref)

    def by_group_ref(self, group_ref: str) -> ProvisioningGroup | None:
        """A group by its record's id, whatever the organization (for its devices)."""
        return self._one(_group.id == group_ref)

    def by_group_id(self, group_id: str) -> ProvisioningGroup | None:
        """The group a device names (platform-wide: devices send only the public id)."""
        return self._one(_group.group_id == group_id)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[ProvisioningGroup]:
        query = select(t.provisioning_groups).where(visible(scope, t.provisioning_groups))
        return paginate(self.conn, query, _group.id, page, self._records)

    def sealed_secrets(self, group_ref: str) -> tuple[str, str | None]:
        """The group's sealed primary secret and, during a rotation, the secondary."""
        row = self.conn.execute(
            select(_group.secret, _group.secondary_secret).where(_group.id == group_ref)
        ).one()
        return row.secret, row.secondary_secret

    def set_secrets(
        self, group_ref: str, primary: str, secondary: str | None, at: datetime
    ) -> None:
        self.conn.execute(
            update(t.provisioning_groups)
            .where(_group.id == group_ref)
            .values(secret=primary, secondary_secret=secondary, updated_at=at)
        )

    def sealed_page(self, after: str | None, limit: int) -> list[tuple[str, str, str]]:
        """One page of every group's sealed primary secret (id, organization, value), by
        id after ``after``, for key rotation; the secondary secrets by sealed_secondary_page."""
        return self._page(_group.secret, after, limit)

    def sealed_secondary_page(self, after: str | None, limit: int) -> list[tuple[str, str, str]]:
        return self._page(_group.secondary_secret, after, limit)

    def _page(self, column: Any, after: str | None, limit: int) -> list[tuple[str, str, str]]:
        query = (
            select(_group.id, _group.organization_id, column)
            .where(column.is_not(None))
            .order_by(_group.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_group.id > after)
        return [(r[0], r[1], r[2]) for r in self.conn.execute(query)]

    def reseal(self, column: str, changes: Sequence[tuple[str, str, str]]) -> int:
        """For each (id, old, new), replace the sealed value of ``column`` (``secret`` or
        ``secondary_secret``) only if the group still holds ``old``; how many were."""
        target = _group[column]
        replaced = 0
        for group_ref, old, new in changes:
            replaced += self.conn.execute(
                update(t.provisioning_groups)
                .where(_group.id == group_ref, target == old)
                .values({column: new})
            ).rowcount
        return replaced


def _registration(row: Row[Any]) -> Registration:
    return Registration(
        row.id,
        row.organization_id,
        row.group_ref,
        row.serial,
        row.attributes,
        row.disabled,
        row.device_id,
        row.environment_id,
        row.activated_at,
        row.created_at,
        row.batch_id,
        row.reprovision_pending,
    )


# Built once: activations run them by the thousand a second (D4, §7).
_ACTIVATE = (
    update(t.registrations)
    .where(_reg.id == bindparam("registration_id"), _reg.device_id.is_(None))
    .values(
        device_id=bindparam("device_id"),
        environment_id=bindparam("environment_id"),
        credential_digest=bindparam("credential_digest"),
        activated_at=bindparam("activated_at"),
        updated_at=bindparam("updated_at"),
        reprovision_pending=False,
    )
)
_ROTATE = (
    update(t.registrations)
    .where(_reg.id == bindparam("registration_id"))
    .values(
        environment_id=bindparam("environment_id"),
        credential_digest=bindparam("credential_digest"),
        activated_at=bindparam("activated_at"),
        updated_at=bindparam("updated_at"),
        reprovision_pending=False,
    )
)


class SqlRegistrations(RegistrationImports):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, registrations: Sequence[Registration]) -> None:
        """New registrations (COPY on PostgreSQL); a serial registered already in its group
        is a clash (the unit of work's Conflict)."""
        # COPY takes JSON as its text; an executemany takes what the JSON type binds.
        as_json: Any = json.dumps if self.conn.dialect.name == "postgresql" else (lambda v: v)
        bulk_insert(
            self.conn,
            t.registrations,
            [
                {
                    "id": r.id,
                    "organization_id": r.organization_id,
                    "group_ref": r.group_ref,
                    "serial": r.serial,
                    "attributes": as_json(r.attributes),
                    "disabled": r.disabled,
                    "batch_id": r.batch_id,
                    "device_id": r.device_id,
                    "environment_id": r.environment_id,
                    "activated_at": r.activated_at,
                    "created_at": r.created_at,
                    "updated_at": r.created_at,
                }
                for r in registrations
            ],
        )

    def get(self, group_ref: str, serial: str, *, for_change: bool = False) -> Registration | None:
        """``for_change``: hold the row to the end of the transaction, so that concurrent
        activations of one device wait for each other (one twin, D4)."""
        query = select(t.registrations).where(_reg.group_ref == group_ref, _reg.serial == serial)
        if for_change:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else _registration(row)

    def ensure(self, registration: Registration) -> Registration:
        """The group's registration of the serial: ``registration`` added when there is
        none (an open group's device activating, D3), else the one there, held for change
        either way. Concurrent calls for one serial make one."""
        dialect = self.conn.dialect.name
        values = {
            "id": registration.id,
            "organization_id": registration.organization_id,
            "group_ref": registration.group_ref,
            "serial": registration.serial,
            "attributes": registration.attributes,
            "disabled": registration.disabled,
            "created_at": registration.created_at,
            "updated_at": registration.created_at,
        }
        statement = (
            postgresql_insert(t.registrations)
            if dialect == "postgresql"
            else sqlite_insert(t.registrations)
        ).values(**values)
        self.conn.execute(statement.on_conflict_do_nothing(index_elements=["group_ref", "serial"]))
        found = self.get(registration.group_ref, registration.serial, for_change=True)
        assert found is not None, "a registration ensured is there"
        return found

    def by_id(self, registration_id: str) -> Registration | None:
        row = self.conn.execute(select(t.registrations).where(_reg.id == registration_id)).first()
        return None if row is None else _registration(row)

    def by_credential(self, digest: str) -> Registration | None:
        row = self.conn.execute(
            select(t.registrations).where(_reg.credential_digest == digest)
        ).first()
        return None if row is None else _registration(row)

    def of_device(self, device_id: str) -> Registration | None:
        row = self.conn.execute(select(t.registrations).where(_reg.device_id == device_id)).first()
        return None if row is None else _registration(row)

    def list_page(self, scope: Scope, group_ref: str, page: PageRequest) -> Page[Registration]:
        query = select(t.registrations).where(
            visible(scope, t.registrations), _reg.group_ref == group_ref
        )
        return paginate(
            self.conn, query, _reg.id, page, lambda rows: [_registration(r) for r in rows]
        )

    def list_by_serial(self, scope: Scope, group_ref: str, page: PageRequest) -> Page[Registration]:
        """The group's registrations in the order of their serials, the page after the
        registration ``page.after`` (an id, opaque to clients as every cursor): keyset on
        the group's unique (group_ref, serial) index, fast at any depth of a million."""
        query = select(t.registrations).where(
            visible(scope, t.registrations), _reg.group_ref == group_ref
        )
        if page.after is not None:
            last = select(_reg.serial).where(_reg.id == page.after, _reg.group_ref == group_ref)
            query = query.where(_reg.serial > last.scalar_subquery())
        rows = self.conn.execute(query.order_by(_reg.serial).limit(page.limit + 1)).all()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return Page([_registration(r) for r in rows], rows[-1].id if more and rows else None)

    def pass_twin(self, old_id: str, new_id: str, device_id: str, at: datetime) -> bool:
        """D7: the twin passes from the old registration to the new one, which has none:
        the old one keeps neither twin nor credential and is disabled (its hardware is out
        of service); the new one waits for its device's activation into the twin. False
        (and nothing changed) when the new one has a twin meanwhile."""
        taken = self.conn.execute(
            update(t.registrations)
            .where(_reg.id == new_id, _reg.device_id.is_(None))
            .values(
                device_id=device_id,
                credential_digest=None,
                environment_id=None,
                activated_at=None,
                updated_at=at,
            )
        )
        if taken.rowcount != 1:
            return False
        self.conn.execute(
            update(t.registrations)
            .where(_reg.id == old_id)
            .values(device_id=None, credential_digest=None, disabled=True, updated_at=at)
        )
        return True

    def reprovision(
        self, registration_id: str, device_id: str, environment_id: str | None, at: datetime
    ) -> None:
        """D6: the registration's new twin (the same one, migrated; a new one, reset) and
        environment, to be told at its device's next check-in."""
        self.conn.execute(
            update(t.registrations)
            .where(_reg.id == registration_id)
            .values(
                device_id=device_id,
                environment_id=environment_id,
                reprovision_pending=True,
                updated_at=at,
            )
        )

    def detach(self, registration_id: str, at: datetime) -> None:
        """D6, reset: the registration leaves its twin behind; its next activation makes a
        new one from the group's defaults."""
        self.conn.execute(
            update(t.registrations)
            .where(_reg.id == registration_id)
            .values(device_id=None, updated_at=at)
        )

    def told(self, registration_id: str, at: datetime) -> bool:
        """Its device acknowledged the reprovisioning: nothing pending any more. Whether
        something was."""
        done = self.conn.execute(
            update(t.registrations)
            .where(_reg.id == registration_id, _reg.reprovision_pending.is_(True))
            .values(reprovision_pending=False, updated_at=at)
        )
        return done.rowcount == 1

    def set_disabled(self, registration_id: str, disabled: bool, at: datetime) -> None:
        self.conn.execute(
            update(t.registrations)
            .where(_reg.id == registration_id)
            .values(disabled=disabled, updated_at=at)
        )

    def activate(
        self,
        registration_id: str,
        device_id: str,
        environment_id: str | None,
        credential_digest: str,
        at: datetime,
    ) -> bool:
        """Give a registration its twin, environment and credential, if it has no twin yet
        (another activation may have given it one meanwhile: False then)."""
        done = self.conn.execute(
            _ACTIVATE,
            {
                "registration_id": registration_id,
                "device_id": device_id,
                "environment_id": environment_id,
                "credential_digest": credential_digest,
                "activated_at": at,
                "updated_at": at,
            },
        )
        return done.rowcount == 1

    def rotate(
        self,
        registration_id: str,
        environment_id: str | None,
        credential_digest: str,
        at: datetime,
    ) -> None:
        """A new credential (the old one stops at once) and the environment it is sent to."""
        self.conn.execute(
            _ROTATE,
            {
                "registration_id": registration_id,
                "environment_id": environment_id,
                "credential_digest": credential_digest,
                "activated_at": at,
                "updated_at": at,
            },
        )
