"""Domain records as API bodies."""

from __future__ import annotations

from collections.abc import Sequence

from onboard.domain.access import Actor
from onboard.domain.audit import AuditEntry
from onboard.domain.codes import Code, Notification, code_url
from onboard.domain.devices import Device, Interaction, ServiceRecord, Template
from onboard.domain.documents import Document
from onboard.domain.identity import ApiToken, Customer, CustomerUser, Department, Member
from onboard.domain.provisioning import Environment, Registration
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.provisioning_schemas import EnvironmentPublic, RegistrationPublic
from onboard.services.public import PublicView


def departments_of(departments: frozenset[str] | None) -> list[str] | None:
    return None if departments is None else sorted(departments)


def department(d: Department) -> s.DepartmentPublic:
    return s.DepartmentPublic(id=d.id, name=d.name, created_at=d.created_at)


def member(m: Member, one_time_password: str | None = None) -> s.MemberPublic:
    return s.MemberPublic(
        id=m.id,
        email=m.email,
        roles=sorted(r.value for r in m.roles),
        departments=departments_of(m.departments),
        created_at=m.created_at,
        one_time_password=one_time_password,
    )


def token(t: ApiToken) -> s.TokenPublic:
    return s.TokenPublic(
        id=t.id, name=t.name, prefix=t.prefix, created_at=t.created_at, last_used_at=t.last_used_at
    )


def customer(c: Customer) -> s.CustomerPublic:
    return s.CustomerPublic(
        id=c.id, name=c.name, departments=sorted(c.departments or ()), created_at=c.created_at
    )


def customer_user(u: CustomerUser, one_time_password: str | None = None) -> s.CustomerUserPublic:
    return s.CustomerUserPublic(
        id=u.id,
        customer_id=u.customer_id,
        email=u.email,
        created_at=u.created_at,
        one_time_password=one_time_password,
    )


def audit_entry(e: AuditEntry) -> s.AuditEntryPublic:
    return s.AuditEntryPublic(
        id=e.id,
        at=e.at,
        actor={"kind": e.actor_kind, "id": e.actor_id, "label": e.actor_label},
        action=e.action,
        target={"type": e.target_type, "id": e.target_id},
        before=e.before,
        after=e.after,
        source_ip=e.source_ip,
    )


def timeline_entry(e: AuditEntry) -> s.TimelineEntryPublic:
    return s.TimelineEntryPublic(
        id=e.id,
        at=e.at,
        actor={"kind": e.actor_kind, "label": e.actor_label},
        action=e.action,
        target={"type": e.target_type, "id": e.target_id},
        before=e.before,
        after=e.after,
    )


def template(t: Template) -> s.TemplatePublic:
    return s.TemplatePublic(
        id=t.id,
        name=t.name,
        fields=[
            s.TemplateField(name=f.name, type=f.type.value, required=f.required,
                                  public=f.public)
            for f in t.fields
        ],
        departments=sorted(t.departments),
        gtin=t.gtin,
        created_at=t.created_at,
    )  # fmt: skip


def device(d: Device, codes: Sequence[Code]) -> s.DevicePublic:
    """A device with the tokens of the codes paired with it."""
    return s.DevicePublic(
        id=d.id,
        name=d.name,
        serial=d.serial,
        gtin=d.gtin,
        template_id=d.template_id,
        attributes=d.attributes,
        departments=sorted(d.departments),
        customer_id=d.customer_id,
        location=s.Location(
            text=d.location.text, latitude=d.location.latitude, longitude=d.location.longitude
        ),
        status=d.status.value,
        codes=[c.token for c in codes],
        photo_url=f"/api/v1/devices/{d.id}/photo" if d.photo_key else None,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def code(c: Code, *, public_url: str, departments: frozenset[str], seen_by: Actor) -> s.CodePublic:
    """A code with its URL (A2) and its effective departments (A8), which the caller
    resolves: the device's while paired, the code's own otherwise."""
    return s.CodePublic(
        token=c.token,
        url=code_url(public_url, c.token),
        label=c.label,
        batch=c.batch,
        active=c.active,
        pin_protected=c.pin_protected,
        departments=sorted(departments),
        # A code paired into the viewer's department may belong to one they do not see.
        own_departments=sorted(c.departments & seen_by.scope.departments)
        if seen_by.scope is not None and seen_by.scope.departments is not None
        else sorted(c.departments),
        device_id=c.device_id,
        payload=c.payload,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def service_record(r: ServiceRecord) -> s.ServiceRecordPublic:
    return s.ServiceRecordPublic(
        id=r.id, device_id=r.device_id, text=r.text, performed_at=r.performed_at,
        author=r.author, created_at=r.created_at,
    )  # fmt: skip


def interaction(i: Interaction) -> s.InteractionPublic:
    return s.InteractionPublic(
        id=i.id, device_id=i.device_id, kind=i.kind.value, text=i.text, contact=i.contact,
        author=i.author, created_at=i.created_at,
    )  # fmt: skip


def notification(n: Notification) -> s.NotificationPublic:
    return s.NotificationPublic(
        id=n.id, device_id=n.device_id, message=n.message, contact=n.contact,
        created_at=n.created_at,
    )  # fmt: skip


def document_content_url(d: Document) -> str | None:
    """Where a file document's bytes are: under its device, or under its template."""
    if not d.is_file:
        return None
    if d.device_id is not None:
        return f"/api/v1/devices/{d.device_id}/documents/{d.id}/content"
    return f"/api/v1/templates/{d.template_id}/documents/{d.id}/content"


def document(d: Document) -> s.DocumentPublic:
    return s.DocumentPublic(
        id=d.id, title=d.title, public=d.public, url=d.url, content_url=document_content_url(d),
        content_type=d.content_type, size=d.size, author=d.author, created_at=d.created_at,
    )  # fmt: skip


def public_photo_url(token: str) -> str:
    return f"/api/v1/public/codes/{token}/photo"


def public_document_url(token: str, d: Document) -> str | None:
    return f"/api/v1/public/codes/{token}/documents/{d.id}" if d.is_file else None


def code_state(view: PublicView) -> s.CodeStatePublic:
    """The code page for a code user (A12): never the organization, nor any id but the
    token they already hold and those of the public documents it shows; files are served
    under the token, by the same checks as this page."""
    shown = view.device
    device: s.DeviceViewPublic | None = None
    if shown is not None and view.token is not None:
        token = view.token
        device = s.DeviceViewPublic(
            name=shown.name,
            attributes=shown.attributes,
            photo_url=public_photo_url(token) if shown.has_photo else None,
            documents=[
                s.PublicDocumentPublic(
                    id=d.id,
                    title=d.title,
                    url=d.url,
                    content_url=public_document_url(token, d),
                    content_type=d.content_type,
                    size=d.size,
                )
                for d in shown.documents
            ],
        )
    return s.CodeStatePublic(
        state=view.state.value, token=view.token, label=view.label, device=device
    )


def environment(e: Environment) -> EnvironmentPublic:
    return EnvironmentPublic(
        name=e.name,
        region=e.region,
        api_url=e.api_url,
        mqtt_url=e.mqtt_url,
        status="up" if e.up else "down",
        weight=e.weight,
    )


def registration(r: Registration) -> RegistrationPublic:
    return RegistrationPublic(
        id=r.id,
        serial=r.serial,
        attributes=r.attributes,
        enabled=not r.disabled,
        disabled=r.disabled,
        device_id=r.device_id,
        activated_at=r.activated_at,
        reprovision_pending=r.reprovision_pending,
        created_at=r.created_at,
    )
