"""Organization and department isolation (SPEC P1, P4, P5), proven on every route of the
members' API, over SQLite and PostgreSQL.

The matrix: each route of /api/v1 is aimed at department A of organization 1 and called
by four members, each with their own bearer token:

- the organization's Administrator (all departments): allowed;
- an Administrator restricted to department A: allowed where the rules let a restricted
  member act;
- an Administrator restricted to department B: refused (404, or 403), sees none of A;
- the Administrator of another organization: 404, sees nothing of organization 1.

A refused call changes nothing at all; no call by a member changes, or shows, anything on
the far side of their boundary. A new route joins by itself: it is collected from the
application, and fails until CASES says how to aim it at department A.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pypdfium2
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from onboard.adapters.db.tables import metadata
from onboard.bootstrap import Container
from onboard.domain.batches import Batch
from onboard.domain.codes import Code, Notification, code_url
from onboard.domain.devices import Device, Interaction, ServiceRecord, Template
from onboard.domain.documents import Document
from onboard.domain.dynamic_codes import DynamicRule
from onboard.domain.enrollment import DeviceKind, Enrollment, Sighting, enroll_signature
from onboard.domain.errors import AlreadyOnboarded, ClaimNotAllowed, NotFound
from onboard.domain.identity import Customer, CustomerUser, Department, Member
from onboard.domain.licensing import Configuration, License, PairingCode, Product
from onboard.domain.provisioning import Environment, ProvisioningGroup, claim_code
from onboard.entrypoints.api.app import api_router
from onboard.entrypoints.app import create_app
from onboard.services import (
    batches,
    codes,
    customers,
    dashboard,
    device_enrollment,
    devices,
    dynamic_codes,
    enrollments,
    licensing,
    pairing,
    public,
    records,
)
from onboard.services import documents as documents_
from onboard.services import templates as templates_
from onboard.services.common import member_actor
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import CodeFilter, PageRequest, Services
from onboard.services.provisioning import environments as environments_
from onboard.services.provisioning import groups, onboarding
from onboard.services.tokens import create_token
from tests import provisioning as provisioning_
from tests.factories import PASSWORD, Org, make_department, make_member, make_org, unique

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body: text fields, and files as (name, bytes, content type)."""

    fields: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]


# The codes a refusal in the matrix may carry.
REFUSALS = {
    "not_found", "permission_denied", "department_forbidden", "invalid", "import_refused",
    "claim_not_allowed",
}  # fmt: skip

Body = dict[str, Any] | str | Multipart
"""A JSON body, a CSV file as text, or a form with files."""

PDF = b"%PDF-1.7\n% a manual\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

ADMIN = "admin"
IN_A = "admin_of_a"
IN_B = "admin_of_b"
OUTSIDER = "outsider"
ACTORS = [ADMIN, IN_A, IN_B, OUTSIDER]
WHO = {
    ADMIN: "the organization's Administrator of all departments",
    IN_A: "an Administrator restricted to department A",
    IN_B: "an Administrator restricted to department B",
    OUTSIDER: "the Administrator of another organization",
}

# Served without a member's token and without tenant data.
NOT_TENANT_DATA = {
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    # The code user's routes (A10-A13): no member, no scope; the token from the sticker is
    # the key, and they show only what A12 lets a code user see. Tested on their own in
    # tests/e2e/test_api_codes.py, and below for what they reveal of an organization.
    ("GET", "/api/v1/public/codes/{token}"),
    ("POST", "/api/v1/public/codes/{token}/pin"),
    ("POST", "/api/v1/public/codes/{token}/notifications"),
    # A12's photo and public documents, under the same checks as the code page; tested in
    # tests/integration/test_documents.py.
    ("GET", "/api/v1/public/codes/{token}/photo"),
    ("GET", "/api/v1/public/codes/{token}/documents/{document_id}"),
}


# --- the world every matrix test starts from ------------------------------------------


@dataclass
class World:
    """Organization 1 with departments A and B (and an empty one), a few records in each,
    organization 2 next to it, and a bearer token for each actor of the matrix.

    Part A: two templates (organization-wide), a device in A with a code paired with it
    (and a notification, a service record and a note), an unpaired code in A, and a device
    and an unpaired code in B."""

    svc: Services
    engine: Engine
    client: TestClient
    org: Org
    other: Org
    a: Department
    b: Department
    empty: Department
    members: dict[str, Member]
    member_a: Member
    member_b: Member
    customer_a: Customer
    customer_b: Customer
    user_a: CustomerUser
    tokens: dict[str, str]
    token_ids: dict[str, set[str]]
    spare_token_of_a: str
    """A token of IN_A other than the one IN_A calls with: the one routes aim at."""
    template: Template
    spare_template: Template
    device_a: Device
    device_b: Device
    paired_a: Code
    unpaired_a: Code
    code_b: Code
    notification: Notification
    record: ServiceRecord
    note: Interaction
    rule: DynamicRule
    """A dynamic-code rule (A14): organization-wide, like templates."""
    document: Document
    """An internal file document of A's device (which also has an installation photo)."""
    template_document: Document
    """A default document (a public file) of the template: organization-wide."""
    batch: Batch
    """A batch of two codes made by IN_A: the batch is organization-wide (like templates),
    its codes are in department A (P5)."""
    batch_codes: list[Code]
    product: Product
    """Part B: a product with two licenses, a reusable pairing code and two configurations,
    all organization-wide (like templates)."""
    free_license: License
    pairing_code: PairingCode
    configuration: Configuration
    newer_configuration: Configuration
    gateway_a: Enrollment
    """Part C: a gateway of department A, enrolled (C3), with a node that failed
    (``failed_a``), a node without a gateway still pending (``node_a``, C5), and a serial
    it reported nearby."""
    failed_a: Enrollment
    node_a: Enrollment
    nearby_serial: str
    licensed_a: Device
    """A device that paired with the code (B5), taking the other license, then moved into
    department A and renamed. Its license names it to the whole organization (B2: each
    license row shows the device it serves), so its id is the organization's; its name and
    the rest of the device are A's (P5)."""

    environment: Environment
    """Part D: an environment of the platform (P2): every member reads it, the operator
    alone writes it."""
    other_environment: Environment
    """The group's second environment, where its devices may be moved (D6)."""
    group: ProvisioningGroup
    """A preregistered provisioning group of organization 1 (D1): organization-wide, like
    templates, with no default departments (so that its settings show nothing of A to
    B), claimable by no other organization (D5)."""
    group_secret: str
    provisioned_a: Device
    """A device that activated through the group (D4), then moved into department A and
    renamed: its registration names it to the whole organization (like a license row), so
    its id and serial are the organization's; its name and the rest are A's (P5)."""
    spare_serial: str
    """A serial registered in the group, in onboarding batch 1, not activated: what a
    member of another organization would claim (D5)."""
    new_serial: str
    """A serial registered in the group for the new hardware of ``provisioned_a`` (D7)."""

    def call(self, actor: str, method: str, path: str, body: Body | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[actor]}"}
        if isinstance(body, Multipart):
            return self.client.request(
                method, path, data=body.fields, files=body.files, headers=headers
            )
        if isinstance(body, str):  # a CSV file
            headers["Content-Type"] = "text/csv"
            return self.client.request(method, path, content=body, headers=headers)
        return self.client.request(method, path, json=body, headers=headers)

    def only_a(self) -> set[str]:
        """What belongs to department A alone: ids, names and emails."""
        in_a = self.members[IN_A]
        return {
            self.a.id, self.a.name, in_a.id, in_a.email, self.member_a.id, self.member_a.email,
            self.customer_a.id, self.customer_a.name, self.user_a.id, self.user_a.email,
            *self.token_ids[IN_A],
            self.device_a.id, self.device_a.name, self.paired_a.token, self.unpaired_a.token,
            self.notification.id, self.notification.message, self.notification.interaction_id,
            self.record.id, self.record.text, self.note.id, self.note.text,
            self.document.id, self.document.title, *(c.token for c in self.batch_codes),
            self.licensed_a.name, self.provisioned_a.name,
            self.gateway_a.id, self.gateway_a.serial, self.gateway_a.device_id or "",
            self.failed_a.id, self.failed_a.serial, self.node_a.id, self.node_a.serial,
            self.nearby_serial,
        }  # fmt: skip

    def only_b(self) -> set[str]:
        in_b = self.members[IN_B]
        return {
            self.b.id, self.b.name, in_b.id, in_b.email, self.member_b.id, self.member_b.email,
            self.customer_b.id, self.customer_b.name, *self.token_ids[IN_B],
            self.device_b.id, self.device_b.name, self.code_b.token,
        }  # fmt: skip

    def whole_organization(self) -> set[str]:
        admin = self.members[ADMIN]
        return self.only_a() | self.only_b() | {
            self.org.organization.id, self.org.organization.name, admin.id, admin.email,
            self.empty.id, self.empty.name, *self.token_ids[ADMIN],
            self.template.id, self.template.name, self.spare_template.id,
            self.spare_template.name, self.rule.id, self.rule.name,
            self.template_document.id, self.template_document.title,
            self.batch.id, self.batch.number, *filter(None, [self.batch.name]),
            self.product.id, self.product.name, self.free_license.id, self.pairing_code.id,
            self.configuration.id, self.configuration.name, self.newer_configuration.id,
            self.licensed_a.id, self.group.id, self.group.group_id, self.group.name,
            self.provisioned_a.id, self.provisioned_a.serial or "", self.spare_serial,
            self.new_serial,
        }  # fmt: skip

    def hidden_from(self, actor: str) -> set[str]:
        """What the actor may never see nor change, whatever the route."""
        return {
            ADMIN: set(),
            IN_A: self.only_b(),
            IN_B: self.only_a(),
            OUTSIDER: self.whole_organization(),
        }[actor]


def _world(container: Container, client: TestClient) -> World:
    svc = container.services
    org, other = make_org(svc), make_org(svc)
    a = make_department(svc, org, name=unique("Department A"))
    b = make_department(svc, org, name=unique("Department B"))
    empty = make_department(svc, org, name=unique("Empty department"))
    members = {
        ADMIN: org.admin,
        IN_A: make_member(svc, org, roles=["administrator"], departments=[a.id]),
        IN_B: make_member(svc, org, roles=["administrator"], departments=[b.id]),
        OUTSIDER: other.admin,
    }
    tokens: dict[str, str] = {}
    token_ids: dict[str, set[str]] = {}
    for actor, member in members.items():
        issued = create_token(svc, member_actor(member), name="matrix")
        tokens[actor], token_ids[actor] = issued.secret, {issued.token.id}
    spare = create_token(svc, member_actor(members[IN_A]), name="spare").token.id
    token_ids[IN_A].add(spare)
    customer_a = customers.create_customer(
        svc, org.actor, name=unique("Customer A"), departments=[a.id]
    )
    customer_b = customers.create_customer(
        svc, org.actor, name=unique("Customer B"), departments=[b.id]
    )
    user_a = customers.add_customer_user(
        svc, org.actor, customer_a.id, email=f"user-{customer_a.id.lower()}@example.com",
        password=PASSWORD,
    ).user  # fmt: skip
    # Templates are organization-wide (a device type, not a record of a department); they
    # name no department here, so that their defaults show nothing of A to B.
    template = templates_.create_template(
        svc, org.actor, name=unique("Pump"),
        fields=[{"name": "power", "type": "number", "public": True}],
    )  # fmt: skip
    spare_template = templates_.create_template(svc, org.actor, name=unique("Valve"), fields=[])
    device_a = devices.create_device(
        svc, org.actor,
        devices.DeviceInput(unique("Pump of A"), template_id=template.id, attributes={"power": 3},
                            departments=[a.id]),
    )  # fmt: skip
    device_b = devices.create_device(
        svc, org.actor, devices.DeviceInput(unique("Pump of B"), departments=[b.id])
    )
    paired_a = pairing.create_code_for_device(svc, org.actor, device_a.id)
    (unpaired_a,) = codes.create_codes(svc, org.actor, departments=[a.id], label="A")
    (code_b,) = codes.create_codes(svc, org.actor, departments=[b.id], label="B")
    notification = public.send_notification(
        svc, paired_a.token, message=unique("Leaking at A"), contact=None, client="matrix"
    )
    record = records.add_service_record(
        svc, org.actor, device_a.id, text=unique("Seal replaced at A"), performed_at=None
    )
    note = records.add_interaction(
        svc, org.actor, device_a.id, kind="note", text=unique("Customer of A called")
    )
    document = documents_.add_document(
        svc, org.actor, device_a.id,
        documents_.DocumentInput(unique("Manual of A"), content=PDF + unique("A").encode()),
    )  # fmt: skip
    documents_.set_photo(svc, org.actor, device_a.id, PNG)
    template_document = documents_.add_template_document(
        svc, org.actor, template.id,
        documents_.DocumentInput(unique("Datasheet"), public=True, content=PDF + b"datasheet"),
    )  # fmt: skip
    # Made by a member of A: the codes get A (P5), the batch is the organization's.
    batch = batches.create_batch(
        svc, member_actor(members[IN_A]), count=2, number=unique("Lot"), name=unique("Lot")
    ).batch
    # Part B: the device pairs before the newer configuration exists, so it runs the first.
    product = licensing.create_product(svc, org.actor, name=unique("Collector"))
    licensing.grant_licenses(svc, org.actor, product.id, count=2, expires_at=None)
    configuration = licensing.create_configuration(
        svc, org.actor, product.id, name=unique("Field setup"), body={"interval": 60}
    )
    issued = licensing.create_pairing_code(svc, org.actor, product.id)
    paired = licensing.pair(svc, issued.text, licensing.HardwareReport(unique("hw")))
    licensed_a = devices.update_device(
        svc, org.actor, paired.device_id,
        {"name": unique("Handheld of A"), "departments": [a.id]},
    )  # fmt: skip
    newer_configuration = licensing.create_configuration(
        svc, org.actor, product.id, name=unique("Night setup"), body={"interval": 5}
    )
    gateway_a, failed_a, node_a, nearby_serial = _enrollments_of_a(svc, org, a)
    provisioning = _provisioning_of_a(svc, org, a)
    return World(
        svc=svc,
        engine=container.engine,
        client=client,
        org=org,
        other=other,
        a=a,
        b=b,
        empty=empty,
        members=members,
        member_a=make_member(svc, org, roles=["viewer"], departments=[a.id]),
        member_b=make_member(svc, org, roles=["viewer"], departments=[b.id]),
        customer_a=customer_a,
        customer_b=customer_b,
        user_a=user_a,
        tokens=tokens,
        token_ids=token_ids,
        spare_token_of_a=spare,
        template=template,
        spare_template=spare_template,
        device_a=device_a,
        device_b=device_b,
        paired_a=paired_a,
        unpaired_a=unpaired_a,
        code_b=code_b,
        notification=notification,
        document=document,
        template_document=template_document,
        batch=batch,
        batch_codes=list(
            codes.list_codes(svc, org.actor, CodeFilter(batch=batch.number), PageRequest()).items
        ),
        record=record,
        note=note,
        product=product,
        free_license=next(
            x
            for x in licensing.list_licenses(svc, org.actor, PageRequest()).items
            if x.device_id is None
        ),
        pairing_code=issued.code,
        configuration=configuration,
        newer_configuration=newer_configuration,
        licensed_a=licensed_a,
        gateway_a=gateway_a,
        failed_a=failed_a,
        node_a=node_a,
        nearby_serial=nearby_serial,
        rule=dynamic_codes.create_rule(
            svc, org.actor, name=unique("GS1 labels"), kind="gs1", template_id=template.id
        ),
        **provisioning,
    )


def _provisioning_of_a(svc: Services, org: Org, a: Department) -> dict[str, Any]:
    """Part D: an environment, a group of organization 1 sending its devices there, and
    three serials registered in it (D3): one whose device activated (D4) and was moved
    into department A, one waiting in onboarding batch 1 (D5), and one for new hardware
    (D7)."""
    environment = _environment_named(svc, provisioning_.environment(svc))
    other_environment = _environment_named(svc, provisioning_.environment(svc))
    made = groups.create_group(
        svc, org.actor, provisioning_.group_id(),
        groups.GroupInput(
            name=unique("Meters"), environments=(environment.name, other_environment.name)
        ),
    )  # fmt: skip
    serial, spare, new = (unique(kind).replace(" ", "-") for kind in ("MTR", "SPARE", "NEW"))
    provisioning_.register(svc, made, serial, spare)
    onboarding.create_onboarding_batch(svc, org.actor, made.group.id, 10)
    provisioning_.register(svc, made, new)
    activation = provisioning_.activated(svc, made, serial)
    provisioned_a = devices.update_device(
        svc, org.actor, activation.device_id,
        {"name": unique("Meter of A"), "departments": [a.id]},
    )  # fmt: skip
    return {
        "environment": environment,
        "other_environment": other_environment,
        "group": made.group,
        "group_secret": made.secret,
        "provisioned_a": provisioned_a,
        "spare_serial": spare,
        "new_serial": new,
    }


def _environment_named(svc: Services, name: str) -> Environment:
    return next(e for e in environments_.list_environments(svc) if e.name == name)


def _enrollments_of_a(
    svc: Services, org: Org, a: Department
) -> tuple[Enrollment, Enrollment, Enrollment, str]:
    """Part C in department A: a gateway enrolled with its proof (C3), a node of it whose
    enrollment failed (C4), a node for the app (C5), and a serial the gateway sees."""
    key = "matrix-access-key"

    def made(serial: str, kind: DeviceKind, gateway_id: str | None = None) -> Enrollment:
        given = EnrollmentInput(serial, key, kind, gateway_id, departments=[a.id])
        return enrollments.create_enrollment(svc, org.actor, given)

    gateway = made(unique("GW").replace(" ", "-"), DeviceKind.GATEWAY)
    expires = int(time.time()) + 600
    got = device_enrollment.enroll(
        svc, gateway.serial, expires, enroll_signature(key, gateway.serial, expires)
    )
    device_enrollment.complete(svc, got.credential, gateway.id, {"ble": True})
    failing = made(unique("NODE").replace(" ", "-"), DeviceKind.NODE, gateway.id)
    device_enrollment.jobs(svc, got.credential)
    failed = device_enrollment.job_result(
        svc, got.credential, failing.id, ok=False, error="no answer"
    )
    near = unique("NEAR").replace(" ", "-")
    device_enrollment.report_nearby(svc, got.credential, [Sighting(near, -60)])
    node = made(unique("APP").replace(" ", "-"), DeviceKind.NODE)
    return enrollments.get_enrollment(svc, org.actor, gateway.id), failed, node, near


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container.settings, container=container)) as test_client:
        yield test_client


@pytest.fixture
def world(container: Container, client: TestClient) -> World:
    return _world(container, client)


# --- what the database holds ------------------------------------------------------------

Snapshot = dict[str, list[tuple[str, ...]]]


def _rows(engine: Engine) -> Snapshot:
    """Every row of every table as text, without the bookkeeping a token's use updates."""
    found: Snapshot = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_at"]
            rows = conn.execute(select(*columns)).all()
            found[table.name] = sorted(
                tuple(json.dumps(v, sort_keys=True, default=str) for v in row) for row in rows
            )
    return found


def _mentioning(snapshot: Snapshot, needles: set[str]) -> Snapshot:
    """The rows that mention any of the needles (ids, names, emails)."""
    return {
        table: [row for row in rows if any(n in value for value in row for n in needles)]
        for table, rows in snapshot.items()
    }


# --- the matrix -------------------------------------------------------------------------

Outcome = frozenset[int]
ALLOWED: Outcome = frozenset()  # stands for the route's own success status
HIDDEN: Outcome = frozenset({404})
REFUSED: Outcome = frozenset({403, 404})
FORBIDDEN: Outcome = frozenset({403})
UNKNOWN_IDS: Outcome = frozenset({422})
ISOLATED = {ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: REFUSED, OUTSIDER: HIDDEN}
EVERYONE = dict.fromkeys(ACTORS, ALLOWED)
# Organization-wide records (templates): every member of the organization, nobody else.
ORGANIZATION = {ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: ALLOWED, OUTSIDER: HIDDEN}
# Creating something in department A.
CREATE_IN_A = {ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: FORBIDDEN, OUTSIDER: UNKNOWN_IDS}


def _none(_: World) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Case:
    """How to aim one route at department A of organization 1, and what each actor gets."""

    ok: int
    """The route's success status."""
    path: Callable[[World], dict[str, str]] = _none
    body: Callable[[World], Body] | None = None
    outcomes: Mapping[str, Outcome] = field(default_factory=lambda: ISOLATED)
    sees: Callable[[World, str], set[str]] | None = None
    """For a list: what each actor must find in it (the far side is checked for all)."""
    personal: bool = False
    """A route on the caller's own things: nobody else's token ever shows."""


def _listing(by_actor: Callable[[World], dict[str, set[str]]]) -> Callable[[World, str], set[str]]:
    return lambda w, actor: by_actor(w)[actor]


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/me"): Case(
        200, outcomes=EVERYONE, personal=True, sees=lambda w, actor: {w.members[actor].id}
    ),
    ("POST", "/api/v1/departments"): Case(
        201,
        body=lambda w: {"name": unique("New department")},
        # Only members of all departments create them; the outsider creates in their own.
        outcomes={ADMIN: ALLOWED, IN_A: FORBIDDEN, IN_B: FORBIDDEN, OUTSIDER: ALLOWED},
    ),
    ("GET", "/api/v1/departments"): Case(
        200,
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {w.a.id, w.b.id, w.empty.id},
                IN_A: {w.a.id},
                IN_B: {w.b.id},
                OUTSIDER: set(),
            }
        ),
    ),
    ("GET", "/api/v1/departments/{department_id}"): Case(
        200, path=lambda w: {"department_id": w.a.id}
    ),
    ("PATCH", "/api/v1/departments/{department_id}"): Case(
        # Departments are named by members of all departments only, like creating them.
        200,
        path=lambda w: {"department_id": w.a.id},
        body=lambda w: {"name": unique("A")},
        outcomes={ADMIN: ALLOWED, IN_A: FORBIDDEN, IN_B: FORBIDDEN, OUTSIDER: HIDDEN},
    ),
    ("DELETE", "/api/v1/departments/{department_id}"): Case(
        # Department A is in use; the empty one can go, and only for members of all.
        204,
        path=lambda w: {"department_id": w.empty.id},
        outcomes={ADMIN: ALLOWED, IN_A: FORBIDDEN, IN_B: FORBIDDEN, OUTSIDER: HIDDEN},
    ),
    ("POST", "/api/v1/members"): Case(
        201,
        body=lambda w: {
            "email": f"{unique('new').replace(' ', '-')}@example.com",
            "password": PASSWORD,
            "roles": ["viewer"],
            "departments": [w.a.id],
        },
        outcomes={ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: FORBIDDEN, OUTSIDER: UNKNOWN_IDS},
    ),
    ("GET", "/api/v1/members"): Case(
        200,
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {m.id for m in w.members.values() if m is not w.other.admin}
                | {w.member_a.id, w.member_b.id},
                IN_A: {w.members[IN_A].id, w.member_a.id},
                IN_B: {w.members[IN_B].id, w.member_b.id},
                OUTSIDER: {w.other.admin.id},
            }
        ),
    ),
    ("GET", "/api/v1/members/{member_id}"): Case(200, path=lambda w: {"member_id": w.member_a.id}),
    ("PATCH", "/api/v1/members/{member_id}"): Case(
        200, path=lambda w: {"member_id": w.member_a.id}, body=lambda w: {"roles": ["technician"]}
    ),
    ("DELETE", "/api/v1/members/{member_id}"): Case(
        204, path=lambda w: {"member_id": w.member_a.id}
    ),
    ("POST", "/api/v1/tokens"): Case(
        201, body=lambda w: {"name": "another"}, outcomes=EVERYONE, personal=True
    ),
    ("GET", "/api/v1/tokens"): Case(
        200, outcomes=EVERYONE, personal=True, sees=lambda w, actor: w.token_ids[actor]
    ),
    ("DELETE", "/api/v1/tokens/{token_id}"): Case(
        # Another member's token is nobody's business, not even the Administrator's.
        204,
        path=lambda w: {"token_id": w.spare_token_of_a},
        outcomes={ADMIN: HIDDEN, IN_A: ALLOWED, IN_B: HIDDEN, OUTSIDER: HIDDEN},
        personal=True,
    ),
    ("POST", "/api/v1/customers"): Case(
        201,
        body=lambda w: {"name": unique("New customer"), "departments": [w.a.id]},
        outcomes={ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: FORBIDDEN, OUTSIDER: UNKNOWN_IDS},
    ),
    ("GET", "/api/v1/customers"): Case(
        200,
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {w.customer_a.id, w.customer_b.id},
                IN_A: {w.customer_a.id},
                IN_B: {w.customer_b.id},
                OUTSIDER: set(),
            }
        ),
    ),
    ("GET", "/api/v1/customers/{customer_id}"): Case(
        200, path=lambda w: {"customer_id": w.customer_a.id}
    ),
    ("PATCH", "/api/v1/customers/{customer_id}"): Case(
        200,
        path=lambda w: {"customer_id": w.customer_a.id},
        body=lambda w: {"name": unique("Renamed customer")},
    ),
    ("DELETE", "/api/v1/customers/{customer_id}"): Case(
        204, path=lambda w: {"customer_id": w.customer_a.id}
    ),
    ("POST", "/api/v1/customers/{customer_id}/users"): Case(
        201,
        path=lambda w: {"customer_id": w.customer_a.id},
        body=lambda w: {"email": f"{unique('user').replace(' ', '-')}@example.com"},
    ),
    ("GET", "/api/v1/customers/{customer_id}/users"): Case(
        200,
        path=lambda w: {"customer_id": w.customer_a.id},
        sees=lambda w, actor: {w.user_a.id} if actor in (ADMIN, IN_A) else set(),
    ),
    ("DELETE", "/api/v1/customers/{customer_id}/users/{user_id}"): Case(
        204, path=lambda w: {"customer_id": w.customer_a.id, "user_id": w.user_a.id}
    ),
    ("GET", "/api/v1/audit"): Case(
        200,
        outcomes=EVERYONE,
        # Entries name their targets: each sees the creation of the customers they see.
        sees=_listing(
            lambda w: {
                ADMIN: {w.customer_a.id, w.customer_b.id},
                IN_A: {w.customer_a.id},
                IN_B: {w.customer_b.id},
                OUTSIDER: {w.other.organization.id},
            }
        ),
    ),
    # --- Part A: templates (A4), devices (A3, A5), codes and pairing (A1-A9, A13) ---
    ("POST", "/api/v1/templates"): Case(
        201,
        body=lambda w: {"name": unique("New template"), "fields": [], "departments": [w.a.id]},
        outcomes=CREATE_IN_A,
    ),
    ("GET", "/api/v1/templates"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.template.id, w.spare_template.id},
    ),
    ("GET", "/api/v1/templates/{template_id}"): Case(
        200, path=lambda w: {"template_id": w.template.id}, outcomes=ORGANIZATION
    ),
    ("PATCH", "/api/v1/templates/{template_id}"): Case(
        200,
        path=lambda w: {"template_id": w.template.id},
        body=lambda w: {"name": unique("Renamed template")},
        outcomes=ORGANIZATION,
    ),
    ("DELETE", "/api/v1/templates/{template_id}"): Case(
        # The template of A's device is in use; the spare one can go.
        204,
        path=lambda w: {"template_id": w.spare_template.id},
        outcomes=ORGANIZATION,
    ),
    ("POST", "/api/v1/devices"): Case(
        201,
        body=lambda w: {"name": unique("New device"), "departments": [w.a.id]},
        outcomes=CREATE_IN_A,
    ),
    ("GET", "/api/v1/devices"): Case(
        200,
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {w.device_a.id, w.device_b.id},
                IN_A: {w.device_a.id, w.paired_a.token},
                IN_B: {w.device_b.id},
                OUTSIDER: set(),
            }
        ),
    ),
    ("GET", "/api/v1/devices/{device_id}"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        sees=lambda w, actor: {w.device_a.id, w.paired_a.token},
    ),
    ("PATCH", "/api/v1/devices/{device_id}"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        body=lambda w: {"name": unique("Renamed device"), "location": {"text": "Hall 2"}},
    ),
    ("DELETE", "/api/v1/devices/{device_id}"): Case(
        204, path=lambda w: {"device_id": w.device_a.id}
    ),
    ("GET", "/api/v1/devices/{device_id}/codes"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        sees=lambda w, actor: {w.paired_a.token},
    ),
    ("POST", "/api/v1/devices/{device_id}/codes"): Case(
        201, path=lambda w: {"device_id": w.device_a.id}, body=lambda w: {"new": True}
    ),
    ("POST", "/api/v1/devices/{device_id}/service-records"): Case(
        201,
        path=lambda w: {"device_id": w.device_a.id},
        body=lambda w: {"text": "Filter changed", "performed_at": "2026-01-02T03:04:05Z"},
    ),
    ("GET", "/api/v1/devices/{device_id}/service-records"): Case(
        200, path=lambda w: {"device_id": w.device_a.id}, sees=lambda w, actor: {w.record.id}
    ),
    ("POST", "/api/v1/devices/{device_id}/interactions"): Case(
        201,
        path=lambda w: {"device_id": w.device_a.id},
        body=lambda w: {"kind": "message", "text": "Told the customer"},
    ),
    ("GET", "/api/v1/devices/{device_id}/interactions"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        sees=lambda w, actor: {w.note.id, w.notification.interaction_id},
    ),
    ("POST", "/api/v1/devices/import"): Case(
        201,
        body=lambda w: f"name,departments\n{unique('Imported')},{w.a.name}\n",
        # Department A by name is unknown on the far side: the row is refused (422).
        outcomes={ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: UNKNOWN_IDS, OUTSIDER: UNKNOWN_IDS},
    ),
    ("GET", "/api/v1/devices/{device_id}/timeline"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        sees=lambda w, actor: {w.device_a.id, w.record.id, w.note.id},
    ),
    # --- documents and photos of devices (A3), default documents of templates (A4) ---
    ("POST", "/api/v1/devices/{device_id}/documents"): Case(
        201,
        path=lambda w: {"device_id": w.device_a.id},
        body=lambda w: Multipart(
            {"title": "Wiring diagram", "public": "true"},
            {"file": ("wiring.pdf", PDF + b"wiring", "application/pdf")},
        ),
    ),
    ("GET", "/api/v1/devices/{device_id}/documents"): Case(
        200, path=lambda w: {"device_id": w.device_a.id}, sees=lambda w, actor: {w.document.id}
    ),
    ("GET", "/api/v1/devices/{device_id}/documents/{document_id}/content"): Case(
        200, path=lambda w: {"device_id": w.device_a.id, "document_id": w.document.id}
    ),
    ("DELETE", "/api/v1/devices/{device_id}/documents/{document_id}"): Case(
        204, path=lambda w: {"device_id": w.device_a.id, "document_id": w.document.id}
    ),
    ("PUT", "/api/v1/devices/{device_id}/photo"): Case(
        200,
        path=lambda w: {"device_id": w.device_a.id},
        body=lambda w: Multipart({}, {"file": ("new.png", PNG + b"new", "image/png")}),
    ),
    ("GET", "/api/v1/devices/{device_id}/photo"): Case(
        200, path=lambda w: {"device_id": w.device_a.id}
    ),
    ("DELETE", "/api/v1/devices/{device_id}/photo"): Case(
        204, path=lambda w: {"device_id": w.device_a.id}
    ),
    ("POST", "/api/v1/templates/{template_id}/documents"): Case(
        201,
        path=lambda w: {"template_id": w.template.id},
        body=lambda w: {"url": "https://example.com/guide", "title": "Guide", "public": True},
        outcomes=ORGANIZATION,
    ),
    ("GET", "/api/v1/templates/{template_id}/documents"): Case(
        200,
        path=lambda w: {"template_id": w.template.id},
        outcomes=ORGANIZATION,
        sees=lambda w, actor: {w.template_document.id},
    ),
    ("GET", "/api/v1/templates/{template_id}/documents/{document_id}/content"): Case(
        200,
        path=lambda w: {"template_id": w.template.id, "document_id": w.template_document.id},
        outcomes=ORGANIZATION,
    ),
    ("DELETE", "/api/v1/templates/{template_id}/documents/{document_id}"): Case(
        204,
        path=lambda w: {"template_id": w.template.id, "document_id": w.template_document.id},
        outcomes=ORGANIZATION,
    ),
    ("POST", "/api/v1/codes"): Case(
        201, body=lambda w: {"count": 2, "departments": [w.a.id]}, outcomes=CREATE_IN_A
    ),
    ("GET", "/api/v1/codes"): Case(
        200,
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {w.paired_a.token, w.unpaired_a.token, w.code_b.token}
                | {c.token for c in w.batch_codes},
                IN_A: {w.paired_a.token, w.unpaired_a.token} | {c.token for c in w.batch_codes},
                IN_B: {w.code_b.token},
                OUTSIDER: set(),
            }
        ),
    ),
    ("GET", "/api/v1/codes/{token}"): Case(
        200, path=lambda w: {"token": w.paired_a.token}, sees=lambda w, actor: {w.device_a.id}
    ),
    ("PATCH", "/api/v1/codes/{token}"): Case(
        200,
        path=lambda w: {"token": w.paired_a.token},
        body=lambda w: {"label": "Relabelled", "pin": "2468"},
    ),
    ("DELETE", "/api/v1/codes/{token}"): Case(204, path=lambda w: {"token": w.paired_a.token}),
    ("POST", "/api/v1/codes/{token}/pair"): Case(
        200,
        path=lambda w: {"token": w.unpaired_a.token},
        body=lambda w: {"device_id": w.device_a.id},
    ),
    ("POST", "/api/v1/codes/{token}/unpair"): Case(200, path=lambda w: {"token": w.paired_a.token}),
    ("GET", "/api/v1/codes/{token}/notifications"): Case(
        200,
        path=lambda w: {"token": w.paired_a.token},
        sees=lambda w, actor: {w.notification.id},
    ),
    ("DELETE", "/api/v1/codes/{token}/notifications"): Case(
        204, path=lambda w: {"token": w.paired_a.token}
    ),
    ("DELETE", "/api/v1/codes/{token}/notifications/{notification_id}"): Case(
        204, path=lambda w: {"token": w.paired_a.token, "notification_id": w.notification.id}
    ),
    ("GET", "/api/v1/codes/{token}/label"): Case(200, path=lambda w: {"token": w.unpaired_a.token}),
    # --- code batches (issue 5): organization-wide like templates; their codes, and so
    # their progress and labels, follow the codes' departments (P5) ---
    ("POST", "/api/v1/batches"): Case(
        201, body=lambda w: {"count": 2, "departments": [w.a.id]}, outcomes=CREATE_IN_A
    ),
    ("GET", "/api/v1/batches"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.batch.id, w.batch.number},
    ),
    ("GET", "/api/v1/batches/{batch_id}"): Case(
        200,
        path=lambda w: {"batch_id": w.batch.id},
        outcomes=ORGANIZATION,
        sees=lambda w, actor: {w.batch.id, w.batch.number},
    ),
    ("POST", "/api/v1/batches/{batch_id}/labels"): Case(
        # As CSV, so that the tokens printed are plain text: B's list has none of A's.
        200,
        path=lambda w: {"batch_id": w.batch.id},
        body=lambda w: {"format": "csv"},
        outcomes=ORGANIZATION,
    ),
    # --- dynamic codes (A14): rules are organization-wide; a scan resolves in scope ---
    ("POST", "/api/v1/dynamic-code-rules"): Case(
        201,
        body=lambda w: {
            "name": unique("Rule"),
            "kind": "regex",
            "pattern": "SN-(?P<serial>[0-9]+)",
            "template_id": w.template.id,
        },
        # Another organization's template is unknown there.
        outcomes={**ORGANIZATION, OUTSIDER: UNKNOWN_IDS},
    ),
    ("GET", "/api/v1/dynamic-code-rules"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.rule.id},
    ),
    ("GET", "/api/v1/dynamic-code-rules/{rule_id}"): Case(
        200, path=lambda w: {"rule_id": w.rule.id}, outcomes=ORGANIZATION
    ),
    ("DELETE", "/api/v1/dynamic-code-rules/{rule_id}"): Case(
        204, path=lambda w: {"rule_id": w.rule.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/scan"): Case(
        # Scanning A's sticker: those who see it get the code and its device; everyone
        # else gets "unknown" (200), and nothing of A.
        200,
        body=lambda w: {"payload": code_url(w.svc.public_url, w.paired_a.token)},
        outcomes=EVERYONE,
        sees=_listing(
            lambda w: {
                ADMIN: {w.paired_a.token, w.device_a.id},
                IN_A: {w.paired_a.token, w.device_a.id},
                IN_B: {"unknown"},
                OUTSIDER: {"unknown"},
            }
        ),
    ),
    # --- Part B: products, licenses, pairing codes and configurations are organization-wide
    # (like templates); a licensed device's configuration follows the device (P5) ---
    ("POST", "/api/v1/products"): Case(
        # The outsider makes one in their own organization.
        201,
        body=lambda w: {"name": unique("New product")},
        outcomes=EVERYONE,
    ),
    ("GET", "/api/v1/products"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.product.id, w.product.name},
    ),
    ("GET", "/api/v1/products/{product_id}"): Case(
        200, path=lambda w: {"product_id": w.product.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/licenses"): Case(
        201, body=lambda w: {"product_id": w.product.id, "count": 2}, outcomes=ORGANIZATION
    ),
    ("GET", "/api/v1/licenses"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.free_license.id, w.licensed_a.id},
    ),
    ("POST", "/api/v1/licenses/{license_id}/pairing-code"): Case(
        201,
        path=lambda w: {"license_id": w.free_license.id},
        body=lambda w: {"ttl_seconds": 120},
        outcomes=ORGANIZATION,
    ),
    ("POST", "/api/v1/pairing-codes"): Case(
        201,
        body=lambda w: {"product_id": w.product.id, "valid_days": 7, "max_uses": 3},
        outcomes=ORGANIZATION,
    ),
    ("GET", "/api/v1/pairing-codes"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.pairing_code.id},
    ),
    ("DELETE", "/api/v1/pairing-codes/{code_id}"): Case(
        204, path=lambda w: {"code_id": w.pairing_code.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/configurations"): Case(
        201,
        body=lambda w: {"product_id": w.product.id, "name": unique("Setup"), "body": {"a": 1}},
        outcomes=ORGANIZATION,
    ),
    ("GET", "/api/v1/configurations"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: (
            set() if actor == OUTSIDER else {w.configuration.id, w.newer_configuration.id}
        ),
    ),
    ("GET", "/api/v1/configurations/{configuration_id}"): Case(
        200, path=lambda w: {"configuration_id": w.configuration.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/configurations/{configuration_id}/assign"): Case(
        # The configuration is the organization's, the device is A's: B gets 404.
        200,
        path=lambda w: {"configuration_id": w.newer_configuration.id},
        body=lambda w: {"device_ids": [w.licensed_a.id]},
    ),
    # --- Part C: enrollments follow their departments (P5) ---
    ("POST", "/api/v1/enrollments"): Case(
        201,
        body=lambda w: {
            "serial": unique("SN").replace(" ", "-"),
            "access_key": "a-new-access-key",
            "kind": "direct",
            "departments": [w.a.id],
        },
        outcomes=CREATE_IN_A,
    ),
    ("GET", "/api/v1/enrollments"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: (
            {w.node_a.id, w.failed_a.id, w.gateway_a.id} if actor in (ADMIN, IN_A) else set()
        ),
    ),
    ("GET", "/api/v1/enrollments/{enrollment_id}"): Case(
        200, path=lambda w: {"enrollment_id": w.failed_a.id}
    ),
    ("DELETE", "/api/v1/enrollments/{enrollment_id}"): Case(
        200, path=lambda w: {"enrollment_id": w.node_a.id}
    ),
    ("POST", "/api/v1/enrollments/{enrollment_id}/retry"): Case(
        200, path=lambda w: {"enrollment_id": w.failed_a.id}
    ),
    ("POST", "/api/v1/enrollments/{enrollment_id}/complete"): Case(
        200,
        path=lambda w: {"enrollment_id": w.node_a.id},
        body=lambda w: {"capabilities": {"sensor": "co2"}},
    ),
    ("GET", "/api/v1/nearby"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: {w.nearby_serial} if actor in (ADMIN, IN_A) else set(),
    ),
    ("POST", "/api/v1/enrollments/batch"): Case(
        # A node of A's gateway: outside A the gateway is unknown, and nothing is applied.
        200,
        body=lambda w: (
            "serial,access_key,kind,gateway_id\n"
            f"{unique('BATCH').replace(' ', '-')},a-batch-access-key,node,{w.gateway_a.id}\n"
        ),
        outcomes={ADMIN: ALLOWED, IN_A: ALLOWED, IN_B: UNKNOWN_IDS, OUTSIDER: UNKNOWN_IDS},
    ),
    ("POST", "/api/v1/enrollments/label"): Case(
        # Reading a label is the organization's; the serial's enrollment shows inside A.
        200,
        body=lambda w: {"payload": f"{w.node_a.serial}:any-access-key"},
        outcomes=EVERYONE,
        sees=lambda w, actor: {w.node_a.id} if actor in (ADMIN, IN_A) else set(),
    ),
    ("PUT", "/api/v1/enrollments/{enrollment_id}/photo"): Case(
        200,
        path=lambda w: {"enrollment_id": w.failed_a.id},
        body=lambda w: Multipart({}, {"file": ("site.png", PNG + b"site", "image/png")}),
    ),
    ("GET", "/api/v1/gateways"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: {w.gateway_a.id} if actor in (ADMIN, IN_A) else set(),
    ),
    ("GET", "/api/v1/gateways/{gateway}/nearby"): Case(
        200,
        path=lambda w: {"gateway": w.gateway_a.device_id or ""},
        sees=lambda w, actor: {w.nearby_serial},
    ),
    ("PUT", "/api/v1/devices/{device_id}/configuration"): Case(
        200,
        path=lambda w: {"device_id": w.licensed_a.id},
        body=lambda w: {"configuration_id": w.newer_configuration.id},
        sees=lambda w, actor: {w.licensed_a.id, w.licensed_a.name},
    ),
    # --- Part D: environments are the platform's (P2); provisioning groups, their
    # registrations and batches are organization-wide (like templates); a provisioned
    # device follows its departments (P5) ---
    ("GET", "/api/v1/environments"): Case(
        200, outcomes=EVERYONE, sees=lambda w, actor: {w.environment.name}
    ),
    ("POST", "/api/v1/provisioning-groups"): Case(
        201,
        body=lambda w: {
            "group_id": provisioning_.group_id(),
            "name": unique("New group"),
            "environments": [w.environment.name],
            "departments": [w.a.id],
        },
        outcomes=CREATE_IN_A,
    ),
    ("GET", "/api/v1/provisioning-groups"): Case(
        200,
        outcomes=EVERYONE,
        sees=lambda w, actor: set() if actor == OUTSIDER else {w.group.id, w.group.group_id},
    ),
    ("GET", "/api/v1/provisioning-groups/{group}"): Case(
        200,
        path=lambda w: {"group": w.group.group_id},
        outcomes=ORGANIZATION,
        sees=lambda w, actor: {w.group.id, w.environment.name},
    ),
    ("PUT", "/api/v1/provisioning-groups/{group}"): Case(
        200,
        path=lambda w: {"group": w.group.id},
        body=lambda w: {"name": unique("Renamed group"), "environments": [w.environment.name]},
        outcomes=ORGANIZATION,
    ),
    ("PATCH", "/api/v1/provisioning-groups/{group}"): Case(
        200,
        path=lambda w: {"group": w.group.group_id},
        body=lambda w: {"name": unique("Renamed group"), "mode": "open"},
        outcomes=ORGANIZATION,
    ),
    ("POST", "/api/v1/provisioning-groups/{group}/rotate-secret"): Case(
        200, path=lambda w: {"group": w.group.group_id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/provisioning-groups/{group}/secret/rotate"): Case(
        200, path=lambda w: {"group": w.group.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/provisioning-groups/{group}/finish-rotation"): Case(
        200, path=lambda w: {"group": w.group.group_id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/provisioning-groups/{group}/secret/finish-rotation"): Case(
        200, path=lambda w: {"group": w.group.id}, outcomes=ORGANIZATION
    ),
    ("POST", "/api/v1/provisioning-groups/{group}/registrations"): Case(
        200,
        path=lambda w: {"group": w.group.group_id},
        body=lambda w: f"serial,site\n{unique('REG').replace(' ', '-')},north\n",
        outcomes=ORGANIZATION,
    ),
    ("GET", "/api/v1/provisioning-groups/{group}/registrations"): Case(
        # A registration names its twin by id to the organization, like a license row (B2).
        200,
        path=lambda w: {"group": w.group.id},
        outcomes=ORGANIZATION,
        sees=lambda w, actor: {w.spare_serial, w.new_serial, w.provisioned_a.id},
    ),
    ("PATCH", "/api/v1/provisioning-groups/{group}/registrations/{serial}"): Case(
        200,
        path=lambda w: {"group": w.group.group_id, "serial": w.spare_serial},
        body=lambda w: {"enabled": False},
        outcomes=ORGANIZATION,
    ),
    ("POST", "/api/v1/devices/{device_id}/replace"): Case(
        # D7 on a device of A: B does not find it; the new serial is the organization's.
        200,
        path=lambda w: {"device_id": w.provisioned_a.id},
        body=lambda w: {"serial": w.new_serial},
        sees=lambda w, actor: {w.provisioned_a.id, w.new_serial},
    ),
    ("POST", "/api/v1/onboard"): Case(
        # D5: A's label scanned by each; the group lets its own organization claim (the twin
        # goes to the member's departments), not another (claim_not_allowed).
        200,
        body=lambda w: {"payload": _label(w, w.spare_serial), "name": unique("Claimed")},
        outcomes={**ORGANIZATION, OUTSIDER: FORBIDDEN},
    ),
    ("GET", "/api/v1/devices/{device_id}/provisioning"): Case(
        # D4-D7 of a device of A: its group, registration and environment; B does not find it.
        200,
        path=lambda w: {"device_id": w.provisioned_a.id},
        sees=lambda w, actor: {w.provisioned_a.id, w.group.group_id},
    ),
    ("POST", "/api/v1/devices/{device_id}/reprovision"): Case(
        # D6 on a device of A, within its organization, to its group's other environment.
        200,
        path=lambda w: {"device_id": w.provisioned_a.id},
        body=lambda w: {"environment": w.other_environment.name},
        sees=lambda w, actor: {w.provisioned_a.id},
    ),
}


def _label(world: World, serial: str) -> str:
    """What the onboarding label of ``serial`` in the world's group holds (D5)."""
    code = claim_code(world.group_secret, serial)
    return onboarding.label_url(world.svc.public_url, world.group.group_id, serial, code)


def _strings(value: Any) -> set[str]:
    """Every string anywhere in a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return {found for item in value for found in _strings(item)}
    return set()


def _routes_of(routes: Any) -> set[tuple[str, str]]:
    return {
        # As the OpenAPI document names it: {serial}, not {serial:path}.
        (method, route.path_format)
        for route in iter_route_contexts(routes)
        if route.path_format.startswith("/api/v1/")
        for method in (route.methods or ())
        if method != "HEAD"
    } - NOT_TENANT_DATA


# Collected from the API's router, so that a new route shows up here as a failing case.
ROUTES = sorted(_routes_of(api_router().routes) | set(CASES))


def test_every_route_of_the_application_has_a_case_in_the_matrix(client: TestClient) -> None:
    app = client.app
    document = client.get("/api/v1/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    served = _routes_of(app.routes) | (documented - NOT_TENANT_DATA)

    missing = sorted(served - set(CASES))
    stale = sorted(set(CASES) - served)

    assert not missing, (
        "These routes have no isolation case; add one to CASES in "
        f"tests/integration/test_isolation_matrix.py: {missing}"
    )
    assert not stale, f"CASES names routes the application no longer has: {stale}"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_route_serves_each_member_only_inside_their_organization_and_departments(
    world: World, route: tuple[str, str], actor: str
) -> None:
    method, template = route
    case = CASES.get(route)
    if case is None:
        pytest.fail(
            f"{method} {template} has no isolation case: add one to CASES saying how to aim "
            "it at department A of organization 1 and what each member must get."
        )
    path = template.format(**case.path(world))
    body = case.body(world) if case.body else None
    expected = case.outcomes[actor] or frozenset({case.ok})
    far_side = world.hidden_from(actor)
    if case.personal:
        far_side |= {t for other, ids in world.token_ids.items() if other != actor for t in ids}
    # What the caller sends may come back in a refusal's detail; that is no leak.
    sent = path + json.dumps(body or {}, default=repr)
    far_side = {value for value in far_side if value not in sent}
    before = _rows(world.engine)

    answer = world.call(actor, method, path, body)

    told = f"{method} {path} by {WHO[actor]}"
    assert answer.status_code in expected, (
        f"{told}: {answer.status_code} {answer.text}, expected {sorted(expected)}"
    )
    after = _rows(world.engine)
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["code"] in REFUSALS
        assert after == before, f"{told} was refused but changed the database"
    leaked = sorted(value for value in far_side if value in answer.text)
    assert not leaked, f"{told} shows what is not theirs: {leaked}"
    assert _mentioning(after, far_side) == _mentioning(before, far_side), (
        f"{told} changed records beyond the member's reach"
    )
    if case.sees is not None and answer.status_code == 200:
        missing = sorted(case.sees(world, actor) - _strings(answer.json()))
        assert not missing, f"{told} does not show what they may see: {missing}"


# --- codes go where their device is (A8) -------------------------------------------------


def test_a_code_of_b_paired_with_a_device_of_a_is_out_of_b_reach_until_unpaired(
    world: World,
) -> None:
    (code,) = codes.create_codes(world.svc, world.org.actor, departments=[world.b.id])
    token = code.token
    pairing.pair_code(world.svc, world.org.actor, token, world.device_a.id)
    before = _rows(world.engine)
    attempts = [
        ("GET", f"/api/v1/codes/{token}", None),
        ("PATCH", f"/api/v1/codes/{token}", {"label": "Mine"}),
        ("POST", f"/api/v1/codes/{token}/unpair", None),
        ("GET", f"/api/v1/codes/{token}/notifications", None),
        ("DELETE", f"/api/v1/codes/{token}/notifications", None),
        ("DELETE", f"/api/v1/codes/{token}", None),
    ]

    for method, url, body in attempts:
        answer = world.call(IN_B, method, url, body)
        assert answer.status_code == 404, f"{method} {url}: {answer.status_code} {answer.text}"
    for query in ("", f"?department={world.b.id}", f"?q={token}", "?paired=true"):
        listed = world.call(IN_B, "GET", f"/api/v1/codes{query}").json()["items"]
        assert token not in {c["token"] for c in listed}, query
    assert _rows(world.engine) == before
    seen_by_a = world.call(IN_A, "GET", f"/api/v1/codes?department={world.a.id}").json()
    assert token in {c["token"] for c in seen_by_a["items"]}

    assert world.call(IN_A, "POST", f"/api/v1/codes/{token}/unpair").status_code == 200

    assert world.call(IN_B, "GET", f"/api/v1/codes/{token}").json()["departments"] == [world.b.id]
    assert world.call(IN_A, "GET", f"/api/v1/codes/{token}").status_code == 404


def test_b_cannot_pair_its_codes_or_devices_with_those_of_a(world: World) -> None:
    before = _rows(world.engine)
    attempts = [
        (f"/api/v1/codes/{world.unpaired_a.token}/pair", {"device_id": world.device_b.id}),
        (f"/api/v1/codes/{world.code_b.token}/pair", {"device_id": world.device_a.id}),
        (f"/api/v1/devices/{world.device_b.id}/codes", {"code": world.unpaired_a.token}),
        (f"/api/v1/devices/{world.device_a.id}/codes", {"code": world.code_b.token}),
        (f"/api/v1/codes/{world.code_b.token}/pair", {"new_device": {
            "name": "Sneaky", "departments": [world.a.id]}}),
    ]  # fmt: skip

    for url, body in attempts:
        answer = world.call(IN_B, "POST", url, body)
        assert answer.status_code in (403, 404), f"{url}: {answer.status_code} {answer.text}"
        assert answer.json()["code"] in {"not_found", "department_forbidden"}
    assert _rows(world.engine) == before


# --- code batches (issue 5) ---------------------------------------------------------------


def test_a_batch_of_a_is_seen_by_b_with_none_of_its_codes_and_prints_none_of_them(
    world: World,
) -> None:
    """P5 on batches: the batch is the organization's, its codes are A's; B sees it with
    no codes and no progress, and a print run by B writes no label and notes nothing."""
    url = f"/api/v1/batches/{world.batch.id}"
    progress = {
        actor: world.call(actor, "GET", url).json()["progress"] for actor in (ADMIN, IN_A, IN_B)
    }
    listed = world.call(IN_B, "GET", "/api/v1/batches").json()["items"]
    before = _rows(world.engine)

    runs = {
        kind: world.call(IN_B, "POST", f"{url}/labels", {"format": kind})
        for kind in ("csv", "zpl", "pdf")
    }

    assert progress[ADMIN] == progress[IN_A] == {"codes": 2, "printed": 0, "paired": 0}
    assert progress[IN_B] == {"codes": 0, "printed": 0, "paired": 0}
    assert [b["progress"]["codes"] for b in listed if b["id"] == world.batch.id] == [0]
    assert all(answer.status_code == 200 for answer in runs.values())
    assert runs["csv"].text.splitlines() == ["token,url,batch"]
    assert "^XA" not in runs["zpl"].text
    (page,) = pypdfium2.PdfDocument(runs["pdf"].content)
    assert page.get_textpage().get_text_range().strip() == ""
    assert _rows(world.engine) == before, "B's print runs noted codes of A as printed"

    printed_by_a = world.call(IN_A, "POST", f"{url}/labels", {"format": "csv"})

    tokens = [line.split(",")[0] for line in printed_by_a.text.splitlines()[1:]]
    assert sorted(tokens) == sorted(c.token for c in world.batch_codes)
    assert world.call(ADMIN, "GET", url).json()["progress"]["printed"] == 2
    assert world.call(IN_B, "GET", url).json()["progress"]["printed"] == 0
    assert world.call(OUTSIDER, "GET", url).status_code == 404
    assert world.call(OUTSIDER, "POST", f"{url}/labels", {"format": "csv"}).status_code == 404


def test_b_cannot_add_codes_to_a_batch_in_a_departments_or_label_a_codes(world: World) -> None:
    """P5: a member of B makes batches only in B, and one code's label is only for those
    who see the code."""
    before = _rows(world.engine)

    in_a = world.call(IN_B, "POST", "/api/v1/batches", {"count": 1, "departments": [world.a.id]})
    label = world.call(IN_B, "GET", f"/api/v1/codes/{world.unpaired_a.token}/label")

    assert in_a.status_code == 403, in_a.text
    assert in_a.json()["code"] == "department_forbidden"
    assert label.status_code == 404
    assert _rows(world.engine) == before
    own = world.call(IN_B, "POST", "/api/v1/batches", {"count": 1}).json()
    assert world.call(IN_A, "GET", f"/api/v1/batches/{own['id']}").json()["progress"] == {
        "codes": 0, "printed": 0, "paired": 0,
    }  # fmt: skip


# --- roles -------------------------------------------------------------------------------


def _member_token(
    world: World, roles: list[str], departments: list[str] | None = None, *, name: str = ""
) -> str:
    actor = name or ",".join(roles)
    member = make_member(world.svc, world.org, roles=roles, departments=departments)
    world.members[actor] = member
    token = create_token(world.svc, member_actor(member), name="roles").secret
    world.tokens[actor] = token
    return actor


CREATIONS = {
    "department": ("/api/v1/departments", lambda w: {"name": unique("Dept")}),
    "member": (
        "/api/v1/members",
        lambda w: {"email": f"{unique('m').replace(' ', '-')}@example.com", "roles": ["viewer"]},
    ),
    "customer": ("/api/v1/customers", lambda w: {"name": unique("Customer")}),
}


@pytest.mark.parametrize("what", sorted(CREATIONS))
@pytest.mark.parametrize("role", ["viewer", "technician", "iot_manager"])
def test_viewers_technicians_and_iot_managers_cannot_create_departments_members_or_customers(
    world: World, role: str, what: str
) -> None:
    actor = _member_token(world, [role])
    url, body = CREATIONS[what]
    before = _rows(world.engine)

    answer = world.call(actor, "POST", url, body(world))

    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "permission_denied"
    assert _rows(world.engine) == before


def test_a_device_manager_manages_customers_but_not_members_or_departments(world: World) -> None:
    actor = _member_token(world, ["device_manager"])

    created = world.call(actor, "POST", "/api/v1/customers", {"name": unique("Customer")})
    assert created.status_code == 201, created.text
    customer = created.json()["id"]
    renamed = world.call(actor, "PATCH", f"/api/v1/customers/{customer}", {"name": "Renamed"})
    user = world.call(
        actor, "POST", f"/api/v1/customers/{customer}/users", {"email": "dm-user@example.com"}
    )
    assert (renamed.status_code, user.status_code) == (200, 201), (renamed.text, user.text)
    removed = world.call(actor, "DELETE", f"/api/v1/customers/{customer}/users/{user.json()['id']}")
    deleted = world.call(actor, "DELETE", f"/api/v1/customers/{customer}")
    assert (removed.status_code, deleted.status_code) == (204, 204)

    for url, body in (CREATIONS["member"], CREATIONS["department"]):
        refused = world.call(actor, "POST", url, body(world))
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "permission_denied"


@pytest.mark.parametrize("export", ["json", "csv"])
@pytest.mark.parametrize(
    ("role", "reads"),
    [
        ("administrator", True),
        ("viewer", True),
        ("device_manager", False),
        ("iot_manager", False),
        ("technician", False),
    ],
)
def test_only_administrators_and_viewers_read_the_audit_log(
    world: World, role: str, reads: bool, export: str
) -> None:
    actor = _member_token(world, [role])

    answer = world.call(actor, "GET", f"/api/v1/audit?format={export}")

    if reads:
        assert answer.status_code == 200, answer.text
        assert world.customer_a.id in answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "permission_denied"
        assert world.customer_a.id not in answer.text


# --- the audit log and counts ------------------------------------------------------------


def _change_department_a(world: World) -> set[str]:
    """The Administrator changes things of department A; returns the targets touched."""
    calls = [
        ("PATCH", f"/api/v1/departments/{world.a.id}", {"name": unique("Renamed A")}),
        ("PATCH", f"/api/v1/customers/{world.customer_a.id}", {"name": unique("Renamed")}),
        ("PATCH", f"/api/v1/members/{world.member_a.id}", {"roles": ["technician"]}),
    ]
    for method, url, body in calls:
        assert world.call(ADMIN, method, url, body).status_code == 200
    return {world.a.id, world.customer_a.id, world.member_a.id}


def _csv_targets(text: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [row["target_id"] for row in rows]


def test_audit_entries_of_department_a_changes_are_invisible_to_a_department_b_member(
    world: World,
) -> None:
    touched = _change_department_a(world)
    viewer_of_b = _member_token(world, ["viewer"], departments=[world.b.id])

    for actor in (IN_B, viewer_of_b):
        entries = world.call(actor, "GET", "/api/v1/audit?limit=200").json()["items"]
        by_target = world.call(actor, "GET", f"/api/v1/audit?target={world.customer_a.id}")
        renamed = world.call(actor, "GET", "/api/v1/audit?action=department.renamed")

        assert entries, "a member of B sees the entries of B"
        assert not touched & {e["target"]["id"] for e in entries}
        assert by_target.json()["items"] == []
        assert renamed.json()["items"] == []
    seen_by_a = world.call(IN_A, "GET", "/api/v1/audit?limit=200").json()["items"]
    assert touched <= {e["target"]["id"] for e in seen_by_a}


def test_the_audit_csv_export_obeys_the_same_scope(world: World) -> None:
    touched = _change_department_a(world)

    exports = {actor: world.call(actor, "GET", "/api/v1/audit?format=csv") for actor in ACTORS}

    for answer in exports.values():
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
    targets = {actor: _csv_targets(answer.text) for actor, answer in exports.items()}
    assert touched <= set(targets[ADMIN])
    assert touched <= set(targets[IN_A])
    assert not touched & set(targets[IN_B])
    assert world.customer_b.id in targets[IN_B]
    assert not world.whole_organization() & set(targets[OUTSIDER])
    for actor in (IN_A, IN_B, OUTSIDER):
        leaked = sorted(v for v in world.hidden_from(actor) if v in exports[actor].text)
        assert not leaked, f"the CSV export of {WHO[actor]} shows {leaked}"
    # The export and the JSON pages list the same entries.
    listed = world.call(IN_B, "GET", "/api/v1/audit?limit=200").json()["items"]
    assert targets[IN_B] == [e["target"]["id"] for e in listed]


def test_counts_include_only_what_the_member_may_see(world: World) -> None:
    def counts(actor: str) -> dict[str, int]:
        return dashboard.dashboard_counts(world.svc, member_actor(world.members[actor]))

    # Devices: A's and B's, the handheld of A (Part B), the twin of A's gateway (Part C)
    # and the meter of A (Part D).
    assert counts(ADMIN) | {"audit_entries": 0} == {
        "codes": 5, "devices": 5, "members": 5, "departments": 3, "customers": 2,
        "audit_entries": 0,
    }  # fmt: skip
    assert (counts(IN_B)["codes"], counts(IN_B)["devices"]) == (1, 1)
    assert (counts(OUTSIDER)["codes"], counts(OUTSIDER)["devices"]) == (0, 0)
    assert counts(IN_B)["members"] == 2  # itself and the viewer of B
    assert (counts(IN_B)["departments"], counts(IN_B)["customers"]) == (1, 1)
    assert (counts(OUTSIDER)["members"], counts(OUTSIDER)["customers"]) == (1, 0)
    assert counts(OUTSIDER)["departments"] == 0
    assert counts(IN_B)["audit_entries"] < counts(ADMIN)["audit_entries"]


# --- provisioning (Part D) ---------------------------------------------------------------

# What a member who manages provisioning writes (D1, D3), aimed at the world's group:
# method, path, body and success status.
PROVISIONING_WRITES: dict[str, tuple[str, Callable[[World], str], Callable[[World], Body], int]] = {
    "create a group": (
        "POST",
        lambda w: "/api/v1/provisioning-groups",
        lambda w: {"group_id": provisioning_.group_id(), "name": unique("Meters")},
        201,
    ),
    "replace a group's settings": (
        "PUT",
        lambda w: f"/api/v1/provisioning-groups/{w.group.id}",
        lambda w: {"name": unique("Renamed"), "environments": [w.environment.name]},
        200,
    ),
    "change a group's settings": (
        "PATCH",
        lambda w: f"/api/v1/provisioning-groups/{w.group.group_id}",
        lambda w: {"mode": "open"},
        200,
    ),
    "rotate a group's secret": (
        "POST",
        lambda w: f"/api/v1/provisioning-groups/{w.group.group_id}/rotate-secret",
        lambda w: {},
        200,
    ),
    "finish a rotation": (
        "POST",
        lambda w: f"/api/v1/provisioning-groups/{w.group.group_id}/finish-rotation",
        lambda w: {},
        200,
    ),
    "register serials": (
        "POST",
        lambda w: f"/api/v1/provisioning-groups/{w.group.group_id}/registrations",
        lambda w: f"serial\n{unique('REG').replace(' ', '-')}\n",
        200,
    ),
    "disable a registration": (
        "PATCH",
        lambda w: f"/api/v1/provisioning-groups/{w.group.id}/registrations/{w.spare_serial}",
        lambda w: {"enabled": False},
        200,
    ),
}


@pytest.mark.parametrize("what", sorted(PROVISIONING_WRITES))
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", False),
        ("technician", False),
        ("device_manager", False),
        ("iot_manager", True),
        ("administrator", True),
    ],
)
def test_only_iot_managers_and_administrators_manage_provisioning_groups_and_registrations(
    world: World, role: str, allowed: bool, what: str
) -> None:
    """§0, D1, D3: groups and registrations are written by members who manage provisioning
    (IoT Managers, Administrators); everyone else reads them and is refused a change
    (403 permission_denied), which changes nothing."""
    actor = _member_token(world, [role])
    method, path, body, ok = PROVISIONING_WRITES[what]
    if what == "finish a rotation":  # one under way, so that finishing it changes something
        groups.rotate_group_secret(world.svc, world.org.actor, world.group.id)
    before = _rows(world.engine)

    answer = world.call(actor, method, path(world), body(world))

    if allowed:
        assert answer.status_code == ok, answer.text
        assert _rows(world.engine) != before
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "permission_denied"
        assert _rows(world.engine) == before
        read = world.call(actor, "GET", f"/api/v1/provisioning-groups/{world.group.id}")
        assert read.status_code == 200, "every member reads the organization's groups"


def test_environments_are_read_by_every_member_and_written_by_the_operator_alone(
    world: World,
) -> None:
    """P2: environments are the platform's: every member of every organization lists the
    same ones, and the members' API offers no way to make, change or remove one (the
    operator does, from the CLI)."""
    listed = {actor: world.call(actor, "GET", "/api/v1/environments") for actor in ACTORS}
    before = _rows(world.engine)
    name = world.environment.name
    attempts = [
        ("POST", "/api/v1/environments", {"name": "rogue", "api_url": "https://x.example.com",
                                          "mqtt_url": "mqtts://x.example.com"}),
        ("PATCH", f"/api/v1/environments/{name}", {"status": "down"}),
        ("PUT", f"/api/v1/environments/{name}", {"status": "down"}),
        ("DELETE", f"/api/v1/environments/{name}", None),
    ]  # fmt: skip

    refused = [world.call(ADMIN, method, url, body) for method, url, body in attempts]

    names = {actor: [e["name"] for e in answer.json()] for actor, answer in listed.items()}
    assert name in names[ADMIN]
    assert names[ADMIN] == names[IN_A] == names[IN_B] == names[OUTSIDER]
    assert [answer.status_code for answer in refused] == [405, 404, 404, 404]
    assert _rows(world.engine) == before


def test_another_organization_cannot_derive_keys_of_rotate_or_read_the_secret_of_a_group(
    world: World,
) -> None:
    """D1, D2, P1: a group's secret and the device keys derived from it never reach another
    organization, whether it asks by the group's public id or its record id."""
    outsider = member_actor(world.other.admin)
    before = _rows(world.engine)

    for ref in (world.group.group_id, world.group.id):
        with pytest.raises(NotFound):
            list(groups.derive_keys(world.svc, outsider, ref, lambda: [world.spare_serial]))
        for method, url in [
            ("GET", f"/api/v1/provisioning-groups/{ref}"),
            ("POST", f"/api/v1/provisioning-groups/{ref}/rotate-secret"),
            ("POST", f"/api/v1/provisioning-groups/{ref}/secret/rotate"),
            ("POST", f"/api/v1/provisioning-groups/{ref}/finish-rotation"),
            ("GET", f"/api/v1/provisioning-groups/{ref}/registrations"),
        ]:
            answer = world.call(OUTSIDER, method, url)
            assert answer.status_code == 404, f"{method} {url}: {answer.text}"
            assert world.group.name not in answer.text
        assert world.group.id not in world.call(OUTSIDER, "GET", "/api/v1/provisioning-groups").text

    assert _rows(world.engine) == before, "the group's secret was not rotated, nothing audited"
    # The organization's own member derives the key its devices were burned with.
    (key,) = groups.derive_keys(
        world.svc, world.org.actor, world.group.id, lambda: [world.spare_serial]
    )
    assert key.device_key == provisioning_.key_of(world.group_secret, world.spare_serial)


def test_another_organization_cannot_claim_a_device_of_a_group_that_does_not_allow_it(
    world: World,
) -> None:
    """D5: the whole label (a valid claim code) is not enough: a group's devices are
    onboarded into its own organization, or one it allows; another is refused
    (claim_not_allowed, 403) and nothing changes, until the group allows it."""
    outsider = member_actor(world.other.admin)
    code = claim_code(world.group_secret, world.spare_serial)
    claim = (world.group.group_id, world.spare_serial, code)
    before = _rows(world.engine)

    with pytest.raises(ClaimNotAllowed):
        onboarding.claim_offer(world.svc, outsider, *claim)
    with pytest.raises(ClaimNotAllowed):
        onboarding.claim_device(world.svc, outsider, *claim, name="Mine now")

    scanned = world.call(
        OUTSIDER, "POST", "/api/v1/onboard", {"payload": _label(world, world.spare_serial)}
    )
    assert scanned.status_code == 403, scanned.text
    assert scanned.json()["code"] == "claim_not_allowed"
    assert _rows(world.engine) == before
    groups.change_group(
        world.svc, world.org.actor, world.group.id, {"claimants": (world.other.organization.id,)}
    )
    twin = onboarding.claim_device(world.svc, outsider, *claim, name="Mine now")
    assert twin.organization_id == world.other.organization.id
    with pytest.raises(AlreadyOnboarded):
        onboarding.claim_offer(world.svc, world.org.actor, *claim)


def test_a_member_of_department_b_cannot_replace_a_device_of_department_a(world: World) -> None:
    """D7, P5: replacing hardware is an edit of the device: a member restricted to
    department B does not find A's device (404), whatever their roles, and nothing
    changes; a Viewer of A may not edit it (403); a Technician of A replaces it."""
    technician_b = _member_token(world, ["technician"], [world.b.id], name="technician of B")
    viewer_a = _member_token(world, ["viewer"], [world.a.id], name="viewer of A")
    technician_a = _member_token(world, ["technician"], [world.a.id], name="technician of A")
    url = f"/api/v1/devices/{world.provisioned_a.id}/replace"
    body = {"serial": world.new_serial}
    before = _rows(world.engine)

    refused = {
        actor: world.call(actor, "POST", url, body) for actor in (IN_B, technician_b, OUTSIDER)
    }
    by_viewer = world.call(viewer_a, "POST", url, body)

    for actor, answer in refused.items():
        assert answer.status_code == 404, (actor, answer.text)
        assert answer.json()["code"] == "not_found"
        assert world.provisioned_a.name not in answer.text
    assert by_viewer.status_code == 403, by_viewer.text
    assert by_viewer.json()["code"] == "permission_denied"
    assert _rows(world.engine) == before
    replaced = world.call(technician_a, "POST", url, body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["serial"] == world.new_serial
    assert replaced.json()["id"] == world.provisioned_a.id
