"""Uploads and downloads of the API: multipart and JSON bodies read within the size limit
(never an unbounded body into memory), and file answers that browsers cannot misread."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from onboard.domain.documents import EXTENSIONS, PHOTO_TYPES, TEXT
from onboard.domain.errors import FileTooLarge, Invalid
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import Svc
from onboard.services.documents import DocumentInput, StoredFile

# Room for the multipart framing and the small fields around the file.
FORM_OVERHEAD = 64 * 1024
MAX_JSON_BYTES = 64 * 1024
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no", ""})


def _too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(
        f"The file is larger than {limit:,} bytes.", fields={"file": f"at most {limit} bytes"}
    )


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The body, refused as soon as more than ``limit`` bytes have come."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit - FORM_OVERHEAD)
        yield chunk


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length", "")
    return int(raw) if raw.isdigit() else None


@dataclass(frozen=True)
class _Form:
    fields: dict[str, str]
    file: bytes | None


async def _read_form(request: Request, max_bytes: int, *, fields: frozenset[str]) -> _Form:
    """A multipart form of at most one file (``file``) of at most ``max_bytes`` and the
    given text fields; the file is spooled to disk by the parser while it comes in."""
    if _media_type(request) != "multipart/form-data":
        raise HTTPException(415, "Send the file as multipart/form-data.")
    limit = max_bytes + FORM_OVERHEAD
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise _too_large(max_bytes)
    parser = MultiPartParser(
        request.headers,
        _capped(request, limit),
        max_files=1,
        max_fields=len(fields) + 1,
        max_part_size=4 * 1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise Invalid(
            f"The form cannot be read: {exc.message}", fields={"body": "malformed form"}
        ) from None
    try:
        values: dict[str, str] = {}
        content: bytes | None = None
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "file":
                    raise Invalid(f"Unexpected file {name!r}.", fields={name: "not expected"})
                content = await value.read(max_bytes + 1)
                if len(content) > max_bytes:
                    raise _too_large(max_bytes)
            elif name in fields:
                values[name] = value
            else:
                raise Invalid(f"Unexpected field {name!r}.", fields={name: "not expected"})
        return _Form(values, content)
    finally:
        await form.close()


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Invalid(f"{name} is true or false.", fields={name: "true or false"})


async def _json(request: Request) -> bytes:
    declared = _declared_length(request)
    if declared is not None and declared > MAX_JSON_BYTES:
        raise HTTPException(413, f"A JSON body has at most {MAX_JSON_BYTES:,} bytes.")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_JSON_BYTES:
            raise HTTPException(413, f"A JSON body has at most {MAX_JSON_BYTES:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _document_input(request: Request, svc: Svc) -> DocumentInput:
    """SPEC §5.1: a file as multipart/form-data (``file``, ``title``, ``public``), or a link
    as JSON (``url``, ``title``, ``public``); either way checked before anything is stored."""
    if _media_type(request) == "application/json":
        raw = await _json(request)
        try:
            link = s.DocumentLinkCreate.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return DocumentInput(title=link.title, public=link.public, url=link.url)
    if _media_type(request) != "multipart/form-data":
        raise HTTPException(
            415, "Send a file as multipart/form-data, or a link as application/json."
        )
    form = await _read_form(
        request, svc.upload_max_bytes, fields=frozenset({"title", "public", "url"})
    )
    title = form.fields.get("title")
    if title is None:
        raise Invalid("A document needs a title.", fields={"title": "required"})
    public = _flag(form.fields.get("public"), "public")
    url = form.fields.get("url")
    if form.file is None and url is None:
        raise Invalid("Attach a file (or send a url).", fields={"file": "required"})
    return DocumentInput(title=title, public=public, url=url, content=form.file)


async def _photo_upload(request: Request, svc: Svc) -> bytes:
    form = await _read_form(request, svc.upload_max_bytes, fields=frozenset())
    if form.file is None:
        raise Invalid("Attach the photo as the file field.", fields={"file": "required"})
    return form.file


DocumentUpload = Annotated[DocumentInput, Depends(_document_input)]
PhotoUpload = Annotated[bytes, Depends(_photo_upload)]

_TITLE = {"type": "string", "minLength": 1, "maxLength": 200}
_PUBLIC = {"type": "boolean", "default": False, "description": "Shown to code users (A12)."}
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "title"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": _TITLE,
                        "public": _PUBLIC,
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["url", "title"],
                    "additionalProperties": False,
                    "properties": {
                        "url": {"type": "string", "minLength": 1, "maxLength": 2000},
                        "title": _TITLE,
                        "public": _PUBLIC,
                    },
                }
            },
        },
    }
}
PHOTO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": s.Problem.model_json_schema()}},
    }


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: _problem_response("The file is over the size limit (file_too_large)"),
    415: _problem_response("The file's content is not of an accepted type (unsupported_file_type)"),
}


def _file_content(media_types: list[str]) -> dict[int | str, dict[str, Any]]:
    schema = {"type": "string", "format": "binary"}
    return {
        200: {
            "description": "The file, typed by its content",
            "content": {media: {"schema": schema} for media in media_types},
        }
    }


DOCUMENT_FILE = _file_content(
    [*sorted(t for t in EXTENSIONS if t != TEXT), f"{TEXT}; charset=utf-8"]
)
PHOTO_FILE = _file_content(sorted(PHOTO_TYPES))


def _disposition(filename: str) -> str:
    """``inline`` with the name as ASCII and, for any other letters, as RFC 5987 UTF-8."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)  # fmt: skip
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(stored: StoredFile, *, filename: str) -> Response:
    """A stored file, with the type its bytes were found to be, and told not to be guessed
    at (``nosniff``) nor kept by shared caches."""
    return Response(
        stored.content,
        media_type=stored.content_type,  # text/plain gets "; charset=utf-8" from Starlette
        headers={
            "Content-Disposition": _disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )


def photo_name(content_type: str) -> str:
    return f"photo.{EXTENSIONS.get(content_type, 'bin')}"
