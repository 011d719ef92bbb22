"""Streaming helpers: progress bars, a progress-reporting file reader, hashing."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

__all__ = ["CHUNK_SIZE", "ProgressReader", "progress_enabled", "sha256_file", "transfer_progress"]

CHUNK_SIZE = 1024 * 1024
# Uploads smaller than this finish before a bar is worth drawing.
BIG_FILE = 1024 * 1024

Advance = Callable[[int], None]


def progress_enabled(progress: bool | None, size: int | None = None) -> bool:
    """Resolve a ``progress=None`` argument: on for big transfers on a terminal."""
    if progress is not None:
        return progress
    if size is not None and size < BIG_FILE:
        return False
    return sys.stderr.isatty()


@contextmanager
def transfer_progress(description: str, total: int | None, *, enabled: bool) -> Iterator[Advance]:
    """Show a rich progress bar on stderr; yield a function that advances it."""
    if not enabled:
        yield lambda _n: None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            bar.update(task, advance=n)

        yield advance


class ProgressReader:
    """Wrap a binary file so that every read advances a progress bar.

    It keeps ``fileno`` (so httpx can send a Content-Length without reading
    the file) and ``seek`` (httpx rewinds multipart files before sending).
    """

    def __init__(self, fh: BinaryIO, advance: Advance) -> None:
        self._fh = fh
        self._advance = advance
        self.name = getattr(fh, "name", "upload")

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        self._advance(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
