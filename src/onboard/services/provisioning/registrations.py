"""Registrations of serials in a provisioning group (SPEC D3, D4): a list of serials with
optional attributes registered before any device exists, validated as a whole with a
per-row report; one registration disabled (its device's activation is then refused) or
enabled again; the group's registrations listed.

A list of a million serials streams in constant memory, as batch enrollment does (see
services.enrollment_import): each row is checked by the rules of one registration as it
is read and staged in a temporary table of the transaction; duplicates in the list and
serials registered already are found with SQL over it, and the valid rows go on to the
records with INSERT ... SELECT. The refused rows are read back a page at a time into a
spill file. Interrupted at any point, nothing is applied; run again, the rows registered
already are reported ``already_registered``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import AuditEntry, Change, Target
from onboard.domain.enrollment import check_serial
from onboard.domain.enrollment_import import ImportMode, ListFormat, UnreadableList
from onboard.domain.provisioning import Environment, Registration
from onboard.domain.registrations import (
    RegistrationRejection,
    RegistrationRejectionCode,
    RegistrationRow,
    StagedRegistration,
    read_registrations,
    rejection,
)
from onboard.services.common import not_found
from onboard.services.list_import import (
    ListImportRefused,
    ListImportReport,
    Progress,
    read_counted,
    silent,
    spill_refusals,
)
from onboard.services.ports import Page, PageRequest, Services, UnitOfWork
from onboard.services.provisioning.groups import find_group

RegistrationImportReport = ListImportReport[RegistrationRejectionCode]


class RegistrationImportRefused(ListImportRefused[RegistrationRejectionCode]):
    """Some rows were refused and the import was all-or-nothing: nothing was registered.
    The report says which rows and why."""

    nothing = "nothing registered"


def _staged(svc: Services, item: RegistrationRow | RegistrationRejection) -> StagedRegistration:
    if isinstance(item, RegistrationRejection):
        return StagedRegistration(item.row, None, item.serial, None, item.code.value, item.detail)
    attributes = json.dumps(item.attributes) if item.attributes else "{}"
    return StagedRegistration(item.number, svc.ids.new(), item.serial, attributes)


def _read(
    svc: Services, source: BinaryIO, format: ListFormat, tell: Progress
) -> Iterator[StagedRegistration]:
    """The list's rows as they are read and checked."""
    for item in read_counted(source, lambda text: read_registrations(text, format), tell):
        yield _staged(svc, item)


def _spill(uow: UnitOfWork) -> IO[str]:
    """Every refused row, read back from the staging table a page at a time."""
    return spill_refusals(uow.registrations.import_rejections, rejection)


def register_serials(
    svc: Services,
    actor: Actor,
    group_ref: str,
    source: BinaryIO,
    *,
    format: ListFormat,
    mode: ImportMode = ImportMode.ALL,
    progress: Progress | None = None,
) -> RegistrationImportReport:
    """D3: read the whole list and check every row (a valid serial, attributes a JSON
    object of at most 64 keys; then duplicates in the list and serials registered in the
    group already), then register the valid rows, enabled, in one transaction. In mode
    ``all`` a refused row refuses the import (RegistrationImportRefused, nothing
    registered); in mode ``valid`` the others are registered. Members who manage
    provisioning register (D1, §0). UnreadableList for a list with a bad header, not
    UTF-8, or without rows; NotFound for a group the actor's organization does not have."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    tell = progress or silent
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        uow.registrations.start_import()
        if not uow.registrations.stage_import(_read(svc, source, format, tell)):
            raise UnreadableList("The list has no serials to register.", fields={"file": "no rows"})
        tell("checking", 0, 1)
        uow.registrations.check_import(group.id)
        tally = uow.registrations.import_tally()
        valid = tally.pop(None, 0)
        counts = {code: n for code, n in tally.items() if code is not None}
        report = RegistrationImportReport(
            RegistrationRejectionCode, format, mode, valid, sum(counts.values()), counts,
            _spill=_spill(uow),
        )  # fmt: skip
        tell("checking", 1, 1)
        if report.rejected and mode is ImportMode.ALL:
            raise RegistrationImportRefused(report)
        if not valid:
            return report
        applying = uow.registrations.apply_import(group.organization_id, group.id, svc.clock.now())
        for done in applying:
            tell("applying", done, valid)
        uow.registrations.end_import()
        uow.record(
            actor,
            Change(
                "registration.imported",
                Target("provisioning_group", group.id),
                after={
                    "group_id": group.group_id,
                    "format": format.value,
                    "mode": mode.value,
                    "accepted": valid,
                    "rejected": report.rejected,
                    "rejections": {code.value: n for code, n in sorted(counts.items())},
                },
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    report.accepted = valid
    return report


def set_registration_disabled(
    svc: Services, actor: Actor, group_ref: str, serial: str, *, disabled: bool
) -> Registration:
    """D4: disable the group's registration of ``serial`` (its device's next activation
    is refused ``registration_disabled``; the group and its other devices are untouched),
    or enable it again. Setting the state it has changes nothing and records nothing."""
    scope = actor.require(Permission.MANAGE_PROVISIONING)
    wanted = check_serial(serial)
    with svc.uow() as uow:
        group = find_group(uow, scope, group_ref)
        found = uow.registrations.get(group.id, wanted, for_change=True)
        if found is None:
            raise not_found("registration of serial", wanted)
        if found.disabled == disabled:
            return found
        now = svc.clock.now()
        uow.registrations.set_disabled(found.id, disabled, now)
        uow.record(
            actor,
            Change(
                "registration.disabled" if disabled else "registration.enabled",
                Target("registration", found.id),
                before={"disabled": found.disabled},
                after={"disabled": disabled, "group_id": group.group_id, "serial": wanted},
                device_id=found.device_id,
            ),
            organization_id=scope.organization_id,
        )
        changed = uow.registrations.by_id(found.id)
        uow.commit()
    assert changed is not None, "a registration just changed is there"
    return changed


def list_registrations(
    svc: Services, actor: Actor, group_ref: str, page: PageRequest
) -> Page[Registration]:
    """D3: the group's registrations in the order of their serials."""
    scope = actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        group = find_group(uow, scope, group_ref)
        return uow.registrations.list_by_serial(scope, group.id, page)


# The timeline's entries about how a device's hardware came and went (D4-D7).
PROVISIONING_ACTIONS = (
    "device.activated",
    "device.reactivated",
    "device.reprovisioned",
    "device.replaced",
    "device.onboarded",
)


@dataclass(frozen=True)
class DeviceProvisioning:
    """How a device came through provisioning (D4-D7): the registration of its hardware
    (None once that left it: a reset, D6), the group's id, the environment it was given,
    and its provisioning history, newest first."""

    registration: Registration | None
    group_id: str | None
    environment: Environment | None
    history: list[AuditEntry]


def provisioning_of_device(
    svc: Services, actor: Actor, device_id: str, *, history: int = 50
) -> DeviceProvisioning | None:
    """D4-D7 for the device's page: None for a device that never came through a
    provisioning group. Whoever sees the device sees this; a device claimed from another
    organization's group (D5) shows that group's id, which its label carries."""
    scope = actor.require(Permission.READ)
    with svc.uow(read_only=True) as uow:
        if uow.devices.get(scope, device_id) is None:
            raise not_found("device", device_id)
        registration = uow.registrations.of_device(device_id)
        page = PageRequest(None, history)
        entries = list(uow.audit.of_device(device_id, page, actions=PROVISIONING_ACTIONS).items)
        if registration is None and not entries:
            return None
        group = (
            uow.provisioning_groups.by_group_ref(registration.group_ref)
            if registration is not None
            else None
        )
        environment = (
            uow.environments.get(registration.environment_id)
            if registration is not None and registration.environment_id is not None
            else None
        )
    group_id = group.group_id if group is not None else _newest(entries, "group_id")
    return DeviceProvisioning(registration, group_id, environment, entries)


def _newest(entries: list[AuditEntry], key: str) -> str | None:
    """The newest value of ``key`` among the entries' "after" sides."""
    for entry in entries:
        value = (entry.after or {}).get(key)
        if value:
            return str(value)
    return None
