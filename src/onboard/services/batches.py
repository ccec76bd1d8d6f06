"""Code batches: produce a numbered run of codes in one transaction, follow its progress
(printed, paired) and stream its codes to a label printer (SPEC A1, A2, issue 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from onboard.domain.access import Actor, Permission, Scope
from onboard.domain.audit import Change, Target
from onboard.domain.batches import (
    Batch,
    Progress,
    auto_number,
    check_name,
    check_number,
    check_size,
)
from onboard.domain.codes import check_label, check_pin, code_url
from onboard.domain.errors import BatchNumberTaken
from onboard.services.codes import load_code, new_codes
from onboard.services.common import not_found, resolve_departments
from onboard.services.ports import CodeFilter, Page, PageRequest, Services, UnitOfWork

# Codes made and written per step: memory stays flat for a million, and a step is a
# COPY that PostgreSQL takes in well under a second.
CREATE_STEP = 10_000
PRINT_PAGE = 1_000
MARK_STEP = 10_000


@dataclass(frozen=True)
class BatchView:
    """A batch and how far its codes (those the member sees, P5) have come."""

    batch: Batch
    progress: Progress


def create_batch(
    svc: Services,
    actor: Actor,
    *,
    count: int,
    number: str | None = None,
    name: str | None = None,
    label: str | None = None,
    departments: list[str] | None = None,
    pin: str | None = None,
    maximum: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BatchView:
    """``count`` unpaired codes in a new batch, all in one transaction: an interrupted run
    leaves no batch and no code. Without a number the batch gets the next automatic one
    (B0001, ...). A PIN is the batch's PIN policy: every code opens with it (A11).
    ``on_progress`` hears how many codes are written so far."""
    scope = actor.require(Permission.MANAGE_CODES)
    count = check_size(count) if maximum is None else check_size(count, maximum)
    number, name, label = check_number(number), check_name(name), check_label(label)
    pin_hash = svc.passwords.hash(check_pin(pin)) if pin is not None else None
    organization_id = scope.organization_id
    with svc.uow() as uow:
        own = resolve_departments(uow, scope, departments) or frozenset()
        if number is None:
            number = _free_number(uow, organization_id)
        elif uow.batches.get_by_number(organization_id, number) is not None:
            raise BatchNumberTaken(f"Batch {number} exists already; choose another number.")
        batch = Batch(svc.ids.new(), organization_id, number, name, pin_hash, svc.clock.now())
        uow.batches.add(batch)
        made = 0
        while made < count:
            step = new_codes(
                svc, actor, count=min(CREATE_STEP, count - made), organization_id=organization_id,
                departments=own, batch=number, label=label, pin_hash=pin_hash,
            )  # fmt: skip
            uow.codes.add_many(step)
            made += len(step)
            if on_progress is not None:
                on_progress(made)
        uow.record(
            actor,
            Change(
                "code_batch.created",
                Target("code_batch", batch.id, own),
                after={
                    "number": number,
                    "name": name,
                    "count": count,
                    "label": label,
                    "pin_protected": batch.pin_protected,
                    "departments": sorted(own),
                },
            ),
            organization_id=organization_id,
        )
        uow.commit()
    return BatchView(batch, Progress(codes=count))


def _free_number(uow: UnitOfWork, organization_id: str) -> str:
    """The next automatic number no batch has taken (a person may have chosen one)."""
    existing = uow.batches.count(organization_id)
    while uow.batches.get_by_number(organization_id, number := auto_number(existing)):
        existing += 1
    return number


def _views(uow: UnitOfWork, scope: Scope, found: Sequence[Batch]) -> list[BatchView]:
    progress = uow.codes.tally(scope, [b.number for b in found])
    return [BatchView(b, progress[b.number]) for b in found]


def list_batches(svc: Services, actor: Actor, page: PageRequest) -> Page[BatchView]:
    """The organization's batches, newest first, each with the progress of the codes the
    member sees."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        found = uow.batches.list_page(scope, page)
        return Page(_views(uow, scope, found.items), found.next_after)


def get_batch(svc: Services, actor: Actor, batch_id: str) -> BatchView:
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        batch = uow.batches.get(scope, batch_id)
        if batch is None:
            raise not_found("batch", batch_id)
        return _views(uow, scope, [batch])[0]


def find_batch(svc: Services, actor: Actor, number: str) -> BatchView:
    """A batch by its number, as people write it on the command line."""
    scope = actor.require(Permission.READ)
    with svc.uow() as uow:
        batch = uow.batches.get_by_number(scope.organization_id, number.strip())
        if batch is None:
            raise not_found("batch", number)
        return _views(uow, scope, [batch])[0]


@dataclass(frozen=True)
class LabelText:
    """What a label says: the QR's URL, the token under it, the batch, the organization."""

    url: str
    token: str
    batch: str | None
    organization: str


@dataclass
class PrintRun:
    """One print run of a batch: ``labels()`` streams the label texts page by page, in
    token creation order and in constant memory; ``finish_print`` then notes the codes as
    printed. A run that stops half-way notes nothing."""

    svc: Services
    actor: Actor
    view: BatchView
    organization: str
    filters: CodeFilter
    total: int
    printed: int = 0
    # The id of every MARK_STEP-th label and of the last: where finish_print cuts its steps.
    ends: list[str] = field(default_factory=list, repr=False)

    def labels(self) -> Iterator[LabelText]:
        scope = self.actor.require(Permission.MANAGE_CODES)
        public_url = self.svc.public_url
        after: str | None = None
        while True:
            with self.svc.uow(read_only=True) as uow:
                page = uow.codes.tokens_page(scope, self.filters, PageRequest(after, PRINT_PAGE))
            number = self.view.batch.number
            for code_id, token in page.items:
                yield LabelText(code_url(public_url, token), token, number, self.organization)
                self.printed += 1
                if self.printed % MARK_STEP == 0:
                    self.ends.append(code_id)
            if page.next_after is None:
                if page.items and self.printed % MARK_STEP:
                    self.ends.append(page.items[-1][0])
                return
            after = page.next_after


def start_print(
    svc: Services, actor: Actor, batch_id: str, *, unprinted_only: bool = False
) -> PrintRun:
    """A print run of the batch's codes the member sees (P5): all of them, or only those
    never printed (after a printer jam, or for codes added to the batch later)."""
    scope = actor.require(Permission.MANAGE_CODES)
    with svc.uow() as uow:
        batch = uow.batches.get(scope, batch_id)
        if batch is None:
            raise not_found("batch", batch_id)
        view = _views(uow, scope, [batch])[0]
        organization = uow.organizations.get(scope.organization_id)
    filters = CodeFilter(batch=batch.number, printed=False if unprinted_only else None)
    progress = view.progress
    total = progress.codes - progress.printed if unprinted_only else progress.codes
    name = organization.name if organization is not None else ""
    return PrintRun(svc, actor, view, name, filters, total)


def finish_print(svc: Services, run: PrintRun, *, output: str) -> int:
    """Note the run's codes as printed (the first printing of each is kept); how many were
    printed for the first time. The audit entry of the run comes with the first step; each
    step of MARK_STEP codes is a short transaction of its own, so that pairing a code of a
    large batch meanwhile never waits long for its row."""
    scope = run.actor.require(Permission.MANAGE_CODES)
    first = 0
    after: str | None = None
    for step, through in enumerate(run.ends):
        with svc.uow() as uow:
            first += uow.codes.mark_printed(scope, run.filters, after, through, svc.clock.now())
            if step == 0:
                batch = run.view.batch
                uow.record(
                    run.actor,
                    Change(
                        "code_batch.printed",
                        Target("code_batch", batch.id, scope.departments or frozenset()),
                        after={"number": batch.number, "labels": run.printed, "output": output},
                    ),
                    organization_id=scope.organization_id,
                )
            uow.commit()
        after = through
    return first


def code_label(svc: Services, actor: Actor, raw_token: str) -> LabelText:
    """The label of one code, to print or reprint it on its own."""
    with svc.uow(read_only=True) as uow:
        code = load_code(uow, actor, raw_token, Permission.READ)
        organization = uow.organizations.get(code.organization_id)
    name = organization.name if organization is not None else ""
    return LabelText(code_url(svc.public_url, code.token), code.token, code.batch, name)
