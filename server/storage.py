"""Content-addressed blob store under ``$PODIUM_DATA_DIR/blobs``.

Uploads are streamed to a temporary file while hashing, then moved to
``blobs/<aa>/<bb>/<sha256>``; nothing is ever held whole in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio

from server.config import Settings, get_settings
from server.exceptions import TooLarge
from server.filemodes import private_mkdir

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    path: Path

    def commit(self) -> StoredBlob:
        """Already in the store (see :class:`StagedBlob`)."""
        return self


@dataclass(frozen=True)
class StagedBlob(StoredBlob):
    """An upload written and hashed but not in the store yet (``path`` is a temporary
    file): validate it, then ``commit()``; leaving the ``with`` block without a
    commit deletes it, so a refused upload leaves nothing behind."""

    store: BlobStore

    def commit(self) -> StoredBlob:
        return self.store._commit(self.path, self.sha256, self.size)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)  # after a commit the temporary file is gone

    def __enter__(self) -> StagedBlob:
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def _new_temp(self) -> tuple[BinaryIO, Path]:
        private_mkdir(self.tmp)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="upload-")
        return os.fdopen(fd, "wb"), Path(name)

    def _commit(self, temp_path: Path, sha256: str, size: int) -> StoredBlob:
        final = self.path_for(sha256)
        private_mkdir(final.parent)
        if final.exists():
            temp_path.unlink(missing_ok=True)
            # A fresh mtime keeps the garbage collector (which spares recent blobs)
            # off a blob that a new row is about to reference again.
            os.utime(final)
        else:
            os.replace(temp_path, final)
        return StoredBlob(sha256=sha256, size=size, path=final)

    def stage_chunks(self, chunks: Iterable[bytes], max_bytes: int | None = None) -> StagedBlob:
        """Write and hash an upload outside the store; it joins it only on ``commit()``."""
        digest = hashlib.sha256()
        size = 0
        handle, temp_path = self._new_temp()
        try:
            with handle:
                for chunk in chunks:
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise _too_large(max_bytes)
                    digest.update(chunk)
                    handle.write(chunk)
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        return StagedBlob(digest.hexdigest(), size, temp_path, self)

    def stage_file(self, source: BinaryIO, max_bytes: int | None = None) -> StagedBlob:
        return self.stage_chunks(iter(lambda: source.read(CHUNK_SIZE), b""), max_bytes)

    def put_chunks(self, chunks: Iterable[bytes], max_bytes: int | None = None) -> StoredBlob:
        with self.stage_chunks(chunks, max_bytes) as staged:
            return staged.commit()

    def put_file(self, source: BinaryIO, max_bytes: int | None = None) -> StoredBlob:
        return self.put_chunks(iter(lambda: source.read(CHUNK_SIZE), b""), max_bytes)

    def put_bytes(self, data: bytes) -> StoredBlob:
        return self.put_chunks([data])

    def put_path(self, path: Path) -> StoredBlob:
        with open(path, "rb") as source:
            return self.put_file(source)

    async def stage_stream(self, stream: AsyncIterator[bytes], max_bytes: int) -> StagedBlob:
        """Stream an async body to a staged file (request bodies), hashing as it goes."""
        digest = hashlib.sha256()
        size = 0
        handle, temp_path = self._new_temp()
        try:
            with handle:
                async for chunk in stream:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(max_bytes)
                    digest.update(chunk)
                    await anyio.to_thread.run_sync(handle.write, chunk)
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise

        return StagedBlob(digest.hexdigest(), size, temp_path, self)


def _too_large(max_bytes: int) -> TooLarge:
    """The same 413 as the body-size middleware's (``server.errors.BodyTooLarge``)."""
    return TooLarge(
        f"request body too large: the limit is {max_bytes / (1024 * 1024):g} MB",
        headers={"Connection": "close"},
    )


def get_blob_store(settings: Settings | None = None) -> BlobStore:
    settings = settings or get_settings()
    return BlobStore(settings.blob_dir)
