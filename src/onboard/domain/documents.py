"""Documents of devices and templates (manuals: files or links, public or internal), the
installation photo, and what kind of file an upload really is (SPEC A3, A4, A12)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from onboard.domain.errors import FileTooLarge, Invalid, UnsupportedFileType
from onboard.domain.values import require_name

MAX_URL_LENGTH = 2000

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
GIF = "image/gif"
TEXT = "text/plain"

# What may be stored where. Every type here is one a browser shows without running
# anything: no HTML, SVG or other markup, whatever the file is called (A12 serves these
# files to anyone holding the sticker).
DOCUMENT_TYPES = frozenset({PDF, PNG, JPEG, WEBP, GIF, TEXT})
PHOTO_TYPES = frozenset({PNG, JPEG, WEBP})

EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg", WEBP: "webp", GIF: "gif", TEXT: "txt"}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
_UTF8_BOM = b"\xef\xbb\xbf"
# Control characters no text file holds (tab, line feed, form feed and carriage return do).
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, read from their magic numbers (never from a name or a
    client's Content-Type), or None when they are none of the known types.

    Plain text is UTF-8 without NUL or other control characters (but tab and line breaks)
    that does not open with markup (``<``, as HTML, XML and SVG do), so a program or a web
    page renamed ``manual.txt`` is not text here."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if _BINARY.search(data):
        return None
    try:
        text = data.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.lstrip().startswith("<"):
        return None
    return TEXT


def file_too_large(limit: int) -> FileTooLarge:
    """A3: the refusal of a file over the size limit of ``limit`` bytes."""
    return FileTooLarge(
        f"The file is larger than {limit:,} bytes.", fields={"file": f"at most {limit:,} bytes"}
    )


def accepted_type(data: bytes, accepted: frozenset[str], *, what: str) -> str:
    """The sniffed media type of a non-empty upload, if it is one of ``accepted``."""
    if not data:
        raise Invalid(f"The {what} is empty.", fields={"file": "empty file"})
    media_type = sniff(data)
    if media_type is None or media_type not in accepted:
        names = ", ".join(sorted(EXTENSIONS[t].upper() for t in accepted))
        raise UnsupportedFileType(
            f"This {what} is not of an accepted type ({names}); the type is read from the "
            "file's content, not from its name.",
            fields={"file": "unsupported file type"},
        )
    return media_type


def check_title(raw: str) -> str:
    """A document's title: a name (trimmed, 1-200 characters, no control characters)."""
    return require_name(raw, field="title")


def check_url(raw: str) -> str:
    """A link document's address: an absolute http or https URL with a host, at most 2,000
    characters, without white space or control characters."""
    url = raw.strip()
    wrong = Invalid(
        "The link must be an http:// or https:// address.", fields={"url": "http(s) URL"}
    )
    if not url:
        raise Invalid("The link must not be empty.", fields={"url": "required"})
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(
            f"The link is longer than {MAX_URL_LENGTH} characters.",
            fields={"url": f"at most {MAX_URL_LENGTH} characters"},
        )
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        raise Invalid(
            "The link must not contain spaces or control characters.",
            fields={"url": "no spaces or control characters"},
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise wrong from None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        raise wrong
    return url


@dataclass(frozen=True)
class Document:
    """A manual or other document of a device, or a default document of a template (A3,
    A4): a stored file (``storage_key``) or a link (``url``), public (shown to code users,
    A12) or internal."""

    id: str
    organization_id: str
    device_id: str | None
    template_id: str | None
    title: str
    url: str | None
    storage_key: str | None
    content_type: str | None
    size: int | None
    public: bool
    author: str
    created_at: datetime

    @property
    def is_file(self) -> bool:
        return self.storage_key is not None

    @property
    def file_name(self) -> str:
        """A name to save the file under: the title, and the extension of its type."""
        extension = EXTENSIONS.get(self.content_type or "", "bin")
        stem = "".join(c if c.isalnum() or c in " -_." else "_" for c in self.title).strip()
        return f"{stem or 'document'}.{extension}"

    def copied_to_device(self, device_id: str, *, id: str, at: datetime) -> Document:
        """A4: a template's default document as a document of a device made from it; a
        file is shared, not copied (its storage key names its content)."""
        return replace(self, id=id, device_id=device_id, template_id=None, created_at=at)
