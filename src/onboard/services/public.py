"""What code users do, with no account: open a code, enter its PIN, send a notification
(SPEC A10-A13). Every PIN attempt is audited; guesses are rate-limited per client."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from onboard.domain.access import Actor, ActorKind
from onboard.domain.audit import Change, Target
from onboard.domain.codes import (
    PIN_ATTEMPTS,
    PIN_LOCK_SECONDS,
    Code,
    Notification,
    PublicState,
    check_message,
    normalize_token,
    public_state,
)
from onboard.domain.devices import Device, Interaction, InteractionKind, Template
from onboard.domain.documents import Document
from onboard.domain.errors import (
    CodeDeactivated,
    CodeNotPaired,
    NotFound,
    NotificationLimited,
    PinLocked,
    PinRequired,
    WrongPin,
)
from onboard.services.documents import StoredFile
from onboard.services.ports import PageRequest, Services, UnitOfWork

PIN_PASS_HOURS = 12
NOTIFICATIONS_PER_HOUR = 10
PUBLIC_DOCUMENTS = PageRequest(None, 100)


@dataclass(frozen=True)
class PublicDevice:
    """What a code user may see of a device: its name, public attributes, installation
    photo and public documents (A12)."""

    id: str
    name: str
    attributes: dict[str, Any]
    has_photo: bool = False
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class PublicView:
    state: PublicState
    token: str | None
    label: str | None = None
    device: PublicDevice | None = None
    organization_id: str | None = None


def code_user(client: str | None) -> Actor:
    return Actor(
        kind=ActorKind.CODE_USER, id=None, label=f"code user {client or 'unknown'}",
        source_ip=client,
    )  # fmt: skip


def _load(uow: UnitOfWork, raw_token: str) -> Code | None:
    token = normalize_token(raw_token)
    return uow.codes.get_by_token(token) if token else None


def _pin_message(code: Code, expires: int) -> str:
    """What a PIN pass signs: the code, its current PIN (a new PIN voids old passes), and
    when the pass ends."""
    pin_version = hashlib.sha256((code.pin_hash or "").encode()).hexdigest()[:16]
    return f"pin:{code.id}:{pin_version}:{expires}"


def _pass_valid(svc: Services, code: Code, pin_pass: str | None) -> bool:
    if not pin_pass or "." not in pin_pass:
        return False
    expires_text, _, signature = pin_pass.partition(".")
    if not expires_text.isdigit() or int(expires_text) < svc.clock.now().timestamp():
        return False
    return svc.signer.verify(_pin_message(code, int(expires_text)), signature)


def _public_device(
    device: Device, template: Template | None, documents: tuple[Document, ...]
) -> PublicDevice:
    public = {f.name for f in template.fields if f.public} if template else set()
    attributes = {k: v for k, v in device.attributes.items() if k in public}
    shown = tuple(d for d in documents if d.public)
    return PublicDevice(device.id, device.name, attributes, device.photo_key is not None, shown)


def _check_pin(svc: Services, uow: UnitOfWork, code: Code, pin: str, client: str | None) -> bool:
    """A11: five wrong PINs for one code from one client lock that client out for 15
    minutes; every attempt is audited."""
    key = f"pin:{code.id}:{client or 'unknown'}"
    now = svc.clock.now()
    locked = uow.rate_limits.count(key, now=now, window_seconds=PIN_LOCK_SECONDS) >= PIN_ATTEMPTS
    right = not locked and code.pin_hash is not None and svc.passwords.verify(code.pin_hash, pin)
    if not locked and not right:
        uow.rate_limits.hit(key, now=now, window_seconds=PIN_LOCK_SECONDS)
    if right:
        uow.rate_limits.reset(key)
    outcome = "locked" if locked else "right" if right else "wrong"
    uow.record(
        code_user(client),
        Change("code.pin_attempted", Target("code", code.id, code.departments),
               after={"outcome": outcome}),
        organization_id=code.organization_id,
    )  # fmt: skip
    uow.commit()
    if locked:
        raise PinLocked(
            "Too many wrong PINs for this code. Try again in 15 minutes.",
            retry_after=PIN_LOCK_SECONDS,
        )
    return right


def enter_pin(svc: Services, raw_token: str, pin: str, *, client: str | None) -> str:
    """Check a code's PIN; the answer is a pass for this browser, valid for 12 hours or
    until the PIN changes."""
    with svc.uow() as uow:
        code = _load(uow, raw_token)
        if code is None or code.pin_hash is None:
            raise NotFound("No PIN-protected code here.")
        if not _check_pin(svc, uow, code, pin, client):
            raise WrongPin("Wrong PIN.", fields={"pin": "wrong PIN"})
    expires = int((svc.clock.now() + timedelta(hours=PIN_PASS_HOURS)).timestamp())
    return f"{expires}.{svc.signer.sign(_pin_message(code, expires))}"


def view_code(
    svc: Services,
    raw_token: str,
    *,
    pin_pass: str | None = None,
    pin: str | None = None,
    client: str | None = None,
) -> PublicView:
    """A12's states, in order; the device's public page once the PIN (if any) is entered,
    by a pass or given with the request."""
    token = normalize_token(raw_token)
    # Only reads, unless a PIN came with the request (its check is audited and counted).
    with svc.uow(read_only=pin is None) as uow:
        found = uow.codes.resolve(token) if token else None
        code, device, template = found if found else (None, None, None)
        entered = code is not None and (
            code.pin_hash is None
            or _pass_valid(svc, code, pin_pass)
            or (pin is not None and public_state(code, pin_entered=False)
                is PublicState.PIN_REQUIRED and _check_pin(svc, uow, code, pin, client))
        )  # fmt: skip
        state = public_state(code, pin_entered=entered)
        documents: tuple[Document, ...] = ()
        if state is PublicState.PAIRED and device is not None:
            listed = uow.documents.list_page(
                PUBLIC_DOCUMENTS, device_id=device.id, public_only=True
            )
            documents = tuple(listed.items)
    if code is None:
        return PublicView(state, None)
    if state is not PublicState.PAIRED:
        return PublicView(state, code.token, code.label, organization_id=code.organization_id)
    if device is None:
        return PublicView(PublicState.UNPAIRED, code.token, code.label)
    return PublicView(
        state,
        code.token,
        code.label,
        _public_device(device, template, documents),
        code.organization_id,
    )


def _opened(
    svc: Services, raw_token: str, pin_pass: str | None, pin: str | None, client: str | None
) -> PublicDevice:
    """The device behind a code a code user may open, by A12's checks in order; a file of
    it is served under exactly these checks."""
    view = view_code(svc, raw_token, pin_pass=pin_pass, pin=pin, client=client)
    if view.state is PublicState.PIN_REQUIRED:
        raise PinRequired("Enter the code's PIN first.", fields={"pin": "required"})
    if view.state is not PublicState.PAIRED or view.device is None:
        raise NotFound("No such file.")
    return view.device


def public_photo(
    svc: Services,
    raw_token: str,
    *,
    pin_pass: str | None = None,
    pin: str | None = None,
    client: str | None = None,
) -> StoredFile:
    """A12: the installation photo of the device behind an open code."""
    shown = _opened(svc, raw_token, pin_pass, pin, client)
    with svc.uow() as uow:
        device = uow.devices.get_unscoped(shown.id)
    if device is None or device.photo_key is None or device.photo_content_type is None:
        raise NotFound("The device has no photo.")
    return StoredFile(svc.files.read(device.photo_key), device.photo_content_type)


def public_document(
    svc: Services,
    raw_token: str,
    document_id: str,
    *,
    pin_pass: str | None = None,
    pin: str | None = None,
    client: str | None = None,
) -> tuple[Document, StoredFile]:
    """A12: a public document file of the device behind an open code; an internal one is
    not found, exactly like one that does not exist."""
    shown = _opened(svc, raw_token, pin_pass, pin, client)
    with svc.uow() as uow:
        document = uow.documents.get(document_id, device_id=shown.id)
    if (
        document is None
        or not document.public
        or document.storage_key is None
        or document.content_type is None
    ):
        raise NotFound("No such file.")
    return document, StoredFile(svc.files.read(document.storage_key), document.content_type)


def send_notification(
    svc: Services,
    raw_token: str,
    *,
    message: str,
    contact: str | None,
    pin_pass: str | None = None,
    pin: str | None = None,
    client: str | None = None,
) -> Notification:
    """A13: a message to the device's owners from a paired, active code; kept in the code's
    history and as an interaction of the device. Rate-limited per client."""
    message, contact = check_message(message, contact)
    view = view_code(svc, raw_token, pin_pass=pin_pass, pin=pin, client=client)
    if view.state is PublicState.PIN_REQUIRED:
        raise WrongPin("Enter the code's PIN first.", fields={"pin": "required"})
    if view.state is not PublicState.PAIRED or view.device is None:
        if view.state is PublicState.NOT_FOUND:
            raise NotFound("No such code.")
        if view.state is PublicState.DEACTIVATED:
            raise CodeDeactivated("This code is deactivated; nothing can be sent.")
        raise CodeNotPaired("This code does not lead to a device; nothing can be sent.")
    now = svc.clock.now()
    with svc.uow() as uow:
        key = f"notify:{client or 'unknown'}"
        if uow.rate_limits.hit(key, now=now, window_seconds=3600) > NOTIFICATIONS_PER_HOUR:
            uow.commit()
            raise NotificationLimited("Too many messages; try again later.", retry_after=3600)
        code = _load(uow, raw_token)
        device = uow.devices.get_unscoped(view.device.id)
        if (
            code is None
            or device is None
            or code.device_id != device.id
            # Held to the commit, so an unpairing cannot slip between this check and the
            # new notification (A9: the history it clears would miss this one).
            or not uow.codes.lock_paired(code.id, device.id)
        ):
            raise CodeNotPaired("This code does not lead to a device; nothing can be sent.")
        actor = code_user(client)
        interaction = Interaction(
            svc.ids.new(), code.organization_id, device.id, InteractionKind.NOTIFICATION,
            message, contact, actor.label, now,
        )  # fmt: skip
        uow.interactions.add(interaction)
        notification = Notification(
            svc.ids.new(), code.organization_id, code.id, device.id, interaction.id, message,
            contact, now,
        )  # fmt: skip
        uow.notifications.add(notification)
        uow.record(
            actor,
            Change(
                "code.notification_received",
                Target("code", code.id, device.departments),
                after={"notification_id": notification.id, "device_id": device.id},
                device_id=device.id,
            ),
            organization_id=code.organization_id,
        )
        uow.commit()
    return notification
