"""Code batches: stickers produced together, numbered, printed and paired over time (SPEC A1,
issue 5). A batch's codes carry its number in their ``batch`` field, so the A16 batch
filter and the label's batch line are the same text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onboard.domain.codes import check_batch
from onboard.domain.errors import Invalid

MAX_BATCH_SIZE = 1_000_000
MAX_NAME_LENGTH = 200
AUTO_NUMBER_PREFIX = "B"


@dataclass(frozen=True)
class Batch:
    """A numbered run of codes. Batches are seen organization-wide (like templates); what a
    member sees of their codes, and so of their progress, follows the codes' departments
    (P5)."""

    id: str
    organization_id: str
    number: str
    name: str | None
    pin_hash: str | None  # the PIN policy: every code of the batch opens with this PIN (A11)
    created_at: datetime

    @property
    def pin_protected(self) -> bool:
        return self.pin_hash is not None


@dataclass(frozen=True)
class Progress:
    """How far a batch's codes have come: created, printed on a label run, paired."""

    codes: int = 0
    printed: int = 0
    paired: int = 0


def check_number(number: str | None) -> str | None:
    """A batch number as given, trimmed; None asks for the next automatic one."""
    checked = check_batch(number)
    if number is not None and checked is None:
        raise Invalid("A batch number cannot be blank.", fields={"number": "cannot be blank"})
    return checked


def auto_number(existing: int) -> str:
    """The automatic number of an organization's next batch: B0001, B0002, ..."""
    return f"{AUTO_NUMBER_PREFIX}{existing + 1:04d}"


def check_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            f"A batch name has at most {MAX_NAME_LENGTH} characters.",
            fields={"name": f"at most {MAX_NAME_LENGTH} characters"},
        )
    return name or None


def check_size(count: int, maximum: int = MAX_BATCH_SIZE) -> int:
    if not 1 <= count <= maximum:
        raise Invalid(
            f"A batch holds 1 to {maximum:,} codes.",
            fields={"count": f"1 to {maximum}"},
        )
    return count
