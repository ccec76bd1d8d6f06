"""What a route importing a list needs, whatever its rows are (SPEC C7, D3): the body
spooled to a temporary file as it comes, within a limit, and the import's report streamed
back from its spill of refused rows, so that neither holds a million rows in memory.

Generalized from /api/v1/enrollments/batch (entrypoints.api.enrollment_import), so that
pre-registration (D3) shares it; the enrollment route keeps its own copies for now."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from fastapi import Request

from onboard.domain.documents import file_too_large
from onboard.services.list_import import ListImportReport

# What of the body stays in memory before the spool goes to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024


async def spooled(request: Request, max_bytes: int) -> BinaryIO:
    """The body in a temporary file, refused (413 ``file_too_large``) as soon as it is
    declared or comes over ``max_bytes``."""
    refusal = file_too_large(max_bytes)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise refusal
    spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))  # noqa: SIM115
    try:
        async for chunk in request.stream():
            if spool.tell() + len(chunk) > max_bytes:
                raise refusal
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def report_body(report: ListImportReport[Any], head: dict[str, Any]) -> Iterator[bytes]:
    """``head`` and the report's rejected rows (``rejected``: [{row, code, detail}]) as one
    JSON object, a row at a time; the report is closed at the end."""
    try:
        yield json.dumps(head)[:-1].encode() + (b', "rejected": [' if head else b'"rejected": [')
        for index, r in enumerate(report.rejections()):
            row = {"row": r.row, "code": r.code.value, "detail": r.detail}
            yield (b", " if index else b"") + json.dumps(row).encode()
        yield b"]}"
    finally:
        report.close()
