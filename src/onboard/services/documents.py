"""Documents of devices (manuals: files or links, public or internal), default documents of
templates, and the installation photo (SPEC A3, A4).

Files are stored by content, so one file may serve several documents and photos (a
template's manual copied onto every device made from it). A file is deleted once the last
document or photo that refers to it is gone: after that change commits, under a lock on the
file's key that adding a reference takes too (DocumentRepository.lock_file)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, Template
from onboard.domain.documents import (
    DOCUMENT_TYPES,
    PHOTO_TYPES,
    Document,
    accepted_type,
    check_title,
    check_url,
    file_too_large,
    sniff,
)
from onboard.domain.errors import Invalid, NotFound
from onboard.services.common import device_target, not_found
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork


@dataclass(frozen=True)
class DocumentInput:
    """A document as given: a file's bytes (``content``) or a link (``url``), not both."""

    title: str
    public: bool = False
    url: str | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class StoredFile:
    """A file's bytes and the media type they were found to be."""

    content: bytes
    content_type: str


@dataclass(frozen=True)
class _Checked:
    title: str
    public: bool
    url: str | None
    content: bytes | None
    content_type: str | None


def _template_target(template: Template) -> Target:
    return Target("template", template.id)


def check_size(svc: Services, content: bytes) -> None:
    if len(content) > svc.upload_max_bytes:
        raise file_too_large(svc.upload_max_bytes)


def _check(svc: Services, given: DocumentInput) -> _Checked:
    """A3: a document is a file of an accepted type (read from its bytes) or a link."""
    title = check_title(given.title)
    if (given.url is None) == (given.content is None):
        raise Invalid(
            "Give either a file or a link.", fields={"file": "a file or a url", "url": "or this"}
        )
    if given.content is None:
        return _Checked(title, given.public, check_url(given.url or ""), None, None)
    check_size(svc, given.content)
    content_type = accepted_type(given.content, DOCUMENT_TYPES, what="document")
    return _Checked(title, given.public, None, given.content, content_type)


def _snapshot(document: Document) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "document_id": document.id,
        "title": document.title,
        "public": document.public,
    }
    if document.url is not None:
        shown["url"] = document.url
    else:
        shown |= {"content_type": document.content_type, "size": document.size}
    return shown


def store_file(svc: Services, uow: UnitOfWork, content: bytes, stored: list[str]) -> str:
    """Put the file in the storage, holding its key so it cannot be released meanwhile."""
    key = svc.files.key_for(content)
    uow.documents.lock_file(key)
    stored.append(key)
    return svc.files.put(content)


@contextmanager
def storing(svc: Services) -> Iterator[list[str]]:
    """The keys of the files stored inside the block, released again if the block fails:
    a change that is refused or rolled back leaves no file behind. Enter it before the
    unit of work, so that the release sees the rollback."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        release_files(svc, stored)
        raise


def release_files(svc: Services, keys: Iterable[str | None]) -> None:
    """Delete the stored files no document or photo refers to any more; called once the
    change that let go of them has committed (so a failed change never loses a file)."""
    wanted = sorted({key for key in keys if key})
    if not wanted:
        return
    with svc.uow() as uow:
        for key in wanted:
            uow.documents.lock_file(key)
            if not uow.documents.file_in_use(key):
                svc.files.delete(key)
        uow.commit()


def _new_document(
    svc: Services,
    uow: UnitOfWork,
    actor: Actor,
    scope: Scope,
    checked: _Checked,
    stored: list[str],
    *,
    device_id: str | None = None,
    template_id: str | None = None,
) -> Document:
    key = store_file(svc, uow, checked.content, stored) if checked.content is not None else None
    document = Document(
        id=svc.ids.new(),
        organization_id=scope.organization_id,
        device_id=device_id,
        template_id=template_id,
        title=checked.title,
        url=checked.url,
        storage_key=key,
        content_type=checked.content_type,
        size=len(checked.content) if checked.content is not None else None,
        public=checked.public,
        author=actor.label,
        created_at=svc.clock.now(),
    )
    uow.documents.add(document)
    return document


def _device(uow: UnitOfWork, scope: Scope, device_id: str, *, for_change: bool = False) -> Device:
    device = uow.devices.get(scope, device_id, for_change=for_change)
    if device is None:
        raise not_found("device", device_id)
    return device


def _template(uow: UnitOfWork, scope: Scope, template_id: str) -> Template:
    template = uow.templates.get(scope, template_id)
    if template is None:
        raise not_found("template", template_id)
    return template


def _file_of(svc: Services, document: Document) -> StoredFile:
    if document.storage_key is None or document.content_type is None:
        raise NotFound("This document is a link; it has no file to download.")
    return StoredFile(svc.files.read(document.storage_key), document.content_type)


# --- documents of a device (A3) ----------------------------------------------------------


def add_document(svc: Services, actor: Actor, device_id: str, given: DocumentInput) -> Document:
    """A3: a manual or other document for a device the actor sees: a file or a link, public
    (shown on the code page, A12) or internal."""
    scope = actor.require(Permission.EDIT_DEVICES)
    checked = _check(svc, given)
    with storing(svc) as stored, svc.uow() as uow:
        device = _device(uow, scope, device_id)
        document = _new_document(svc, uow, actor, scope, checked, stored, device_id=device.id)
        uow.record(
            actor,
            Change("device.document_added", device_target(device), after=_snapshot(document)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return document


def list_documents(
    svc: Services, actor: Actor, device_id: str, page: PageRequest
) -> Page[Document]:
    """All documents of a device the actor sees, public and internal, oldest first."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id)
        return uow.documents.list_page(page, device_id=device.id)


def read_document(svc: Services, actor: Actor, device_id: str, document_id: str) -> Document:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id)
        document = uow.documents.get(document_id, device_id=device.id)
    if document is None:
        raise not_found("document", document_id)
    return document


def document_file(
    svc: Services, actor: Actor, device_id: str, document_id: str
) -> tuple[Document, StoredFile]:
    """A file document of a device the actor sees, with its bytes."""
    document = read_document(svc, actor, device_id, document_id)
    return document, _file_of(svc, document)


def delete_document(svc: Services, actor: Actor, device_id: str, document_id: str) -> None:
    scope = actor.require(Permission.EDIT_DEVICES)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id)
        document = uow.documents.get(document_id, device_id=device.id)
        if document is None:
            raise not_found("document", document_id)
        uow.documents.delete(document.id)
        uow.record(
            actor,
            Change("device.document_deleted", device_target(device), before=_snapshot(document)),
            organization_id=scope.organization_id,
        )
        uow.commit()
    release_files(svc, [document.storage_key])


def set_document_public(
    svc: Services, actor: Actor, device_id: str, document_id: str, *, public: bool
) -> Document:
    """A3: make a document of a device public (shown on the code page, A12) or internal."""
    scope = actor.require(Permission.EDIT_DEVICES)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id)
        document = uow.documents.get(document_id, device_id=device.id)
        if document is None:
            raise not_found("document", document_id)
        if document.public == public:
            return document
        uow.documents.set_public(document.id, public)
        changed = replace(document, public=public)
        uow.record(
            actor,
            Change(
                "device.document_changed",
                device_target(device),
                before=_snapshot(document),
                after=_snapshot(changed),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return changed


# --- the installation photo (A3) ---------------------------------------------------------
# Taking the photo is field work, like a service record (§0: Technicians "add service
# records and photos"): it needs RECORD_SERVICE, which Technicians, Device Managers and
# Administrators hold.


def set_photo(svc: Services, actor: Actor, device_id: str, content: bytes) -> Device:
    """Set or replace the device's installation photo: a PNG, JPEG or WebP image."""
    scope = actor.require(Permission.RECORD_SERVICE)
    check_size(svc, content)
    content_type = accepted_type(content, PHOTO_TYPES, what="photo")
    with storing(svc) as stored, svc.uow() as uow:
        device = _device(uow, scope, device_id, for_change=True)
        key = store_file(svc, uow, content, stored)
        updated = replace(
            device, photo_key=key, photo_content_type=content_type, updated_at=svc.clock.now()
        )
        uow.devices.update(updated)
        uow.record(
            actor,
            Change(
                "device.photo_set",
                device_target(device),
                before={"photo": device.photo_key is not None},
                after={"photo": True, "content_type": content_type, "size": len(content)},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    if device.photo_key != key:
        release_files(svc, [device.photo_key])
    return updated


def photo_type(svc: Services, key: str) -> str | None:
    """The media type of a stored photo, read from its bytes."""
    return sniff(svc.files.read(key))


def photo_of(svc: Services, actor: Actor, device_id: str) -> StoredFile:
    """The installation photo of a device the actor sees; NotFound when it has none."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id)
    if device.photo_key is None or device.photo_content_type is None:
        raise NotFound("The device has no installation photo.")
    return StoredFile(svc.files.read(device.photo_key), device.photo_content_type)


def remove_photo(svc: Services, actor: Actor, device_id: str) -> None:
    scope = actor.require(Permission.RECORD_SERVICE)
    with svc.uow() as uow:
        device = _device(uow, scope, device_id, for_change=True)
        if device.photo_key is None:
            raise NotFound("The device has no installation photo.")
        uow.devices.update(
            replace(device, photo_key=None, photo_content_type=None, updated_at=svc.clock.now())
        )
        uow.record(
            actor,
            Change(
                "device.photo_removed",
                device_target(device),
                before={"photo": True, "content_type": device.photo_content_type},
                after={"photo": False},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    release_files(svc, [device.photo_key])


# --- default documents of a template (A4) ------------------------------------------------


def add_template_document(
    svc: Services, actor: Actor, template_id: str, given: DocumentInput
) -> Document:
    """A4: a default document; devices created from the template from now on get a copy."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    checked = _check(svc, given)
    with storing(svc) as stored, svc.uow() as uow:
        template = _template(uow, scope, template_id)
        document = _new_document(svc, uow, actor, scope, checked, stored, template_id=template.id)
        uow.record(
            actor,
            Change(
                "template.document_added", _template_target(template), after=_snapshot(document)
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return document


def list_template_documents(
    svc: Services, actor: Actor, template_id: str, page: PageRequest
) -> Page[Document]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        template = _template(uow, scope, template_id)
        return uow.documents.list_page(page, template_id=template.id)


def read_template_document(
    svc: Services, actor: Actor, template_id: str, document_id: str
) -> Document:
    """One default document of a template the actor sees, a file or a link."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        template = _template(uow, scope, template_id)
        document = uow.documents.get(document_id, template_id=template.id)
    if document is None:
        raise not_found("document", document_id)
    return document


def template_document_file(
    svc: Services, actor: Actor, template_id: str, document_id: str
) -> tuple[Document, StoredFile]:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        template = _template(uow, scope, template_id)
        document = uow.documents.get(document_id, template_id=template.id)
    if document is None:
        raise not_found("document", document_id)
    return document, _file_of(svc, document)


def delete_template_document(
    svc: Services, actor: Actor, template_id: str, document_id: str
) -> None:
    """Devices already made from the template keep their copies."""
    scope = actor.require(Permission.MANAGE_TEMPLATES)
    with svc.uow() as uow:
        template = _template(uow, scope, template_id)
        document = uow.documents.get(document_id, template_id=template.id)
        if document is None:
            raise not_found("document", document_id)
        uow.documents.delete(document.id)
        uow.record(
            actor,
            Change(
                "template.document_deleted",
                _template_target(template),
                before=_snapshot(document),
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    release_files(svc, [document.storage_key])


def copy_template_documents(
    svc: Services, uow: UnitOfWork, actor: Actor, template: Template, device: Device
) -> list[Document]:
    """A4: a device created from a template gets its default documents, inside the unit of
    work that creates the device. Files are shared, held so none is released meanwhile;
    the list is read again under those holds, so a document deleted meanwhile is left out."""
    keys = {d.storage_key for d in uow.documents.of_template(template.id) if d.storage_key}
    for key in sorted(keys):
        uow.documents.lock_file(key)
    copies: list[Document] = []
    for default in uow.documents.of_template(template.id):
        copy = default.copied_to_device(device.id, id=svc.ids.new(), at=svc.clock.now())
        if copy.storage_key is not None and copy.storage_key not in keys:
            continue  # added after the holds were taken; the next device gets it
        uow.documents.add(copy)
        uow.record(
            actor,
            Change(
                "device.document_added",
                device_target(device),
                after={**_snapshot(copy), "template_id": template.id},
            ),
            organization_id=device.organization_id,
        )
        copies.append(copy)
    return copies
