"""Private file modes: the data directory is 0700, every folder in it 0700, every file 0600.

The database holds password hashes and private scores, the blob store the hidden
solutions: no other local user may read them. New folders are made private as
they are created, the SQLite file is created 0600 before SQLite opens it (its
``-wal`` and ``-shm`` files take the database's mode), and ``secure_at_start``
repairs what an older version or a copy left readable, with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from server.config import Settings

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_mkdir(path: Path) -> Path:
    """``mkdir -p`` whose new folders are 0700 (``Path.mkdir`` gives parents the umask's)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is also cut by the umask
    return path


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its journals follow its mode)."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        private_mkdir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))


def _repair(path: Path, wanted: int) -> bool:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return False
    if stat.S_IMODE(info.st_mode) == wanted:
        return False
    os.chmod(path, wanted)
    return True


def secure_tree(root: Path) -> int:
    """Make ``root`` and everything under it private; returns how many modes changed."""
    if not root.is_dir():
        return 0
    changed = int(_repair(root, PRIVATE_DIR))
    for folder, folders, files in os.walk(root):
        for name in folders:
            changed += _repair(Path(folder, name), PRIVATE_DIR)
        for name in files:
            changed += _repair(Path(folder, name), PRIVATE_FILE)
    return changed


def _warn(changed: int, where: Path) -> None:
    if changed:
        log.warning(
            "repaired the permissions of %d files and folders under %s: other local users "
            "could read them (folders are now 0700, files 0600)",
            changed,
            where,
        )


def secure_worker_cache(cache: Path) -> None:
    """At a worker's start: its cache of solutions and hidden inputs is private."""
    private_mkdir(cache)
    _warn(secure_tree(cache), cache)


def secure_at_start(settings: Settings, worker_cache: Path | None = None) -> None:
    """Create the data directory private and repair loose modes (server and worker start)."""
    private_mkdir(settings.data_dir)
    _warn(secure_tree(settings.data_dir), settings.data_dir)
    if worker_cache is not None and worker_cache.is_dir():
        _warn(secure_tree(worker_cache), worker_cache)
    database = sqlite_path(settings.sqlalchemy_url)
    if database is not None and not database.resolve().is_relative_to(settings.data_dir.resolve()):
        changed = sum(
            _repair(path, PRIVATE_FILE)
            for suffix in SQLITE_SUFFIXES
            if (path := database.with_name(database.name + suffix)).is_file()
        )
        _warn(changed, database)
