"""Documents and photos (SPEC A3): what an upload really is, titles and links, and the
content-addressed file storage on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from onboard.adapters.storage import LocalFiles
from onboard.domain.documents import (
    DOCUMENT_TYPES,
    PHOTO_TYPES,
    accepted_type,
    check_title,
    check_url,
    sniff,
)
from onboard.domain.errors import Invalid, NotFound, UnsupportedFileType

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
GIF = b"GIF89a\x01\x00\x01\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (GIF, "image/gif"),
        (b"GIF87a...", "image/gif"),
        ("Torque: 12 Nm\nFilter: ÄÖÜ ✓\n".encode(), "text/plain"),
        (b"\xef\xbb\xbfWith a byte order mark", "text/plain"),
    ],
)
def test_the_type_of_a_file_is_read_from_its_first_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        EXE,
        HTML,
        b"  \n<html><body>hi</body></html>",
        b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"<?xml version='1.0'?><x/>",
        b"text with a NUL\x00 inside",
        b"\xff\xfe not UTF-8 \xc3",
        b"RIFF\x24\x00\x00\x00AVI LIST",
        b"PK\x03\x04 a zip file",
    ],
    ids=["exe", "html", "html-after-space", "svg", "xml", "nul", "not-utf8", "avi", "zip"],
)
def test_programs_markup_and_binary_data_are_of_no_accepted_type(data: bytes) -> None:
    assert sniff(data) is None
    with pytest.raises(UnsupportedFileType):
        accepted_type(data, DOCUMENT_TYPES, what="document")


def test_a_photo_is_png_jpeg_or_webp_only() -> None:
    for data in (PNG, JPEG, WEBP):
        assert accepted_type(data, PHOTO_TYPES, what="photo")
    for data in (PDF, GIF, b"just text"):
        with pytest.raises(UnsupportedFileType) as refused:
            accepted_type(data, PHOTO_TYPES, what="photo")
        assert refused.value.code == "unsupported_file_type"


def test_an_empty_file_is_invalid() -> None:
    with pytest.raises(Invalid) as refused:
        accepted_type(b"", DOCUMENT_TYPES, what="document")
    assert refused.value.fields == {"file": "empty file"}


@pytest.mark.parametrize(
    "url",
    ["https://example.com/manual.pdf", "http://10.0.0.1:8080/x?y=1#z", "HTTPS://EXAMPLE.COM"],
)
def test_a_link_is_an_http_or_https_address(url: str) -> None:
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/manual.pdf",
        "file:///etc/passwd",
        "https://",
        "/relative/path",
        "https://exa mple.com",
        "https://example.com/\x07",
        "https://[::1",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_other_links_are_refused(url: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_url(url)
    assert "url" in refused.value.fields


def test_a_title_is_a_name_of_at_most_200_characters() -> None:
    assert check_title("  Operating   manual ") == "Operating manual"
    for title in ("", "   ", "a" * 201, "bell\x07"):
        with pytest.raises(Invalid) as refused:
            check_title(title)
        assert "title" in refused.value.fields


# --- the storage adapter -------------------------------------------------------------


def test_a_file_is_stored_under_the_sha256_of_its_content_in_shard_folders(
    tmp_path: Path,
) -> None:
    files = LocalFiles(tmp_path / "files")

    key = files.put(PDF)

    assert key == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "files" / key[:2] / key[2:4] / key).read_bytes() == PDF
    assert files.read(key) == PDF
    assert files.put(PDF) == key, "the same bytes are one file"
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [key]


def test_a_deleted_file_is_gone_and_reading_it_is_not_found(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path)
    key = files.put(PNG)

    files.delete(key)
    files.delete(key)  # deleting twice is harmless

    with pytest.raises(NotFound):
        files.read(key)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "ab/../../secret",
        "A" * 64,
        "0" * 63,
        "0" * 65,
        "0" * 63 + "\n",
        "",
    ],
)
def test_a_key_that_is_not_64_hex_digits_is_refused_before_any_path_is_built(
    tmp_path: Path, key: str
) -> None:
    files = LocalFiles(tmp_path / "files")
    (tmp_path / "secret").write_text("do not touch")

    for action in (files.read, files.delete):
        with pytest.raises(ValueError, match="not a storage key"):
            action(key)
    assert (tmp_path / "secret").exists()


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = LocalFiles(tmp_path)

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("onboard.adapters.storage.os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        files.put(PDF)

    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
