"""Documents of devices and templates, and which stored files are still referred to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import paginate
from onboard.domain.documents import Document
from onboard.services.ports import Page, PageRequest

_c = t.documents.c


def _owner(device_id: str | None, template_id: str | None) -> ColumnElement[bool]:
    """A document belongs to a device or to a template, never both."""
    if (device_id is None) == (template_id is None):
        raise ValueError("name exactly one of device_id and template_id")
    return _c.device_id == device_id if device_id is not None else _c.template_id == template_id


class SqlDocuments:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Document]:
        return [
            Document(
                id=r.id,
                organization_id=r.organization_id,
                device_id=r.device_id,
                template_id=r.template_id,
                title=r.title,
                url=r.url,
                storage_key=r.storage_key,
                content_type=r.content_type,
                size=r.size,
                public=r.public,
                author=r.author,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def add(self, document: Document) -> None:
        self.conn.execute(
            insert(t.documents).values(
                id=document.id,
                organization_id=document.organization_id,
                device_id=document.device_id,
                template_id=document.template_id,
                title=document.title,
                url=document.url,
                storage_key=document.storage_key,
                content_type=document.content_type,
                size=document.size,
                public=document.public,
                author=document.author,
                created_at=document.created_at,
            )
        )

    def get(
        self, document_id: str, *, device_id: str | None = None, template_id: str | None = None
    ) -> Document | None:
        query = select(t.documents).where(_c.id == document_id, _owner(device_id, template_id))
        return next(iter(self._records(self.conn.execute(query).all())), None)

    def list_page(
        self,
        page: PageRequest,
        *,
        device_id: str | None = None,
        template_id: str | None = None,
        public_only: bool = False,
    ) -> Page[Document]:
        query = select(t.documents).where(_owner(device_id, template_id))
        if public_only:
            query = query.where(_c.public.is_(True))
        return paginate(self.conn, query, _c.id, page, self._records)

    def of_template(self, template_id: str) -> list[Document]:
        query = select(t.documents).where(_c.template_id == template_id).order_by(_c.id)
        return self._records(self.conn.execute(query).all())

    def storage_keys(
        self, *, device_id: str | None = None, template_id: str | None = None
    ) -> set[str]:
        query = select(_c.storage_key).where(
            _owner(device_id, template_id), _c.storage_key.is_not(None)
        )
        return set(self.conn.execute(query).scalars())

    def delete(self, document_id: str) -> None:
        self.conn.execute(delete(t.documents).where(_c.id == document_id))

    def set_public(self, document_id: str, public: bool) -> None:
        self.conn.execute(update(t.documents).where(_c.id == document_id).values(public=public))

    def file_in_use(self, storage_key: str) -> bool:
        documents = exists(select(_c.id).where(_c.storage_key == storage_key))
        photos = exists(select(t.devices.c.id).where(t.devices.c.photo_key == storage_key))
        # A photo taken while enrolling, kept with the enrollment record (C9).
        enrolling = exists(
            select(t.enrollments.c.id).where(t.enrollments.c.photo_key == storage_key)
        )
        return bool(self.conn.execute(select(or_(documents, photos, enrolling))).scalar())

    def lock_file(self, storage_key: str) -> None:
        # PostgreSQL: a transaction-level advisory lock on the key's first 60 bits (a
        # collision only makes two files take turns). SQLite: every writing transaction
        # holds the database's write lock from its start already.
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(func.pg_advisory_xact_lock(int(storage_key[:15], 16))))
