"""What the device pages show (the back office's, and the device on the code page and in the
mobile app): the header and tab bar, what the member may do, the device's template,
customer, attributes and documents as the member sees them, and the timeline told as
sentences (SPEC A3)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fastapi import Request, Response

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import AuditEntry
from onboard.domain.devices import Device, DeviceStatus, Template
from onboard.domain.documents import EXTENSIONS, Document
from onboard.domain.errors import DomainError
from onboard.domain.identity import Customer
from onboard.domain.licensing import Configuration
from onboard.entrypoints import http
from onboard.entrypoints.web.rendering import form_errors, render
from onboard.services import customers, pairing, templates
from onboard.services.licensing.configurations import list_configurations
from onboard.services.ports import Page, PageRequest, Services

T = TypeVar("T")

_MAX_PAGES = 20
_PAGE = 200
SERVICE_TEXT_SHOWN = 120


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    suffix: str


TABS: tuple[Tab, ...] = (
    Tab("overview", "Overview", ""),
    Tab("codes", "Codes", "/codes"),
    Tab("documents", "Documents", "/documents"),
    Tab("service", "Service history", "/service"),
    Tab("interactions", "Interactions", "/interactions"),
    Tab("timeline", "Timeline", "/timeline"),
)

STATUS_LABELS = {
    DeviceStatus.ACTIVE.value: "Active",
    DeviceStatus.INACTIVE.value: "Inactive",
    DeviceStatus.MAINTENANCE.value: "Maintenance",
    DeviceStatus.RETIRED.value: "Retired",
}


@dataclass(frozen=True)
class Allowed:
    """What the member may do on a device's pages (the use cases refuse the rest too)."""

    edit: bool
    delete: bool
    pair: bool
    record: bool

    @classmethod
    def of(cls, actor: Actor) -> Allowed:
        return cls(
            edit=actor.can(Permission.EDIT_DEVICES),
            delete=actor.can(Permission.DELETE_DEVICES),
            pair=actor.can(Permission.PAIR),
            record=actor.can(Permission.RECORD_SERVICE),
        )


def _every(fetch: Callable[[PageRequest], Page[T]]) -> list[T]:
    """All items of a list, page by page, up to a bound no picker needs to pass."""
    found: list[T] = []
    after: str | None = None
    for _ in range(_MAX_PAGES):
        page = fetch(PageRequest(after, _PAGE))
        found.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    return found


def all_templates(svc: Services, actor: Actor) -> list[Template]:
    found = _every(lambda page: templates.list_templates(svc, actor, page))
    return sorted(found, key=lambda t: t.name.casefold())


def all_configurations(svc: Services, actor: Actor) -> list[Configuration]:
    found = _every(lambda page: list_configurations(svc, actor, page))
    return sorted(found, key=lambda c: c.name.casefold())


def all_customers(svc: Services, actor: Actor) -> list[Customer]:
    found = _every(lambda page: customers.list_customers(svc, actor, page))
    return sorted(found, key=lambda c: c.name.casefold())


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


def options(found: Iterable[_Named]) -> list[tuple[str, str]]:
    """(id, name) pairs, for a select and for naming ids in a list."""
    return [(item.id, item.name) for item in found]


def template_of(svc: Services, actor: Actor, device: Device) -> Template | None:
    """The device's template, if the member sees it."""
    if device.template_id is None:
        return None
    try:
        return templates.get_template(svc, actor, device.template_id)
    except DomainError:
        return None


def customer_name(svc: Services, actor: Actor, device: Device) -> str | None:
    """The device's customer, if the member sees it (a customer of other departments not)."""
    if device.customer_id is None:
        return None
    try:
        return customers.get_customer(svc, actor, device.customer_id).name
    except DomainError:
        return None


def document_kind(document: Document) -> str:
    """What a listed document is: "Link", or its file type ("PDF", "PNG")."""
    if document.url is not None:
        return "Link"
    return EXTENSIONS.get(document.content_type or "", "file").upper()


def attribute_rows(device: Device, template: Template | None) -> list[tuple[str, Any, bool]]:
    """The device's attributes in the template's order, each with whether code users see
    it; attributes the template does not name (set without one) come last."""
    rows: list[tuple[str, Any, bool]] = []
    if template is not None:
        rows = [
            (f.name, device.attributes[f.name], f.public)
            for f in template.fields
            if f.name in device.attributes
        ]
    known = {name for name, _, _ in rows}
    rows.extend((k, v, False) for k, v in device.attributes.items() if k not in known)
    return rows


def tab_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    error: DomainError | None,
    *,
    fields: dict[str, str] | None = None,
) -> Response:
    """A tab, with a refused form's errors next to its fields (renamed by ``fields``)."""
    if error is None:
        return render(request, template, context)
    return render(
        request,
        template,
        context,
        errors=form_errors(error, fields=fields),
        status=http.status_of(error),
    )


def device_context(
    svc: Services, actor: Actor, device: Device, tab: str, **values: Any
) -> dict[str, Any]:
    """What the header of every tab shows: the device, the tab bar, the member's rights."""
    return {
        "area": "devices",
        "device": device,
        "tab": tab,
        "tabs": TABS,
        "base": f"/devices/{device.id}",
        "allowed": Allowed.of(actor),
        "status_labels": STATUS_LABELS,
        "code_count": len(pairing.codes_of_device(svc, actor, device.id)),
        **values,
    }


# --- the timeline as sentences -------------------------------------------------------------

_CHANGED_NAMES = {
    "name": "name",
    "serial": "serial number",
    "gtin": "GTIN",
    "template_id": "template",
    "attributes": "attributes",
    "departments": "departments",
    "customer_id": "customer",
    "location": "location",
    "status": "status",
}


def _quoted(value: object) -> str:
    text = str(value or "")
    if len(text) > SERVICE_TEXT_SHOWN:
        text = text[: SERVICE_TEXT_SHOWN - 1].rstrip() + "…"
    return f"“{text}”"


def _changes(entry: AuditEntry) -> str:
    before, after = entry.before or {}, entry.after or {}
    changed = [k for k in _CHANGED_NAMES if before.get(k) != after.get(k)]
    if changed == ["status"]:
        old = STATUS_LABELS.get(str(before.get("status")), str(before.get("status")))
        new = STATUS_LABELS.get(str(after.get("status")), str(after.get("status")))
        return f"changed the status from {old} to {new}"
    if not changed:
        return "saved the device without changes"
    names = [_CHANGED_NAMES[k] for k in changed]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"changed the {listed}"


def _code(entry: AuditEntry, tokens: Mapping[str, str]) -> str:
    token = (entry.after or {}).get("token") or tokens.get(entry.target_id)
    return f"code {token}" if token else "a code"


def timeline_sentence(entry: AuditEntry, tokens: Mapping[str, str]) -> str:
    """What happened, as the rest of a sentence whose subject is who did it
    (``paired code 7H3K…``). ``tokens`` names codes by id where the page knows them."""
    after, before = entry.after or {}, entry.before or {}
    action = entry.action
    if action == "device.created":
        return "created the device"
    if action == "device.updated":
        return _changes(entry)
    if action == "code.paired":
        return f"paired {_code(entry, tokens)} with the device"
    if action == "code.unpaired":
        cleared = after.get("notifications_cleared") or 0
        extra = f" ({cleared} message{'s' if cleared != 1 else ''} cleared)" if cleared else ""
        return f"unpaired {_code(entry, tokens)}{extra}"
    if action == "code.created":
        return f"created {_code(entry, tokens)} for the device"
    if action == "device.photo_set":
        verb = "replaced" if before.get("photo") else "added"
        return f"{verb} the installation photo"
    if action == "device.photo_removed":
        return "removed the installation photo"
    if action == "device.document_added":
        source = " (from the template)" if after.get("template_id") else ""
        return f"added the document {_quoted(after.get('title'))}{source}"
    if action == "device.document_deleted":
        return f"deleted the document {_quoted(before.get('title'))}"
    if action == "device.document_changed":
        shown = "public" if after.get("public") else "internal"
        return f"made the document {_quoted(after.get('title'))} {shown}"
    if action == "device.service_recorded":
        return f"recorded service: {_quoted(after.get('text'))}"
    if action == "device.interaction_added":
        kind = "a message" if after.get("kind") == "message" else "a note"
        return f"added {kind}"
    if action == "code.notification_received":
        return f"sent a message through {_code(entry, tokens)}"
    if action == "code.notifications_deleted":
        return f"deleted messages of {_code(entry, tokens)}"
    return action.replace("_", " ").replace(".", ": ", 1)
