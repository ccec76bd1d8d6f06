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

import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, BinaryIO, Self

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
from onboard.services.ports import Services, UnitOfWork

Progress = Callable[[str, int, int], None]
"""Told (phase, done, total) as the import goes: ``reading`` in bytes (total 0 when the
size is unknown), ``checking`` in steps, ``applying`` in rows."""

# Rows read between two reports of progress; refused rows read back per query.
STAGE_STEP = 5_000
REPORT_PAGE = 5_000
# What stays in memory of the report before it spills to a temporary file.
SPILL_IN_MEMORY = 1024 * 1024
# How many refused rows a refusal names in its fields (the report has them all).
NAMED_IN_ERROR = 20


@dataclass
class EnrollmentImportReport:
    """What an import did: rows accepted (enrolled) and refused, by reason and row by row.
    The rows refused are kept in a temporary file; close() (or ``with``) lets it go."""

    format: ListFormat
    mode: ImportMode
    valid: int
    """Rows that passed every check (all of them applied, unless the import was refused)."""
    rejected: int
    counts: dict[RejectionCode, int]
    accepted: int = 0
    _spill: IO[str] = field(default_factory=io.StringIO, repr=False)

    @property
    def rows(self) -> int:
        return self.valid + self.rejected

    def rejections(self, limit: int | None = None) -> Iterator[Rejection]:
        """The refused rows in the list's order (the first ``limit`` of them)."""
        self._spill.seek(0)
        for index, line in enumerate(self._spill):
            if limit is not None and index >= limit:
                return
            row, code, detail = json.loads(line)
            yield Rejection(row, RejectionCode(code), detail)

    def close(self) -> None:
        self._spill.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EnrollmentImportRefused(Invalid):
    """Some rows were refused and the import was all-or-nothing: nothing was enrolled. The
    report says which rows and why."""

    code = "import_refused"

    def __init__(self, report: EnrollmentImportReport) -> None:
        super().__init__(
            f"{report.rejected} of {report.rows} row(s) rejected; nothing enrolled.",
            fields={
                f"rows.{r.row}": f"{r.code.value}: {r.detail}"
                for r in report.rejections(NAMED_IN_ERROR)
            },
        )
        self.report = report


class _Counted(io.RawIOBase):
    """A binary source that counts the bytes read from it, for progress."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


def _size(source: BinaryIO) -> int:
    """How many bytes are left to read, when the source can tell (0 otherwise)."""
    try:
        if not source.seekable():
            return 0
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return end - here
    except (OSError, ValueError):
        return 0


def _silent(phase: str, done: int, total: int) -> None:
    return None


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
    """The list's rows as they are read and checked, the bytes read told every
    STAGE_STEP rows."""
    total = _size(source)
    counted = _Counted(source)
    text = io.TextIOWrapper(io.BufferedReader(counted), encoding="utf-8-sig", newline="")
    for count, item in enumerate(read_list(text, format), start=1):
        yield _staged(svc, item)
        if not count % STAGE_STEP:
            tell("reading", counted.done, max(total, counted.done) if total else 0)
    tell("reading", counted.done, max(total, counted.done))


def _spill(uow: UnitOfWork) -> IO[str]:
    """Every refused row, read back from the staging table a page at a time."""
    spill: IO[str] = tempfile.SpooledTemporaryFile(max_size=SPILL_IN_MEMORY, mode="w+")  # noqa: SIM115
    after = 0
    while True:
        page = uow.enrollments.import_rejections(after, REPORT_PAGE)
        for found in page:
            refused = rejection(found)
            spill.write(json.dumps([refused.row, refused.code.value, refused.detail]) + "\n")
        if len(page) < REPORT_PAGE:
            return spill
        after = page[-1].number


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
    tell = progress or _silent
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
            format, mode, valid, sum(counts.values()), counts, _spill=_spill(uow)
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
