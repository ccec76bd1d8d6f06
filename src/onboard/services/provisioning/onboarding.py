"""QR onboarding (SPEC D5): a provisioning group's onboarding labels made in numbered
batches of its registered serials, each label's QR holding the device's onboarding URL
with its claim code; a member scanning one onboards the device into their organization
(when the group allows it) with a name and location; and each batch's progress (labels
printed, devices onboarded, devices activated).

A claimed device gets its twin here, linked to its registration: when the device later
activates (D4), it activates into that twin.

Labels print the onboarding URL in upper case (the QR's alphanumeric mode, as code
stickers do, A2): the path's group id is read case-insensitively (group ids are lower
case), the claim code is upper case already, and a serial is written with every
character but A-Z, 0-9, "-" and "." percent-encoded, so that upper-casing the URL keeps
it exactly."""

from __future__ import annotations

import hmac
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.devices import Device, DeviceStatus, Location, check_location
from onboard.domain.enrollment import check_serial
from onboard.domain.errors import (
    AlreadyOnboarded,
    ClaimNotAllowed,
    Conflict,
    Invalid,
    NotFound,
    NothingToLabel,
    NotRegistered,
    RateLimited,
    RegistrationDisabled,
)
from onboard.domain.provisioning import (
    ProvisioningGroup,
    Registration,
    RegistrationMode,
    claim_code,
    onboarding_url,
)
from onboard.domain.values import require_name
from onboard.services.batches import LabelText
from onboard.services.common import ATTEMPT_WINDOW_SECONDS, count_attempt, device_target
from onboard.services.devices import device_snapshot
from onboard.services.documents import copy_template_documents
from onboard.services.ports import (
    OnboardingBatch,
    OnboardingTally,
    Services,
    UnitOfWork,
)
from onboard.services.provisioning.groups import find_group, group_secrets

# A batch labels at most this many serials: its PDF prints in seconds (§7: 10,000 labels
# in 10 s), and a larger run is several batches.
MAX_BATCH = 100_000
# Serials read per query while labels are drawn.
PRINT_PAGE = 1_000
# D5, §7: wrong claim codes per source address a minute; beyond, 429 for a minute.
CLAIM_FAILURES = 20
INSTRUCTION = "Scan to onboard this device"


# --- onboarding URLs ----------------------------------------------------------------------

_KEPT = frozenset(string.ascii_uppercase + string.digits + "-.")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def path_serial(serial: str) -> str:
    """A serial as an onboarding URL's path carries it: what upper-casing or a path
    separator would change, percent-encoded (UTF-8)."""
    return "".join(
        char if char in _KEPT else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in serial
    )


@dataclass(frozen=True)
class OnboardingLink:
    """What an onboarding label's URL names (D5)."""

    group_id: str
    serial: str
    code: str

    @property
    def path(self) -> str:
        """The onboarding page on this server."""
        return f"/o/{self.group_id}/{path_serial(self.serial)}/{self.code}"


def label_url(public_url: str, group_id: str, serial: str, code: str) -> str:
    """D5: what a label's QR holds: ``{PUBLIC_URL}/o/{group_id}/{serial}/{claim_code}``."""
    return onboarding_url(public_url, group_id, path_serial(serial), code)


def link_from_path(group_id: str, rest: str) -> OnboardingLink | None:
    """The link of an onboarding page's path: the group id, then the (decoded) serial and
    the code, the serial being everything between them (it may hold a "/")."""
    serial, _, code = rest.strip("/").rpartition("/")
    if not group_id or not serial or not code:
        return None
    return OnboardingLink(group_id.strip().lower(), serial, code.strip().upper())


def onboarding_link(public_url: str, payload: str) -> OnboardingLink | None:
    """The onboarding link in a scanned payload: an onboarding URL of this server (any
    case, http or https, ``/o/`` or ``/O/``); None for anything else."""
    text = _SCHEME.sub("", payload.strip(), count=1)
    base = _SCHEME.sub("", public_url.rstrip("/"), count=1).lower() + "/o/"
    if not text.lower().startswith(base):
        return None
    rest = text[len(base) :].split("?", 1)[0].split("#", 1)[0].strip("/")
    group_id, _, tail = rest.partition("/")
    encoded, _, code = tail.rpartition("/")
    return link_from_path(group_id, f"{unquote(encoded)}/{code}") if encoded else None


# --- batches of labels --------------------------------------------------------------------


@dataclass(frozen=True)
class BatchProgress:
    """A batch and how far its devices have come (D5): labels printed (the batch's size),
    devices onboarded (a twin, by a claim or an activation) and activated."""

    batch: OnboardingBatch
    tally: OnboardingTally = field(default_factory=OnboardingTally)

    @property
    def printed(self) -> int:
        return self.batch.size

    @property
    def onboarded(self) -> int:
        return self.tally.onboarded

    @property
    def activated(self) -> int:
        return self.tally.activated


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BATCH:
        raise Invalid(
            f"A batch has 1 to {MAX_BATCH:,} labels.",
            fields={"count": f"a whole number from 1 to {MAX_BATCH:,}"},
        )
    return count


def create_onboarding_batch(
    svc: Services, actor: Actor, group_ref: str, count: int
) -> OnboardingBatch:
    """D5: the group's next ``count`` enabled registrations in no batch yet (by serial) in
    a new batch, numbered 1, 2, ... per group. When fewer are left the batch takes those;
    when none is, NothingToLabel and no batch is made. Members who manage provisioning
    make batches."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    wanted = _count(count)
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        uow.onboarding_batches.hold_group(group.id)
        number = uow.onboarding_batches.next_number(group.id)
        batch = OnboardingBatch(
            svc.ids.new(), group.organization_id, group.id, number, wanted, svc.clock.now()
        )
        uow.onboarding_batches.add(batch)
        size = uow.onboarding_batches.fill(batch.id, group.id, wanted)
        if size == 0:
            raise NothingToLabel(
                f"Every enabled serial of group {group.group_id} is in a batch already; "
                "register more serials first.",
                fields={"count": "no serial left to label"},
            )
        if size < wanted:
            uow.onboarding_batches.set_size(batch.id, size)
            batch = replace(batch, size=size)
        uow.record(
            actor,
            Change(
                "onboarding_batch.created",
                Target("onboarding_batch", batch.id),
                after={"group_id": group.group_id, "number": number, "size": size},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return batch


def batch_progress(svc: Services, actor: Actor, group_ref: str) -> list[BatchProgress]:
    """D5: the group's batches, newest first, each with its labels printed, devices
    onboarded and devices activated."""
    scope = actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        group = find_group(uow, scope, group_ref)
        batches = uow.onboarding_batches.of_group(scope, group.id)
        tally = uow.onboarding_batches.tally(group.id) if batches else {}
    return [BatchProgress(b, tally.get(b.id, OnboardingTally())) for b in batches]


@dataclass
class OnboardingPrint:
    """The labels of one batch: ``labels()`` streams their texts page by page, in serial
    order and in constant memory."""

    svc: Services
    group: ProvisioningGroup
    batch: OnboardingBatch
    secret: str = field(repr=False)

    def labels(self) -> Iterator[LabelText]:
        after: str | None = None
        public_url = self.svc.public_url
        group_id = self.group.group_id
        number = str(self.batch.number)
        while True:
            with self.svc.uow(read_only=True) as uow:
                serials = uow.onboarding_batches.serials_page(
                    self.group.id, self.batch.id, after, PRINT_PAGE
                )
            for serial in serials:
                code = claim_code(self.secret, serial)
                yield LabelText(
                    label_url(public_url, group_id, serial, code), serial, number, group_id
                )
            if len(serials) < PRINT_PAGE:
                return
            after = serials[-1]


def find_batch(
    uow: UnitOfWork, scope: Scope, group: ProvisioningGroup, number: int
) -> OnboardingBatch:
    batch = uow.onboarding_batches.get(scope, group.id, number)
    if batch is None:
        raise NotFound(f"Group {group.group_id} has no batch {number}.")
    return batch


def batch_labels(svc: Services, actor: Actor, group_ref: str, number: int) -> OnboardingPrint:
    """D5: the labels of the group's batch ``number``: on each, the QR of the device's
    onboarding URL (with its claim code, under the group's primary secret), and its
    serial, group id and batch number as text. A claim code lets whoever holds it
    onboard the device, so only members who manage provisioning print them, and each
    printing is audited."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        batch = find_batch(uow, scope, group, number)
        secret = group_secrets(svc, group, uow)[0]
        uow.record(
            actor,
            Change(
                "onboarding_batch.printed",
                Target("onboarding_batch", batch.id),
                after={"group_id": group.group_id, "number": batch.number, "size": batch.size},
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    return OnboardingPrint(svc, group, batch, secret)


# --- claiming a device --------------------------------------------------------------------


def _refused(svc: Services, key: str, limit: int) -> NotFound:
    count_attempt(svc, key, limit, "wrong onboarding codes")
    return NotFound(
        "No onboarding label matches this address. Scan the device's whole QR code again."
    )


def check_claim(
    svc: Services,
    group_id: str,
    serial: str,
    code: str,
    *,
    source_ip: str | None = None,
    limit: int = CLAIM_FAILURES,
) -> ProvisioningGroup:
    """D5: the group whose label this is, when ``code`` is the claim code of ``serial``
    under one of the group's secrets (the primary, or the secondary during a rotation),
    compared in constant time. An unknown group, a malformed serial or a wrong code is
    NotFound (all alike) and counts against the source address: beyond ``limit`` a
    minute, RateLimited, whatever the code."""
    key = f"claim-failed:{source_ip or 'unknown'}"
    now = svc.clock.now()
    given = code.strip().upper().encode("utf-8")
    matched = False
    with svc.uow(read_only=True) as uow:
        if uow.rate_limits.count(key, now=now, window_seconds=ATTEMPT_WINDOW_SECONDS) >= limit:
            raise RateLimited(
                "Too many wrong onboarding codes from here; try again in a minute.",
                retry_after=ATTEMPT_WINDOW_SECONDS,
            )
        group = uow.provisioning_groups.by_group_id(group_id.strip().lower())
        try:
            wanted = check_serial(serial)
        except Invalid:
            group = None
        if group is not None:
            for secret in group_secrets(svc, group, uow):
                expected = claim_code(secret, wanted).encode("ascii")
                matched |= hmac.compare_digest(given, expected)
    if group is None or not matched:
        raise _refused(svc, key, limit)
    return group


def _allowed(group: ProvisioningGroup, scope: Scope) -> None:
    if not group.may_be_claimed_by(scope.organization_id):
        raise ClaimNotAllowed(
            f"Devices of provisioning group {group.group_id} cannot be onboarded into your "
            "organization: the group's owner has not allowed it."
        )


def _registration(
    svc: Services, uow: UnitOfWork, group: ProvisioningGroup, serial: str, *, change: bool
) -> Registration | None:
    """The group's registration of the serial, held for change; an open group's device
    without one gets one (D3), when ``change``. NotRegistered in a preregistered group,
    RegistrationDisabled for a disabled registration."""
    found = uow.registrations.get(group.id, serial, for_change=change)
    if found is None and group.registration_mode is RegistrationMode.PREREGISTERED:
        raise NotRegistered(
            f"Serial {serial!r} is not registered in provisioning group {group.group_id}."
        )
    if found is None and change:
        found = uow.registrations.ensure(
            Registration(
                svc.ids.new(), group.organization_id, group.id, serial, {}, False, None, None,
                None, svc.clock.now(),
            )
        )  # fmt: skip
    if found is not None and found.disabled:
        raise RegistrationDisabled(
            f"The registration of serial {serial!r} is disabled; it cannot be onboarded."
        )
    return found


def _onboarded(uow: UnitOfWork, scope: Scope, device_id: str) -> Device:
    """The twin a registration has: shown when it is the member's organization's and the
    member sees it; AlreadyOnboarded otherwise."""
    device = uow.devices.get_unscoped(device_id)
    if device is None or device.organization_id != scope.organization_id:
        raise AlreadyOnboarded("This device is onboarded into another organization already.")
    seen = uow.devices.get(scope, device_id)
    if seen is None:
        raise AlreadyOnboarded(
            "This device is onboarded into your organization already, in departments you "
            "do not belong to."
        )
    return seen


@dataclass(frozen=True)
class ClaimOffer:
    """What the onboarding page shows a member before they claim (D5)."""

    group_id: str
    serial: str
    organization: str
    """The member's organization's name: where the device would go."""
    device: Device | None
    """The twin, when the device is in the member's organization already."""


def claim_offer(svc: Services, actor: Actor, group_id: str, serial: str, code: str) -> ClaimOffer:
    """D5: check a scanned label (see check_claim) and whether the member's organization
    may have its device: its twin when the organization has it already; AlreadyOnboarded,
    ClaimNotAllowed, NotRegistered or RegistrationDisabled when it may not."""
    scope = actor.require(Permission.READ)
    group = check_claim(svc, group_id, serial, code, source_ip=actor.source_ip)
    wanted = check_serial(serial)
    with svc.uow(read_only=True) as uow:
        organization = uow.organizations.get(scope.organization_id)
        found = uow.registrations.get(group.id, wanted)
        device = None
        if found is not None and found.device_id is not None:
            device = _onboarded(uow, scope, found.device_id)
        else:
            _allowed(group, scope)
            _registration(svc, uow, group, wanted, change=False)
    name = organization.name if organization is not None else ""
    return ClaimOffer(group.group_id, wanted, name, device)


def _departments(group: ProvisioningGroup, scope: Scope) -> frozenset[str]:
    """P5: the group's default departments (its own organization's only), within a
    restricted member's own, who falls back to theirs."""
    own = group.organization_id == scope.organization_id
    defaults = group.defaults.departments if own else frozenset()
    if scope.departments is None:
        return defaults
    return (defaults & scope.departments) or scope.departments


def claim_device(
    svc: Services,
    actor: Actor,
    group_id: str,
    serial: str,
    code: str,
    name: str | None = None,
    location: str | None = None,
) -> Device:
    """D5: onboard the labelled device into the member's organization: its twin made from
    the group's defaults (the template and departments when the group is the
    organization's own; its initial attributes, the registration's over them), with the
    name (default: the serial) and location given, and linked to the device's
    registration, so that the device activates into it. Claiming it again from the same
    organization answers the same twin; AlreadyOnboarded when another organization has
    it; ClaimNotAllowed when the group does not allow the member's organization. Members
    who edit devices onboard them."""
    scope = actor.require(Permission.EDIT_DEVICES)
    chosen = require_name(name) if name and name.strip() else None
    place = check_location(Location(location)) if location else Location()
    group = check_claim(svc, group_id, serial, code, source_ip=actor.source_ip)
    wanted = check_serial(serial)
    with svc.uow() as uow:
        current = uow.provisioning_groups.by_group_ref(group.id)
        if current is None:
            raise NotFound(f"No provisioning group {group.group_id!r}.")
        registration = _registration(svc, uow, current, wanted, change=True)
        assert registration is not None, "a registration held for change is there"
        if registration.device_id is not None:
            return _onboarded(uow, scope, registration.device_id)
        _allowed(current, scope)
        twin = _twin(svc, uow, current, registration, scope, chosen, place)
        uow.devices.add(twin)
        if not uow.onboarding_batches.claim(registration.id, twin.id, svc.clock.now()):
            raise Conflict("The device was onboarded meanwhile; scan it again.")
        _copy_documents(svc, uow, actor, twin)
        _audit(uow, actor, current, registration, twin)
        uow.commit()
    return twin


def _twin(
    svc: Services,
    uow: UnitOfWork,
    group: ProvisioningGroup,
    registration: Registration,
    scope: Scope,
    name: str | None,
    place: Location,
) -> Device:
    now = svc.clock.now()
    template_id = None
    if group.organization_id == scope.organization_id and group.defaults.template_id:
        template = uow.templates.get(Scope(scope.organization_id), group.defaults.template_id)
        template_id = template.id if template is not None else None
    return Device(
        id=svc.ids.new(),
        organization_id=scope.organization_id,
        name=name or registration.serial,
        serial=registration.serial,
        template_id=template_id,
        attributes={**group.defaults.attributes, **registration.attributes},
        departments=_departments(group, scope),
        customer_id=None,
        location=place,
        status=DeviceStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )


def _copy_documents(svc: Services, uow: UnitOfWork, actor: Actor, twin: Device) -> None:
    """A4: a twin made from a template gets its default documents."""
    if twin.template_id is None:
        return
    template = uow.templates.get(Scope(twin.organization_id), twin.template_id)
    if template is not None:
        copy_template_documents(svc, uow, actor, template, twin)


def _audit(
    uow: UnitOfWork,
    actor: Actor,
    group: ProvisioningGroup,
    registration: Registration,
    twin: Device,
) -> None:
    """P8: the onboarding in the member's organization; and, when the group is another
    organization's, the claim of its registration in that organization's log."""
    origin = {"group_id": group.group_id, "serial": registration.serial}
    uow.record(
        actor,
        Change("device.onboarded", device_target(twin), after={**device_snapshot(twin), **origin}),
        organization_id=twin.organization_id,
    )
    if group.organization_id != twin.organization_id:
        uow.record(
            actor,
            Change(
                "registration.claimed",
                Target("registration", registration.id),
                after={**origin, "organization_id": twin.organization_id},
            ),
            organization_id=group.organization_id,
        )


def claim_payload(
    svc: Services,
    actor: Actor,
    payload: str,
    name: str | None = None,
    location: str | None = None,
) -> Device:
    """D5: claim the device of a scanned onboarding QR (its text: an onboarding URL of
    this server); Invalid for any other text."""
    link = onboarding_link(svc.public_url, payload)
    if link is None:
        raise Invalid(
            "That is not an onboarding label of this server.",
            fields={"payload": "not an onboarding URL"},
        )
    return claim_device(svc, actor, link.group_id, link.serial, link.code, name, location)
