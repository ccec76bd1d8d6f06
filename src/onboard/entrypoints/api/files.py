"""Uploads and downloads of the API: documents and photos as multipart or JSON bodies, read
within the size limit by entrypoints.uploads, and file answers that browsers cannot misread."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from onboard.domain.documents import EXTENSIONS, PHOTO_TYPES, TEXT
from onboard.domain.errors import Invalid
from onboard.entrypoints.api import schemas as s
from onboard.entrypoints.api.deps import Svc
from onboard.entrypoints.uploads import media_type, read_body, read_upload
from onboard.services.documents import DocumentInput, StoredFile

MAX_JSON_BYTES = 64 * 1024
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no", ""})


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Invalid(f"{name} is true or false.", fields={name: "true or false"})


def _json_too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"A JSON body has at most {limit:,} bytes.")


async def _document_input(request: Request, svc: Svc) -> DocumentInput:
    """SPEC §5.1: a file as multipart/form-data (``file``, ``title``, ``public``), or a link
    as JSON (``url``, ``title``, ``public``); either way checked before anything is stored."""
    if media_type(request) == "application/json":
        raw = await read_body(request, MAX_JSON_BYTES, too_large=_json_too_large)
        try:
            link = s.DocumentLinkCreate.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return DocumentInput(title=link.title, public=link.public, url=link.url)
    if media_type(request) != "multipart/form-data":
        raise HTTPException(
            415, "Send a file as multipart/form-data, or a link as application/json."
        )
    form = await read_upload(
        request, svc.upload_max_bytes, fields={"title", "public", "url"}, strict=True
    )
    title = form.fields.get("title")
    if title is None:
        raise Invalid("A document needs a title.", fields={"title": "required"})
    public = _flag(form.fields.get("public"), "public")
    url = form.fields.get("url")
    if form.content is None and url is None:
        raise Invalid("Attach a file (or send a url).", fields={"file": "required"})
    return DocumentInput(title=title, public=public, url=url, content=form.content)


async def _photo_upload(request: Request, svc: Svc) -> bytes:
    form = await read_upload(request, svc.upload_max_bytes, strict=True)
    if form.content is None:
        raise Invalid("Attach the photo as the file field.", fields={"file": "required"})
    return form.content


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


TOO_LARGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: _problem_response("The file is over the size limit (file_too_large)"),
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **TOO_LARGE_RESPONSES,
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
