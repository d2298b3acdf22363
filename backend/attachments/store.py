"""Where attachment bytes live, addressed by their sha256: the store interface and a local-directory store.

An S3-compatible object store implements the same `AttachmentStore` Protocol (key
``ab/cd/<sha256>``; `put` as a PutObject, which is atomic, with ``If-None-Match: *`` or a HEAD
first to stay idempotent; `get`/`exists`/`size` as GetObject/HeadObject) and is handed to the
app in place of `LocalDirectoryStore`; nothing else changes.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio.to_thread

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentNotStored(LookupError):
    """The store holds no content with this hash."""


@runtime_checkable
class AttachmentStore(Protocol):
    async def put(self, sha256: str, data: bytes) -> None:
        """Store `data` under `sha256` durably (on return it survives a crash); a no-op when already stored."""

    async def get(self, sha256: str) -> bytes:
        """The stored bytes; raises AttachmentNotStored."""

    async def exists(self, sha256: str) -> bool: ...

    async def size(self, sha256: str) -> int:
        """The stored size in bytes; raises AttachmentNotStored."""


class LocalDirectoryStore:
    """Files at root/ab/cd/<sha256>, written to a temporary file, fsynced, renamed into place,
    and the directory fsynced, so a stored file is complete and survives power loss."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, sha256: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, self.path(sha256), data)

    def _durable_directories(self, path: Path) -> list[Path]:
        """The directories whose entries lead to `path`: ab/cd, ab, the root and the root's parent
        (any of them may have been created by this put)."""
        return [path.parent, path.parent.parent, self.root, self.root.parent]

    async def get(self, sha256: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, self.path(sha256))

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self.path(sha256).is_file)

    async def size(self, sha256: str) -> int:
        return await anyio.to_thread.run_sync(self._size, self.path(sha256))

    @staticmethod
    def _get(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise AttachmentNotStored(path.name) from None

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise AttachmentNotStored(path.name) from None

    def _put(self, path: Path, data: bytes) -> None:
        """Returns once the file and every directory entry leading to it are on disk. When the file
        is already there (content-addressed: the same name means the same bytes) it may be one whose
        put has not finished (a concurrent upload of the same bytes) or failed after the rename (a
        retry): its durability is not assumed but made sure of again, which costs little."""
        if path.is_file():
            for synced in (path, *self._durable_directories(path)):
                _fsync(synced)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)  # atomic: readers see no file or the whole file
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        for directory in self._durable_directories(path):
            _fsync(directory)


def _fsync(path: Path) -> None:
    """A file's or a directory's data and entries onto the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
