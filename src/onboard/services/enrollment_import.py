"""Batch enrollment (SPEC C7): a list of devices, CSV or JSON lines, validated as a whole
with a per-row report, then applied in one transaction, every row or only the valid ones.

A list of a million rows streams in constant memory: each row is checked by the rules of a
single enrollment and its access key sealed as it is read, then staged in a temporary
table of the transaction; duplicates in the list, serials enrolled already and unknown
gateways are found with SQL over it, and the valid rows go on to the records with INSERT
... SELECT. The refused rows are read back a page at a time into a spill file, so the
report never holds them all in memory either. Interrupted at any point, nothing is
applied; run again, the rows applied already are reported ``already_enrolled``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, BinaryIO

from onboard.domain.access import Actor, Permission
from onboard.domain.audit import Change, Target
from onboard.domain.enrollment import check_serial, require_enroll
from onboard.domain.enrollment_import import (
    ImportMode,
    ListFormat,
    ListRow,
    Rejection,
    RejectionCode,
    StagedRow,
    UnreadableList,
    check_kind,
    malformed,
    read_list,
    rejection,
)
from onboard.domain.errors import Invalid
from onboard.services.common import resolve_departments
from onboard.services.enrollments import EnrollmentInput, checked, key_context
from onboard.services.list_import import (
    ListImportRefused,
    ListImportReport,
    Progress,
    read_counted,
    silent,
    spill_refusals,
)
from onboard.services.ports import Services, UnitOfWork

EnrollmentImportReport = ListImportReport[RejectionCode]


class EnrollmentImportRefused(ListImportRefused[RejectionCode]):
    """Some rows were refused and the import was all-or-nothing: nothing was enrolled. The
    report says which rows and why."""

    nothing = "nothing enrolled"


def _staged(svc: Services, item: ListRow | Rejection) -> StagedRow:
    """A row checked by the rules of a single enrollment (C1), its id made and its key
    sealed for its record; or the reason it is refused."""
    if isinstance(item, Rejection):
        return StagedRow(item.row, code=item.code.value, detail=item.detail)
    try:
        given = checked(
            EnrollmentInput(
                item.serial, item.access_key, check_kind(item.kind), item.gateway_id,
                item.name, item.location,
            )
        )  # fmt: skip
    except Invalid as error:
        refused = malformed(item.number, error)
        try:  # still counted among the list's serials, for its duplicates
            serial: str | None = check_serial(item.serial)
        except Invalid:
            serial = None
        return StagedRow(item.number, serial=serial, code=refused.code.value, detail=refused.detail)
    enrollment_id = svc.ids.new()
    return StagedRow(
        item.number,
        enrollment_id,
        given.serial,
        given.kind.value,
        given.gateway_id,
        given.name,
        given.location,
        svc.secrets.seal(given.access_key, context=key_context(enrollment_id)),
    )


def _read(
    svc: Services, source: BinaryIO, format: ListFormat, tell: Progress
) -> Iterator[StagedRow]:
    """The list's rows as they are read and checked."""
    for item in read_counted(source, lambda text: read_list(text, format), tell):
        yield _staged(svc, item)


def _spill(uow: UnitOfWork) -> IO[str]:
    """Every refused row, read back from the staging table a page at a time."""
    return spill_refusals(uow.enrollments.import_rejections, rejection)


def import_enrollments(
    svc: Services,
    actor: Actor,
    source: BinaryIO,
    *,
    format: ListFormat,
    mode: ImportMode = ImportMode.ALL,
    departments: list[str] | None = None,
    progress: Progress | None = None,
) -> EnrollmentImportReport:
    """C7: read the whole list and check every row (a single enrollment's rules, then
    duplicates in the list, serials enrolled already, unknown gateways), then enroll the
    valid rows in one transaction as pending enrollments in ``departments``. In mode
    ``all`` a refused row refuses the import (EnrollmentImportRefused, nothing enrolled);
    in mode ``valid`` the others are enrolled. Only members who may enroll import (C8).
    UnreadableList for a list with a bad header, not UTF-8, or without rows."""
    require_enroll(actor)
    scope = actor.require(Permission.READ)
    tell = progress or silent
    with svc.uow() as uow:
        chosen = resolve_departments(uow, scope, departments) or frozenset()
        uow.enrollments.start_import()
        if not uow.enrollments.stage_import(_read(svc, source, format, tell)):
            raise UnreadableList("The list has no rows to enroll.", fields={"file": "no rows"})
        tell("checking", 0, 1)
        uow.enrollments.check_import(scope)
        tally = uow.enrollments.import_tally()
        valid = tally.pop(None, 0)
        counts = {code: n for code, n in tally.items() if code is not None}
        report = EnrollmentImportReport(
            RejectionCode, format, mode, valid, sum(counts.values()), counts, _spill=_spill(uow)
        )
        tell("checking", 1, 1)
        if report.rejected and mode is ImportMode.ALL:
            raise EnrollmentImportRefused(report)
        if not valid:
            return report
        for done in uow.enrollments.apply_import(scope.organization_id, chosen, svc.clock.now()):
            tell("applying", done, valid)
        uow.enrollments.end_import()
        uow.record(
            actor,
            Change(
                "enrollment.imported",
                Target("enrollment_import", svc.ids.new(), chosen),
                after={
                    "format": format.value,
                    "mode": mode.value,
                    "accepted": valid,
                    "rejected": report.rejected,
                    "rejections": {code.value: n for code, n in sorted(counts.items())},
                    "departments": sorted(chosen),
                },
            ),
            organization_id=scope.organization_id,
        )
        uow.commit()
    report.accepted = valid
    return report
