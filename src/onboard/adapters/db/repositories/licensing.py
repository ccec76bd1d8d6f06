"""Licensed client devices (SPEC Part B): products, licenses, pairing codes, configurations
and client devices. Taking a license and using a code are single atomic statements, so
concurrent pairings can neither share a license nor overuse a code (B6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, bulk_insert, paginate
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.licensing import (
    ClientDevice,
    Configuration,
    License,
    LicensedDevice,
    LicenseStatus,
    LicenseTally,
    PairingCode,
    PairingCodeKind,
    Product,
)
from onboard.services.ports import Page, PageRequest


class SqlProducts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Product]:
        return [Product(r.id, r.organization_id, r.name, r.created_at) for r in rows]

    def _one(self, *where: ColumnElement[bool]) -> Product | None:
        return next(
            iter(self._records(self.conn.execute(select(t.products).where(*where)).all())), None
        )

    def add(self, product: Product) -> None:
        self.conn.execute(
            insert(t.products).values(
                id=product.id,
                organization_id=product.organization_id,
                name=product.name,
                created_at=product.created_at,
            )
        )

    def get(self, scope: Scope, product_id: str) -> Product | None:
        return self._one(visible(scope, t.products), t.products.c.id == product_id)

    def get_by_name(self, organization_id: str, name: str) -> Product | None:
        p = t.products.c
        return self._one(p.organization_id == organization_id, p.name == name)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Product]:
        query = select(t.products).where(visible(scope, t.products))
        return paginate(self.conn, query, t.products.c.id, page, self._records)


def _usable(now: datetime) -> list[ColumnElement[bool]]:
    """A license a pairing may take: free and not expired."""
    c = t.licenses.c
    return [c.device_id.is_(None), or_(c.expires_at.is_(None), c.expires_at > now)]


class SqlLicenses:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[License]:
        return [
            License(
                r.id,
                r.organization_id,
                r.product_id,
                r.device_id,
                r.expires_at,
                r.reserved_until,
                r.created_at,
            )
            for r in rows
        ]

    def add_many(self, licenses: Sequence[License]) -> None:
        bulk_insert(
            self.conn,
            t.licenses,
            [
                {
                    "id": x.id,
                    "organization_id": x.organization_id,
                    "product_id": x.product_id,
                    "device_id": x.device_id,
                    "expires_at": x.expires_at,
                    "reserved_until": x.reserved_until,
                    "created_at": x.created_at,
                }
                for x in licenses
            ],
        )

    def get(self, scope: Scope, license_id: str) -> License | None:
        rows = self.conn.execute(
            select(t.licenses).where(visible(scope, t.licenses), t.licenses.c.id == license_id)
        ).all()
        return next(iter(self._records(rows)), None)

    def list_page(
        self, scope: Scope, product_id: str | None, status: LicenseStatus | None, page: PageRequest
    ) -> Page[License]:
        c = t.licenses.c
        query = select(t.licenses).where(visible(scope, t.licenses))
        if product_id is not None:
            query = query.where(c.product_id == product_id)
        if status is not None:
            free = status is LicenseStatus.FREE
            query = query.where(c.device_id.is_(None) if free else c.device_id.is_not(None))
        return paginate(self.conn, query, c.id, page, self._records)

    def take_free(self, product_id: str, device_id: str, now: datetime) -> str | None:
        c = t.licenses.c
        # The oldest usable license nobody else is taking: a concurrent pairing skips the row
        # another holds instead of waiting for it (PostgreSQL; SQLite runs one writer).
        candidate = (
            select(c.id)
            .where(
                c.product_id == product_id,
                *_usable(now),
                or_(c.reserved_until.is_(None), c.reserved_until <= now),
            )
            .order_by(c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        taken = self.conn.execute(
            update(t.licenses)
            .where(c.id == candidate, c.device_id.is_(None))
            .values(device_id=device_id, reserved_until=None)
            .returning(c.id)
        ).first()
        return None if taken is None else str(taken.id)

    def take(self, license_id: str, device_id: str, now: datetime) -> bool:
        c = t.licenses.c
        result = self.conn.execute(
            update(t.licenses)
            .where(c.id == license_id, *_usable(now))
            .values(device_id=device_id, reserved_until=None)
        )
        return result.rowcount == 1

    def reserve(self, license_id: str, until: datetime, now: datetime) -> bool:
        c = t.licenses.c
        result = self.conn.execute(
            update(t.licenses)
            .where(
                c.id == license_id,
                *_usable(now),
                or_(c.reserved_until.is_(None), c.reserved_until <= now),  # one live code
            )
            .values(reserved_until=until)
        )
        return result.rowcount == 1

    def release(self, license_id: str) -> None:
        c = t.licenses.c
        self.conn.execute(
            update(t.licenses)
            .where(c.id == license_id, c.device_id.is_(None))
            .values(reserved_until=None)
        )

    def of_device(self, device_id: str) -> License | None:
        rows = self.conn.execute(
            select(t.licenses).where(t.licenses.c.device_id == device_id)
        ).all()
        return next(iter(self._records(rows)), None)

    def tally(
        self, organization_id: str, product_ids: Sequence[str], now: datetime
    ) -> dict[str, LicenseTally]:
        if not product_ids:
            return {}
        c = t.licenses.c
        free = and_(*_usable(now))
        expired = and_(c.device_id.is_(None), c.expires_at <= now)

        def counted(condition: ColumnElement[bool]) -> ColumnElement[int]:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        rows = self.conn.execute(
            select(
                c.product_id,
                counted(free).label("free"),
                counted(c.device_id.is_not(None)).label("assigned"),
                counted(expired).label("expired"),
            )
            .where(c.organization_id == organization_id, c.product_id.in_(list(product_ids)))
            .group_by(c.product_id)
        ).all()
        return {
            r.product_id: LicenseTally(int(r.free), int(r.assigned), int(r.expired)) for r in rows
        }


class SqlPairingCodes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.pairing_code_departments, "pairing_code_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[PairingCode]:
        links = self.links.of(r.id for r in rows)
        return [
            PairingCode(
                r.id,
                r.organization_id,
                r.product_id,
                PairingCodeKind(r.kind),
                r.expires_at,
                r.max_uses,
                r.uses,
                r.revoked_at,
                r.license_id,
                r.created_at,
                links[r.id],
            )
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> PairingCode | None:
        rows = self.conn.execute(select(t.pairing_codes).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(self, code: PairingCode, digest: str) -> None:
        self.conn.execute(
            insert(t.pairing_codes).values(
                id=code.id,
                organization_id=code.organization_id,
                product_id=code.product_id,
                kind=code.kind.value,
                digest=digest,
                expires_at=code.expires_at,
                max_uses=code.max_uses,
                uses=code.uses,
                revoked_at=code.revoked_at,
                license_id=code.license_id,
                created_at=code.created_at,
            )
        )
        self.links.replace(code.id, code.departments)

    def get(self, scope: Scope, code_id: str) -> PairingCode | None:
        return self._one(visible(scope, t.pairing_codes), t.pairing_codes.c.id == code_id)

    def by_digest(self, digest: str) -> PairingCode | None:
        return self._one(t.pairing_codes.c.digest == digest)

    def list_page(
        self, scope: Scope, product_id: str | None, page: PageRequest
    ) -> Page[PairingCode]:
        c = t.pairing_codes.c
        query = select(t.pairing_codes).where(visible(scope, t.pairing_codes))
        if product_id is not None:
            query = query.where(c.product_id == product_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)

    def use(self, code_id: str, now: datetime) -> bool:
        c = t.pairing_codes.c
        result = self.conn.execute(
            update(t.pairing_codes)
            .where(
                c.id == code_id,
                c.revoked_at.is_(None),
                c.expires_at > now,
                or_(c.max_uses.is_(None), c.uses < c.max_uses),
            )
            .values(uses=c.uses + 1)
        )
        return result.rowcount == 1

    def revoke(self, code_id: str, at: datetime) -> None:
        c = t.pairing_codes.c
        self.conn.execute(
            update(t.pairing_codes)
            .where(c.id == code_id, c.revoked_at.is_(None))
            .values(revoked_at=at)
        )


class SqlConfigurations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Configuration]:
        return [
            Configuration(
                r.id, r.organization_id, r.product_id, r.name, r.body, r.etag, r.created_at
            )
            for r in rows
        ]

    def add(self, configuration: Configuration) -> None:
        self.conn.execute(
            insert(t.configurations).values(
                id=configuration.id,
                organization_id=configuration.organization_id,
                product_id=configuration.product_id,
                name=configuration.name,
                body=configuration.body,
                etag=configuration.etag,
                created_at=configuration.created_at,
            )
        )

    def get(self, scope: Scope, configuration_id: str) -> Configuration | None:
        rows = self.conn.execute(
            select(t.configurations).where(
                visible(scope, t.configurations), t.configurations.c.id == configuration_id
            )
        ).all()
        return next(iter(self._records(rows)), None)

    def newest(self, product_id: str) -> Configuration | None:
        c = t.configurations.c
        rows = self.conn.execute(
            select(t.configurations)
            .where(c.product_id == product_id)
            .order_by(c.id.desc())
            .limit(1)
        ).all()
        return next(iter(self._records(rows)), None)

    def list_page(
        self, scope: Scope, product_id: str | None, page: PageRequest
    ) -> Page[Configuration]:
        c = t.configurations.c
        query = select(t.configurations).where(visible(scope, t.configurations))
        if product_id is not None:
            query = query.where(c.product_id == product_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)


class SqlClientDevices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, device: ClientDevice, credential_digest: str) -> None:
        self.conn.execute(
            insert(t.client_devices).values(
                id=device.id,
                organization_id=device.organization_id,
                product_id=device.product_id,
                device_id=device.device_id,
                hardware_id=device.hardware_id,
                configuration_id=device.configuration_id,
                credential_digest=credential_digest,
                model=device.model,
                os=device.os,
                app_version=device.app_version,
                paired_at=device.paired_at,
                last_checkin_at=device.last_checkin_at,
            )
        )

    @staticmethod
    def _record(r: Row[Any]) -> ClientDevice:
        return ClientDevice(
            r.id, r.organization_id, r.product_id, r.device_id, r.hardware_id,
            r.configuration_id, r.model, r.os, r.app_version, r.paired_at, r.last_checkin_at,
        )  # fmt: skip

    def by_hardware(
        self, organization_id: str, product_id: str, hardware_id: str
    ) -> ClientDevice | None:
        c = t.client_devices.c
        r = self.conn.execute(
            select(t.client_devices).where(
                c.organization_id == organization_id,
                c.product_id == product_id,
                c.hardware_id == hardware_id,
            )
        ).first()
        return None if r is None else self._record(r)

    def by_credential(self, credential_digest: str) -> ClientDevice | None:
        c = t.client_devices.c
        r = self.conn.execute(
            select(t.client_devices).where(c.credential_digest == credential_digest)
        ).first()
        return None if r is None else self._record(r)

    def touch(self, client_id: str, at: datetime) -> None:
        c = t.client_devices.c
        self.conn.execute(
            update(t.client_devices).where(c.id == client_id).values(last_checkin_at=at)
        )

    def of_devices(self, device_ids: Sequence[str]) -> dict[str, ClientDevice]:
        c = t.client_devices.c
        found: dict[str, ClientDevice] = {}
        for start in range(0, len(device_ids), 1000):
            chunk = list(device_ids[start : start + 1000])
            for r in self.conn.execute(select(t.client_devices).where(c.device_id.in_(chunk))):
                found[r.device_id] = self._record(r)
        return found

    def set_configuration(self, client_ids: Sequence[str], configuration_id: str) -> int:
        c = t.client_devices.c
        changed = 0
        for start in range(0, len(client_ids), 1000):
            chunk = list(client_ids[start : start + 1000])
            result = self.conn.execute(
                update(t.client_devices)
                .where(c.id.in_(chunk), c.configuration_id.is_distinct_from(configuration_id))
                .values(configuration_id=configuration_id)
            )
            changed += int(result.rowcount)
        return changed

    def list_page(
        self,
        scope: Scope,
        product_id: str | None,
        configuration_id: str | None,
        page: PageRequest,
    ) -> Page[LicensedDevice]:
        c = t.client_devices.c
        query = self._paired(scope).add_columns(t.configurations.c.name.label("configuration_name"))
        query = query.outerjoin(t.configurations, t.configurations.c.id == c.configuration_id)
        if product_id is not None:
            query = query.where(c.product_id == product_id)
        if configuration_id is not None:
            query = query.where(c.configuration_id == configuration_id)

        def records(rows: Sequence[Row[Any]]) -> list[LicensedDevice]:
            return [
                LicensedDevice(self._record(r), r.device_name, r.configuration_name) for r in rows
            ]

        return paginate(self.conn, query, c.id, page, records, newest_first=True)

    def count_by_configuration(
        self, scope: Scope, configuration_ids: Sequence[str]
    ) -> dict[str, int]:
        if not configuration_ids:
            return {}
        c = t.client_devices.c
        query = (
            self._paired(scope)
            .with_only_columns(c.configuration_id, func.count().label("devices"))
            .where(c.configuration_id.in_(list(configuration_ids)))
            .group_by(c.configuration_id)
        )
        return {r.configuration_id: int(r.devices) for r in self.conn.execute(query)}

    @staticmethod
    def _paired(scope: Scope) -> Select[Any]:
        """Client devices still paired, joined to their twins as the scope sees them (P5)."""
        c = t.client_devices.c
        return (
            select(t.client_devices, t.devices.c.name.label("device_name"))
            .join(t.devices, t.devices.c.id == c.device_id)
            .where(c.organization_id == scope.organization_id, visible(scope, t.devices))
        )

    def replace_credential(self, client_id: str, credential_digest: str) -> None:
        c = t.client_devices.c
        self.conn.execute(
            update(t.client_devices)
            .where(c.id == client_id)
            .values(credential_digest=credential_digest)
        )

    def delete(self, client_id: str) -> None:
        self.conn.execute(delete(t.client_devices).where(t.client_devices.c.id == client_id))
