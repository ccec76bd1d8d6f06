"""File storage on the local disk: document files and installation photos under
``var/files``, named by the SHA-256 of their content (SPEC A3)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

from onboard.domain.errors import NotFound

_KEY = re.compile(r"^[0-9a-f]{64}$")


class LocalFiles:
    """Content-addressed files: the key is the SHA-256 hex of the bytes, and the file lives
    at ``root/ab/cd/abcd…`` so that no folder grows too large. A file is written to a
    temporary name and renamed into place, so a reader never sees half a file. Keys that
    are not 64 lowercase hex digits are refused before any path is built: a key can never
    lead outside the root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key[2:4] / key

    def key_for(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def put(self, data: bytes) -> str:
        key = self.key_for(data)
        path = self._path(key)
        if path.is_file() and path.stat().st_size == len(data):
            return key  # the same bytes are there already
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return key

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("The file is no longer in the storage.") from None

    def delete(self, key: str) -> None:
        # Shard folders stay: removing one could pull it from under a concurrent put().
        self._path(key).unlink(missing_ok=True)
