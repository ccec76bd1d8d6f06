"""Rotation of the keys that seal device secrets at rest (SPEC C1, D1, §7 security): every
stored secret (enrollments' access keys, provisioning groups' secrets) re-sealed under the
keyring's current key, a few rows per transaction, while servers keep running."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from onboard.domain.audit import Change, Target
from onboard.domain.errors import Invalid
from onboard.domain.provisioning import group_secret_context
from onboard.services.common import OPERATOR
from onboard.services.enrollments import key_context
from onboard.services.ports import Services, UnitOfWork

DEFAULT_BATCH = 1000
MAX_BATCH = 10_000

# One stored secret as a sealed column pages it: its row's id, organization and value.
SealedRow = tuple[str, str, str]
# A value to replace: its row's id, the value read, the value sealed under the current key.
Reseal = tuple[str, str, str]
# Told after each batch: values handled so far, of how many not under the current key.
RotationProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class SealedColumn:
    """One kind of secret stored sealed: how to read its values a page at a time (by id,
    after the last one read), the context each is bound to, and how to replace one only if
    its row still holds the value read (compare-and-set), saying how many were. A new kind
    of sealed secret is one more entry in SEALED_COLUMNS."""

    name: str
    label: str
    page: Callable[[UnitOfWork, str | None, int], Sequence[SealedRow]]
    context: Callable[[str], str]
    reseal: Callable[[UnitOfWork, Sequence[Reseal]], int]


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(
        name="enrollments.access_key",
        label="enrollment access keys",
        page=lambda uow, after, limit: uow.enrollments.sealed_keys(after, limit),
        context=key_context,
        reseal=lambda uow, changes: uow.enrollments.reseal(changes),
    ),
    SealedColumn(
        name="provisioning_groups.secret",
        label="provisioning group secrets",
        page=lambda uow, after, limit: uow.provisioning_groups.sealed_page(after, limit),
        context=group_secret_context,
        reseal=lambda uow, changes: uow.provisioning_groups.reseal("secret", changes),
    ),
    SealedColumn(
        name="provisioning_groups.secondary_secret",
        label="provisioning group secondary secrets",
        page=lambda uow, after, limit: uow.provisioning_groups.sealed_secondary_page(after, limit),
        context=group_secret_context,
        reseal=lambda uow, changes: uow.provisioning_groups.reseal("secondary_secret", changes),
    ),
)


@dataclass(frozen=True)
class Unopened:
    """Stored values of one kind the keyring cannot open, for one reason (the keyring's
    words, naming the key they are sealed under); they are left as they are."""

    label: str
    reason: str
    count: int


@dataclass(frozen=True)
class RotationReport:
    """What a rotation did: values re-sealed under the current key, values already under
    it, values another writer changed between read and write (left as written), and values
    that cannot be opened."""

    resealed: int
    current: int
    changed: int
    unopened: tuple[Unopened, ...]

    @property
    def refused(self) -> int:
        """How many values could not be opened: the rotation is not complete."""
        return sum(u.count for u in self.unopened)


@dataclass
class _Tally:
    resealed: int = 0
    current: int = 0
    changed: int = 0
    unopened: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def handled(self) -> int:
        return self.resealed + self.changed + self.unopened.total()

    def report(self) -> RotationReport:
        unopened = tuple(Unopened(label, why, n) for (label, why), n in self.unopened.items())
        return RotationReport(self.resealed, self.current, self.changed, unopened)


def rotate_secrets(
    svc: Services,
    batch: int = DEFAULT_BATCH,
    progress: RotationProgress | None = None,
    *,
    columns: Sequence[SealedColumn] = SEALED_COLUMNS,
) -> RotationReport:
    """Re-seal every stored secret that is not sealed under the current key (C1, D1).

    Each page of ``batch`` rows is read, opened with any key of the keyring and sealed
    under the current one with the same context outside any transaction, then written in
    one short transaction, each row only if it still holds the value read: a concurrent
    change is never overwritten, and servers keep reading and writing meanwhile. Every
    server must hold the new key before the run (first, so what they write is sealed
    under it too), or they could not open what it writes. A value sealed under a key the
    keyring lacks is counted and left as it is. Running it again re-seals only what is
    still not under the current key. ``progress`` is told after each batch how many values
    were handled of how many were found not under the current key; ``columns`` are the
    kinds of sealed secrets."""
    if not 1 <= batch <= MAX_BATCH:
        raise Invalid(f"A batch holds 1 to {MAX_BATCH:,} rows.", fields={"batch": "out of range"})
    total = _not_current(svc, columns, batch) if progress else 0
    tally = _Tally()
    for column in columns:
        after: str | None = None
        while True:
            with svc.uow(read_only=True) as uow:
                rows = column.page(uow, after, batch)
            if not rows:
                break
            after = rows[-1][0]
            _rotate_page(svc, column, rows, tally)
            if progress is not None:
                progress(tally.handled, max(total, tally.handled))
    return tally.report()


def _not_current(svc: Services, columns: Sequence[SealedColumn], batch: int) -> int:
    """How many stored values are not under the current key: the length of the work."""
    count = 0
    for column in columns:
        after: str | None = None
        while True:
            with svc.uow(read_only=True) as uow:
                rows = column.page(uow, after, batch)
            if not rows:
                break
            after = rows[-1][0]
            count += sum(not svc.secrets.is_current(sealed) for _, _, sealed in rows)
    return count


def _rotate_page(
    svc: Services, column: SealedColumn, rows: Sequence[SealedRow], tally: _Tally
) -> None:
    """Open and re-seal a page's values outside any transaction, then write them in one
    short transaction, an organization at a time, each with its audit entry (P8)."""
    fresh: dict[str, list[Reseal]] = {}
    for row_id, organization_id, sealed in rows:
        if svc.secrets.is_current(sealed):
            tally.current += 1
            continue
        context = column.context(row_id)
        try:
            plaintext = svc.secrets.open(sealed, context=context)
        except ValueError as refused:  # the keyring's refusal says which key is missing
            tally.unopened[(column.label, str(refused))] += 1
            continue
        new = svc.secrets.seal(plaintext, context=context)
        fresh.setdefault(organization_id, []).append((row_id, sealed, new))
    if not fresh:
        return
    resealed = 0
    target = Target("secrets", column.name)
    with svc.uow() as uow:
        for organization_id, changes in sorted(fresh.items()):
            count = column.reseal(uow, changes)
            if count:
                change = Change("secrets.resealed", target, after={"count": count})
                uow.record(OPERATOR, change, organization_id=organization_id)
            resealed += count
        uow.commit()
    tally.resealed += resealed
    tally.changed += sum(len(changes) for changes in fresh.values()) - resealed
