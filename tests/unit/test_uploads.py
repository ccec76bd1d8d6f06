"""The one reader of uploads (entrypoints.uploads), straight over ASGI messages: a body over
the limit is refused as soon as it is, with or without a declared length, a page's refusal
comes back to show on its form, and what was sent comes back as sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request

from onboard.domain.errors import FileTooLarge, Invalid
from onboard.entrypoints.uploads import (
    DRAIN_FACTOR,
    FORM_OVERHEAD,
    read_body,
    read_page_upload,
    read_upload,
)

T = TypeVar("T")
BOUNDARY = "b0undary"
LIMIT = 4096
CHUNK = 16 * 1024


class Sent:
    """A request whose body comes in the given chunks, counting how many were read."""

    def __init__(self, chunks: list[bytes], headers: dict[str, str]) -> None:
        self.chunks = chunks
        self.read = 0
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/upload",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        self.request = Request(scope, self._receive)

    async def _receive(self) -> dict[str, Any]:
        self.read += 1
        if self.read > len(self.chunks):
            return {"type": "http.disconnect"}
        more = self.read < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.read - 1], "more_body": more}


def _run(call: Callable[[], Awaitable[T]]) -> T:
    """The call's result, on an event loop of its own thread: other tests in this process
    (the browser's) may hold a running loop in this one."""

    async def main() -> T:
        return await call()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, main()).result()


def _part(name: str, value: bytes, *, filename: str | None = None, kind: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (
        f'; filename="{filename}"' if filename is not None else ""
    )
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if kind:
        head += f"Content-Type: {kind}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def _form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _multipart(body: bytes, *, chunk: int = CHUNK, declare: bool = True) -> Sent:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if declare:
        headers["Content-Length"] = str(len(body))
    return Sent([body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""], headers)


def _streamed_file(size: int) -> Sent:
    """A form with a file of ``size`` bytes, sent chunked: no Content-Length."""
    head = (
        _part("csrf_token", b"t0ken")
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
    )
    return _multipart(head + b"x" * size, declare=False)


def test_a_form_within_the_limit_gives_its_fields_and_the_file_as_sent() -> None:
    sent = _multipart(
        _form(
            _part("title", b"Manual"),
            _part("other", b"ignored"),
            _part("file", b"%PDF-1.7", filename="manual.pdf", kind="application/pdf"),
        )
    )

    upload = _run(lambda: read_upload(sent.request, LIMIT, fields={"title"}))

    assert upload.fields == {"title": "Manual"}
    assert upload.file is not None
    assert (upload.file.content, upload.file.filename, upload.file.content_type) == (
        b"%PDF-1.7",
        "manual.pdf",
        "application/pdf",
    )


def test_a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_too_large() -> None:
    fits = _multipart(_form(_part("file", b"x" * LIMIT, filename="a.bin")))
    over = _multipart(_form(_part("file", b"x" * (LIMIT + 1), filename="a.bin")))

    assert _run(lambda: read_upload(fits.request, LIMIT)).content == b"x" * LIMIT
    with pytest.raises(FileTooLarge) as refused:
        _run(lambda: read_upload(over.request, LIMIT))
    assert refused.value.fields == {"file": f"at most {LIMIT:,} bytes"}


def test_a_streamed_form_without_a_length_stops_being_read_just_past_the_limit() -> None:
    sent = _streamed_file(1000 * CHUNK)

    with pytest.raises(FileTooLarge):
        _run(lambda: read_upload(sent.request, LIMIT))

    assert sent.read <= (LIMIT + FORM_OVERHEAD) // CHUNK + 2, "the body was read on"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read() -> None:
    body = _form(_part("file", b"x" * (LIMIT + FORM_OVERHEAD + 1), filename="a.bin"))
    sent = _multipart(body)

    with pytest.raises(FileTooLarge):
        _run(lambda: read_upload(sent.request, LIMIT))

    assert sent.read == 0


def test_a_page_gets_the_refusal_to_show_and_the_rest_of_the_body_is_read_within_reason() -> None:
    sent = _streamed_file(1000 * CHUNK)

    upload = _run(lambda: read_page_upload(sent.request, LIMIT, fields={"csrf_token"}))

    assert isinstance(upload.error, FileTooLarge)
    assert (upload.fields, upload.file) == ({}, None)
    cap = (LIMIT + FORM_OVERHEAD) * DRAIN_FACTOR
    assert cap // CHUNK <= sent.read <= cap // CHUNK + 2, "drained up to the cap, no further"


def test_a_page_upload_whose_last_chunk_is_over_the_limit_is_refused_without_more_reading() -> None:
    head = (
        _part("csrf_token", b"t0ken")
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
        ).encode()
    )
    sent = _multipart(head + b"x" * (LIMIT + FORM_OVERHEAD), chunk=1 << 30, declare=False)

    upload = _run(lambda: read_page_upload(sent.request, LIMIT, fields={"csrf_token"}))

    assert isinstance(upload.error, FileTooLarge)
    assert sent.read == 1


def test_a_smaller_limit_and_its_own_refusal_are_the_callers() -> None:
    def refusal(limit: int) -> FileTooLarge:
        return FileTooLarge(f"Over {limit}.", fields={"file": "too big"})

    sent = _multipart(_form(_part("file", b"x" * 200, filename="frame.jpg")))

    upload = _run(lambda: read_page_upload(sent.request, 100, too_large=refusal))

    assert upload.error is not None
    assert upload.error.detail == "Over 100."


def test_the_api_refuses_fields_and_bodies_it_did_not_ask_for() -> None:
    extra = _multipart(_form(_part("owner", b"me"), _part("file", b"x", filename="a")))
    urlencoded = Sent([b"title=x"], {"Content-Type": "application/x-www-form-urlencoded"})

    with pytest.raises(Invalid) as refused:
        _run(lambda: read_upload(extra.request, LIMIT, fields={"title"}, strict=True))
    assert refused.value.fields == {"owner": "not expected"}
    with pytest.raises(HTTPException) as wrong_type:
        _run(lambda: read_upload(urlencoded.request, LIMIT, strict=True))
    assert wrong_type.value.status_code == 415


def test_a_page_form_without_a_file_chosen_is_read_with_its_csrf_token() -> None:
    empty_input = _multipart(
        _form(_part("csrf_token", b"t0ken"), _part("file", b"", filename="", kind="x/y"))
    )
    plain = Sent([b"csrf_token=t0ken"], {"Content-Type": "application/x-www-form-urlencoded"})

    for sent in (empty_input, plain):
        upload = _run(lambda s=sent: read_page_upload(s.request, LIMIT, fields={"csrf_token"}))
        assert (upload.error, upload.file, upload.text("csrf_token")) == (None, None, "t0ken")


def test_a_broken_form_is_invalid_on_the_page_and_in_the_api() -> None:
    def broken() -> Sent:
        return _multipart(b"--nope\r\nbroken")

    page = _run(lambda: read_page_upload(broken().request, LIMIT))

    assert isinstance(page.error, Invalid)
    assert page.error.fields == {"file": "unreadable"}
    with pytest.raises(Invalid) as refused:
        _run(lambda: read_upload(broken().request, LIMIT, strict=True))
    assert refused.value.fields == {"body": "malformed form"}


def test_a_bare_body_over_the_limit_is_refused_with_or_without_a_length() -> None:
    declared = Sent([b"x" * 2000], {"Content-Length": "2000"})
    streamed = Sent([b"x" * 600] * 1000, {})
    fits = Sent([b"x" * 500, b"x" * 500], {})

    with pytest.raises(FileTooLarge):
        _run(lambda: read_body(declared.request, 1000))
    with pytest.raises(FileTooLarge):
        _run(lambda: read_body(streamed.request, 1000))

    assert declared.read == 0
    assert streamed.read == 2
    assert _run(lambda: read_body(fits.request, 1000)) == b"x" * 1000
