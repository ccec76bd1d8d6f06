"""Templates, devices and what a device keeps: interactions and service records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, exists, insert, or_, select, update

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, count, paginate
from onboard.adapters.db.repositories.effective import hold_device, refresh
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Scope
from onboard.domain.devices import (
    Device,
    DeviceStatus,
    FieldType,
    Interaction,
    InteractionKind,
    Location,
    ServiceRecord,
    Template,
    TemplateField,
)
from onboard.services.ports import DeviceFilter, Page, PageRequest


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches ``text`` literally anywhere (escape char: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def device_of(row: Row[Any], departments: frozenset[str], prefix: str = "") -> Device:
    """A device from a row of ``devices``, its columns named with ``prefix``."""

    def get(name: str) -> Any:
        return getattr(row, prefix + name)

    return Device(
        id=get("id"),
        organization_id=get("organization_id"),
        name=get("name"),
        serial=get("serial"),
        template_id=get("template_id"),
        attributes=dict(get("attributes")),
        departments=departments,
        customer_id=get("customer_id"),
        location=Location(get("location_text"), get("latitude"), get("longitude")),
        status=DeviceStatus(get("status")),
        created_at=get("created_at"),
        updated_at=get("updated_at"),
        gtin=get("gtin"),
        photo_key=get("photo_key"),
        photo_content_type=get("photo_content_type"),
    )


def fields_of(stored: list[dict[str, Any]]) -> tuple[TemplateField, ...]:
    """A template's fields as stored (JSON) back into the domain's."""
    return tuple(
        TemplateField(f["name"], FieldType(f["type"]), f["required"], f["public"]) for f in stored
    )


class SqlTemplates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.template_departments, "template_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Template]:
        links = self.links.of(r.id for r in rows)
        return [
            Template(
                r.id,
                r.organization_id,
                r.name,
                fields_of(r.fields),
                links[r.id],
                r.created_at,
                r.gtin,
            )
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> Template | None:
        rows = self.conn.execute(select(t.templates).where(*where)).all()
        return next(iter(self._records(rows)), None)

    @staticmethod
    def _fields(template: Template) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "type": f.type.value, "required": f.required, "public": f.public}
            for f in template.fields
        ]

    def add(self, template: Template) -> None:
        self.conn.execute(
            insert(t.templates).values(
                id=template.id,
                organization_id=template.organization_id,
                name=template.name,
                fields=self._fields(template),
                gtin=template.gtin,
                created_at=template.created_at,
            )
        )
        self.links.replace(template.id, template.departments)

    def get(self, scope: Scope, template_id: str) -> Template | None:
        return self._one(visible(scope, t.templates), t.templates.c.id == template_id)

    def get_unscoped(self, template_id: str) -> Template | None:
        return self._one(t.templates.c.id == template_id)

    def get_by_name(self, organization_id: str, name: str) -> Template | None:
        return self._one(
            t.templates.c.organization_id == organization_id, t.templates.c.name == name
        )

    def get_by_gtin(self, organization_id: str, gtin: str) -> Template | None:
        c = t.templates.c
        return self._one(c.organization_id == organization_id, c.gtin == gtin)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Template]:
        query = select(t.templates).where(visible(scope, t.templates))
        return paginate(self.conn, query, t.templates.c.id, page, self._records)

    def update(self, template: Template) -> None:
        self.conn.execute(
            update(t.templates)
            .where(t.templates.c.id == template.id)
            .values(name=template.name, fields=self._fields(template), gtin=template.gtin)
        )
        self.links.replace(template.id, template.departments)

    def delete(self, template_id: str) -> None:
        self.conn.execute(delete(t.templates).where(t.templates.c.id == template_id))

    def usage(self, template_id: str) -> int:
        return count(self.conn, t.devices, t.devices.c.template_id == template_id)


# Built once: a new device (activations make them by the thousand a second, D4) pays only
# for its values.
_INSERT_DEVICE = insert(t.devices)


def device_values(device: Device) -> dict[str, Any]:
    """A device's columns that change with it."""
    return {
        "name": device.name,
        "serial": device.serial,
        "template_id": device.template_id,
        "attributes": device.attributes,
        "customer_id": device.customer_id,
        "location_text": device.location.text,
        "latitude": device.location.latitude,
        "longitude": device.location.longitude,
        "status": device.status.value,
        "updated_at": device.updated_at,
        "gtin": device.gtin,
        "photo_key": device.photo_key,
        "photo_content_type": device.photo_content_type,
    }


def new_device_values(device: Device) -> dict[str, Any]:
    """Every column of a new device's row."""
    return {
        "id": device.id,
        "organization_id": device.organization_id,
        "created_at": device.created_at,
        **device_values(device),
    }


class SqlDevices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.device_departments, "device_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Device]:
        links = self.links.of(r.id for r in rows)
        return [device_of(r, links[r.id]) for r in rows]

    def _one(self, *where: ColumnElement[bool]) -> Device | None:
        rows = self.conn.execute(select(t.devices).where(*where)).all()
        return next(iter(self._records(rows)), None)

    @staticmethod
    def _values(device: Device) -> dict[str, Any]:
        return device_values(device)

    def add(self, device: Device) -> None:
        self.conn.execute(_INSERT_DEVICE, new_device_values(device))
        self.links.add(device.id, device.departments)

    def get(self, scope: Scope, device_id: str, *, for_change: bool = False) -> Device | None:
        if for_change:
            hold_device(self.conn, device_id, exclusive=True)
        return self._one(visible(scope, t.devices), t.devices.c.id == device_id)

    def get_many(self, scope: Scope, device_ids: Sequence[str]) -> list[Device]:
        if not device_ids:
            return []
        rows = self.conn.execute(
            select(t.devices).where(visible(scope, t.devices), t.devices.c.id.in_(device_ids))
        ).all()
        return self._records(rows)

    def get_unscoped(self, device_id: str) -> Device | None:
        return self._one(t.devices.c.id == device_id)

    def departments_of(self, device_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        return self.links.of(device_ids)

    def get_by_identity(
        self, scope: Scope, gtin: str | None, serial: str, *, template_id: str | None = None
    ) -> Device | None:
        c = t.devices.c
        query = select(t.devices).where(
            visible(scope, t.devices),
            c.gtin == gtin if gtin is not None else c.gtin.is_(None),
            c.serial == serial,
        )
        if template_id is not None:
            query = query.where(c.template_id == template_id)
        rows = self.conn.execute(query.order_by(c.id).limit(1)).all()
        return next(iter(self._records(rows)), None)

    def with_identity(self, gtin: str, serial: str, *, limit: int) -> list[Device]:
        c = t.devices.c
        query = select(t.devices).where(c.gtin == gtin, c.serial == serial)
        return self._records(self.conn.execute(query.order_by(c.id).limit(limit)).all())

    def list_page(self, scope: Scope, filters: DeviceFilter, page: PageRequest) -> Page[Device]:
        c = t.devices.c
        query = select(t.devices).where(visible(scope, t.devices))
        if filters.paired is not None:
            paired = exists(select(t.codes.c.id).where(t.codes.c.device_id == c.id))
            query = query.where(paired if filters.paired else ~paired)
        if filters.department:
            links = t.device_departments
            query = query.where(
                exists(
                    select(links.c.device_id).where(
                        links.c.device_id == c.id, links.c.department_id == filters.department
                    )
                )
            )
        if filters.template:
            query = query.where(c.template_id == filters.template)
        if filters.customer:
            query = query.where(c.customer_id == filters.customer)
        if filters.status:
            query = query.where(c.status == filters.status)
        if filters.q:
            pattern = like_pattern(filters.q)
            found = or_(
                c.name.ilike(pattern, escape="\\"),
                c.serial.ilike(pattern, escape="\\"),
                c.location_text.ilike(pattern, escape="\\"),
            )
            if self.conn.dialect.name == "postgresql":
                # The matches first, through the trigram indexes, then paged: left to
                # itself, PostgreSQL may walk a million devices in id order and test each
                # (its estimate of how many match is a guess), taking a second (A16).
                matching = (
                    select(c.id)
                    .where(c.organization_id == scope.organization_id, found)
                    .cte("matching")
                    .prefix_with("MATERIALIZED")
                )
                found = c.id.in_(select(matching.c.id))
            query = query.where(found)
        return paginate(self.conn, query, c.id, page, self._records)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.devices, visible(scope, t.devices))

    def update(self, device: Device) -> None:
        self.conn.execute(
            update(t.devices).where(t.devices.c.id == device.id).values(**self._values(device))
        )
        if self.links.of([device.id])[device.id] == device.departments:
            return
        # The codes paired with the device follow its departments (A8); the exclusive lock
        # waits for pairings and unpairings of it in flight, and holds off new ones.
        hold_device(self.conn, device.id, exclusive=True)
        self.links.replace(device.id, device.departments)
        refresh(self.conn, t.codes.c.device_id == device.id)

    def move(self, device_id: str, organization_id: str, at: datetime) -> None:
        """D6: the twin goes to another organization with its documents, service records
        and interactions; what only its old organization has (departments, customer,
        template) it leaves behind. Its codes are unpaired by the caller first."""
        self.conn.execute(
            update(t.devices)
            .where(t.devices.c.id == device_id)
            .values(
                organization_id=organization_id, customer_id=None, template_id=None, updated_at=at
            )
        )
        self.links.replace(device_id, frozenset())
        for owned in (t.documents, t.service_records, t.device_interactions):
            self.conn.execute(
                update(owned)
                .where(owned.c.device_id == device_id)
                .values(organization_id=organization_id)
            )

    def delete(self, device_id: str) -> None:
        """Delete the device; codes still paired with it (paired since the caller released
        them) are unpaired here rather than by the foreign key, which would leave their
        effective departments behind (A5, A8)."""
        hold_device(self.conn, device_id, exclusive=True)
        c = t.codes.c
        unpaired = self.conn.execute(
            update(t.codes).where(c.device_id == device_id).values(device_id=None).returning(c.id)
        ).scalars()
        orphans = list(unpaired)
        if orphans:
            refresh(self.conn, c.id.in_(orphans))
        self.conn.execute(delete(t.devices).where(t.devices.c.id == device_id))


class SqlInteractions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Interaction]:
        return [
            Interaction(
                r.id,
                r.organization_id,
                r.device_id,
                InteractionKind(r.kind),
                r.text,
                r.contact,
                r.author,
                r.created_at,
            )
            for r in rows
        ]

    def add(self, interaction: Interaction) -> None:
        self.conn.execute(
            insert(t.device_interactions).values(
                id=interaction.id,
                organization_id=interaction.organization_id,
                device_id=interaction.device_id,
                kind=interaction.kind.value,
                text=interaction.text,
                contact=interaction.contact,
                author=interaction.author,
                created_at=interaction.created_at,
            )
        )

    def list_page(self, device_id: str, page: PageRequest) -> Page[Interaction]:
        c = t.device_interactions.c
        query = select(t.device_interactions).where(c.device_id == device_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)


class SqlServiceRecords:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[ServiceRecord]:
        return [
            ServiceRecord(
                r.id,
                r.organization_id,
                r.device_id,
                r.text,
                r.performed_at,
                r.author,
                r.created_at,
            )
            for r in rows
        ]

    def add(self, record: ServiceRecord) -> None:
        self.conn.execute(
            insert(t.service_records).values(
                id=record.id,
                organization_id=record.organization_id,
                device_id=record.device_id,
                text=record.text,
                performed_at=record.performed_at,
                author=record.author,
                created_at=record.created_at,
            )
        )

    def list_page(self, device_id: str, page: PageRequest) -> Page[ServiceRecord]:
        c = t.service_records.c
        query = select(t.service_records).where(c.device_id == device_id)
        return paginate(self.conn, query, c.id, page, self._records, newest_first=True)
