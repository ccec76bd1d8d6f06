"""A batch as CSV for print shops that make the stickers themselves: each code's token,
the URL its QR must hold (uppercase, A2) and its batch, streamed row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from onboard.adapters.labels.single import Label

HEADER = ("token", "url", "batch")


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV
    injection); tokens and our URLs never start so, batch names typed by people might."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def labels_csv(labels: Iterable[Label]) -> Iterator[str]:
    """The header, then one line per label, as text chunks ready to write or stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for label in labels:
        writer.writerow((label.token, label.url.upper(), _spreadsheet_safe(label.batch or "")))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
