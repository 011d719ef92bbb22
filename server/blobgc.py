"""Collect blobs that no row references (``podium-server gc``, and a thread in the server).

Refused uploads never reach the store (they are staged, then discarded), but
files can still lose their last reference: a replaced solution or public file,
a config whose submission was refused at the quota check, a crash between the
store and the commit. Those are deleted once they are older than a grace
period, as are temporary files that a crash left in ``blobs/tmp``.

Race with a new upload of the same bytes: the store refreshes an existing
blob's mtime when it is reused, the candidates are listed before the
referenced hashes are read, and each one's age is checked again just before
it is deleted, so only a row committed more than the grace period after its
file was written could lose it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.config import Settings, get_settings
from server.db import session_scope
from server.models import Challenge, ChallengeFile, Submission
from server.storage import BlobStore, get_blob_store

log = logging.getLogger(__name__)

HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Collected:
    blobs: int
    temporary: int
    bytes: int


def referenced(session: Session) -> set[str]:
    """Every sha256 that a row points to."""
    columns = (
        Submission.file_sha256,
        Submission.config_sha256,
        Challenge.solution_sha256,
        Challenge.hidden_inputs_sha256,
        ChallengeFile.sha256,
    )
    found: set[str] = set()
    for column in columns:
        found.update(session.scalars(select(column).where(column.is_not(None)).distinct()))
    return found


def _old(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _candidates(store: BlobStore, cutoff: float) -> tuple[list[Path], list[Path]]:
    blobs: list[Path] = []
    temporary: list[Path] = []
    if not store.root.is_dir():
        return blobs, temporary
    for folder, folders, files in os.walk(store.root):
        here = Path(folder)
        if here == store.tmp:
            temporary += [here / name for name in files if _old(here / name, cutoff)]
            folders.clear()
            continue
        for name in files:
            if len(name) == 64 and set(name) <= HEX and _old(here / name, cutoff):
                blobs.append(here / name)
    return blobs, temporary


def _remove(path: Path, cutoff: float) -> int:
    """Delete ``path`` if it is still old; returns the bytes freed."""
    try:
        info = path.stat()
        if info.st_mtime >= cutoff:
            return -1
        path.unlink()
    except FileNotFoundError:
        return -1
    return info.st_size


def collect(
    settings: Settings | None = None, grace_seconds: float | None = None, dry_run: bool = False
) -> Collected:
    """Delete unreferenced blobs and stale temporary files older than the grace period."""
    settings = settings or get_settings()
    store = get_blob_store(settings)
    grace = settings.blob_gc_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = time.time() - grace
    blobs, temporary = _candidates(store, cutoff)
    with session_scope(settings) as session:
        keep = referenced(session)
    unreferenced = [path for path in blobs if path.name not in keep]
    if dry_run:
        sizes = sum(p.stat().st_size for p in unreferenced + temporary if p.exists())
        return Collected(len(unreferenced), len(temporary), sizes)
    counts = [0, 0]
    freed = 0
    for index, paths in enumerate((unreferenced, temporary)):
        for path in paths:
            size = _remove(path, cutoff)
            if size >= 0:
                counts[index] += 1
                freed += size
    if counts[0] or counts[1]:
        log.info(
            "blob gc: deleted %d unreferenced blobs and %d stale temporary files (%d bytes)",
            counts[0],
            counts[1],
            freed,
        )
    return Collected(counts[0], counts[1], freed)


class BlobCollector:
    """Run :func:`collect` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="blob-gc", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                collect()
            except Exception:
                log.exception("blob gc failed; trying again in %.0f s", self.interval)

    def start(self) -> BlobCollector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
