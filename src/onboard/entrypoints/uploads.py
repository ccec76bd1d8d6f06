"""Uploads read within a size limit, for the API and the pages alike: a form of one file and
a few small fields, or a bare body (a camera frame, a CSV file, a JSON document), refused as
soon as more than the limit has come, so that no body of any size lands in memory or on disk
(SPEC A3, §5.1)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from onboard.domain.documents import file_too_large
from onboard.domain.errors import DomainError, FileTooLarge, Invalid

FILE_FIELD = "file"
# Room for the multipart framing and the small fields around the file.
FORM_OVERHEAD = 64 * 1024
MAX_FIELDS = 10
FIELD_MAX_BYTES = 16 * 1024
# A page's upload over the limit is read to its end (and dropped) up to this many times the
# limit, so that the browser gets the page saying so instead of a broken connection.
DRAIN_FACTOR = 4
_YES = frozenset({"yes", "true", "on", "1"})


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.0f} MB" if megabytes == int(megabytes) else f"{megabytes:.1f} MB"
    return f"{max(1, limit // 1024)} KB"


def picture_too_large(limit: int) -> FileTooLarge:
    """The refusal of a picture taken with a phone, said the way a person reads sizes."""
    return FileTooLarge(
        f"The picture is larger than {_size(limit)}. Take it at a lower resolution or choose "
        "a smaller one.",
        fields={FILE_FIELD: f"at most {_size(limit)}"},
    )


@dataclass(frozen=True)
class UploadedFile:
    """The file of a form: its bytes, and the name and type the client gave it (a name to
    show at most: what the file is, is read from its bytes)."""

    content: bytes
    filename: str
    content_type: str


@dataclass(frozen=True)
class Upload:
    """A form of at most one file (``file``): the text fields asked for, the file (None when
    none was chosen), and, on a page, why the form was refused before any use case saw it."""

    fields: Mapping[str, str] = field(default_factory=dict)
    file: UploadedFile | None = None
    error: DomainError | None = None

    @property
    def content(self) -> bytes | None:
        return self.file.content if self.file is not None else None

    def text(self, name: str) -> str:
        return self.fields.get(name, "")

    def flag(self, name: str) -> bool:
        """A ticked checkbox (or a yes) in the form."""
        return self.text(name).strip().lower() in _YES


class _Body:
    """The request body, refused as soon as more than ``limit`` bytes have come."""

    def __init__(self, request: Request, limit: int, refusal: Exception) -> None:
        self.request = request
        self.limit = limit
        self.refusal = refusal
        self.received = 0

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        async for chunk in self.request.stream():
            self.received += len(chunk)
            if self.received > self.limit:
                raise self.refusal
            yield chunk

    async def drain(self) -> None:
        """Read the rest of an oversized body, within reason, and drop it."""
        cap = self.limit * DRAIN_FACTOR
        try:
            async for chunk in self.request.stream():
                self.received += len(chunk)
                if self.received > cap:
                    return
        except ClientDisconnect:
            return
        except RuntimeError:  # Starlette's "Stream consumed": all of it has come already
            return


def media_type(request: Request) -> str:
    """The request's Content-Type without its parameters, in lower case."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length", "")
    return int(raw) if raw.isdigit() else None


async def read_body(
    request: Request, max_bytes: int, *, too_large: Callable[[int], Exception] = file_too_large
) -> bytes:
    """The request body itself, at most ``max_bytes``; over that, ``too_large(max_bytes)``
    is raised as soon as the declared length or the bytes come show it."""
    refusal = too_large(max_bytes)
    declared = _declared_length(request)
    if declared is not None and declared > max_bytes:
        raise refusal
    body = _Body(request, max_bytes, refusal)
    return b"".join([chunk async for chunk in body.chunks()])


async def _parse(request: Request, body: _Body, *, strict: bool) -> FormData:
    sent_as = media_type(request)
    parser: MultiPartParser | FormParser
    if sent_as == "multipart/form-data":
        parser = MultiPartParser(
            request.headers,
            body.chunks(),
            max_files=1,
            max_fields=MAX_FIELDS,
            max_part_size=FIELD_MAX_BYTES,
        )
    elif sent_as == "application/x-www-form-urlencoded" and not strict:
        # A page's form sent without a file chosen: no file, and the CSRF token as usual.
        parser = FormParser(
            request.headers, body.chunks(), max_fields=MAX_FIELDS, max_part_size=FIELD_MAX_BYTES
        )
    elif strict:
        raise HTTPException(415, "Send the file as multipart/form-data.")
    else:
        raise Invalid("Send the form as a file upload.", fields={FILE_FIELD: "required"})
    try:
        return await parser.parse()
    except MultiPartException as exc:
        where = {"body": "malformed form"} if strict else {FILE_FIELD: "unreadable"}
        raise Invalid(f"The form cannot be read: {exc.message}", fields=where) from None


async def _read(
    request: Request,
    body: _Body,
    max_bytes: int,
    *,
    fields: Collection[str],
    strict: bool,
    too_large: Callable[[int], FileTooLarge],
) -> Upload:
    declared = _declared_length(request)
    if declared is not None and declared > body.limit:
        raise too_large(max_bytes)
    form = await _parse(request, body, strict=strict)
    try:
        values: dict[str, str] = {}
        found: UploadedFile | None = None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != FILE_FIELD:
                    if strict:
                        raise Invalid(f"Unexpected file {name!r}.", fields={name: "not expected"})
                    continue
                content = await value.read(max_bytes + 1)
                if len(content) > max_bytes:
                    raise too_large(max_bytes)
                if content or value.filename:  # an empty file input sends a nameless part
                    found = UploadedFile(content, value.filename or "", value.content_type or "")
            elif name in fields:
                values[name] = value
            elif strict:
                raise Invalid(f"Unexpected field {name!r}.", fields={name: "not expected"})
        return Upload(values, found)
    finally:
        await form.close()


async def read_upload(
    request: Request,
    max_bytes: int,
    *,
    fields: Collection[str] = (),
    strict: bool = False,
    too_large: Callable[[int], FileTooLarge] = file_too_large,
) -> Upload:
    """A multipart form with at most one file (``file``) of at most ``max_bytes``, spooled
    by the parser while it comes in, and the text ``fields`` asked for. Raises
    ``too_large(max_bytes)`` as soon as the body is over the limit, and Invalid for a form
    that cannot be read.

    ``strict`` (the API): a field or file not asked for is Invalid, and a body that is not
    multipart is 415. Otherwise (a page) others are ignored, and a URL-encoded form (no file
    chosen) is read too."""
    body = _Body(request, max_bytes + FORM_OVERHEAD, too_large(max_bytes))
    return await _read(request, body, max_bytes, fields=fields, strict=strict, too_large=too_large)


async def read_page_upload(
    request: Request,
    max_bytes: int,
    *,
    fields: Collection[str] = (),
    too_large: Callable[[int], FileTooLarge] = file_too_large,
) -> Upload:
    """The upload form of a page, read as read_upload() reads it, with a refusal (too large,
    unreadable) in ``error`` to show next to the file field rather than raised. The CSRF
    token is one of the ``fields``: a form refused here has not been checked, and does
    nothing. An oversized body is read on, within reason, so that the browser gets the page."""
    body = _Body(request, max_bytes + FORM_OVERHEAD, too_large(max_bytes))
    try:
        return await _read(
            request, body, max_bytes, fields=fields, strict=False, too_large=too_large
        )
    except FileTooLarge as error:
        await body.drain()
        return Upload(error=error)
    except Invalid as error:
        return Upload(error=error)
