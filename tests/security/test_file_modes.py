"""Defect 4: the data directory and everything in it are private to the server's user.

``podium.db`` and its ``-wal``/``-shm`` files used to be created 0644 in a 0755
directory: any local user could read private scores and password hashes. Now
the data directory is 0700, every folder in it 0700 and every file 0600 (the
database, its journals, blobs, the worker's cache), and wrong modes are
repaired at start with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import get_settings
from server.db import dispose_engines
from tests.conftest import TEST_DATABASE_URL, create_challenge, open_challenge_now, submit


def _loose(root: Path) -> list[str]:
    """Every path under ``root`` (itself included) that others could read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            found.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return found


def _make_loose(root: Path) -> None:
    os.chmod(root, 0o755)
    for path in root.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


@pytest.fixture
def loose_umask() -> object:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_data_dir_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    from server.migrations import upgrade

    data = tmp_path / "new" / "podium-data"
    monkeypatch.setenv("PODIUM_DATA_DIR", str(data))
    monkeypatch.delenv("PODIUM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    try:
        upgrade()
        from server.app import create_app

        with TestClient(create_app(recover_jobs=False)) as client:
            assert client.get("/api/v1/health").status_code == 200
    finally:
        dispose_engines()
        get_settings.cache_clear()
    assert (data / "podium.db").is_file()
    assert _loose(data) == []


def test_loose_modes_are_repaired_at_start_with_a_warning(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    make_user: Callable[..., str],
    loose_umask: object,
) -> None:
    cache = tmp_path / "worker-cache"
    (cache / "ab" / "cd").mkdir(parents=True)
    (cache / "ab" / "cd" / "blob").write_bytes(b"cached hidden labels")
    monkeypatch.setenv("PODIUM_WORKER_CACHE_DIR", str(cache))
    get_settings.cache_clear()
    organizer = make_user("olga", "organizer")
    participant = make_user("paul")
    from server.app import create_app

    app = create_app(recover_jobs=False)
    with TestClient(app) as api:
        fixture = create_challenge(api, organizer)
        open_challenge_now(api, organizer, fixture.slug)
        assert submit(api, participant, fixture.slug, fixture.predictions())["id"]
    if not TEST_DATABASE_URL:
        assert {"podium.db", "podium.db-wal", "podium.db-shm"} <= {
            p.name for p in data_dir.iterdir()
        }
    assert (data_dir / "blobs").is_dir()
    _make_loose(data_dir)
    _make_loose(cache)
    assert _loose(data_dir) and _loose(cache)
    with caplog.at_level(logging.WARNING), TestClient(create_app(recover_jobs=False)) as api:
        assert api.get("/api/v1/health").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("permissions" in w and str(data_dir) in w for w in warnings), warnings
    assert any("permissions" in w and str(cache) in w for w in warnings), warnings
    assert _loose(data_dir) == []
    assert _loose(cache) == []


def test_the_worker_cache_is_created_private(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    from server.workers.client import WorkerClient

    cache = tmp_path / "deep" / "worker-cache"
    monkeypatch.setenv("PODIUM_WORKER_CACHE_DIR", str(cache))
    get_settings.cache_clear()
    with WorkerClient(get_settings()) as client:
        client.cache.put_bytes(b"a hidden solution")
    assert _loose(cache) == []


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="a SQLite file")
def test_a_sqlite_database_outside_the_data_dir_is_private_and_hidden(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    from server.checkpoints.runner import hidden_folders
    from server.migrations import upgrade

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("PODIUM_DATABASE_URL", f"sqlite:///{elsewhere / 'other.db'}")
    get_settings.cache_clear()
    dispose_engines()
    upgrade()
    dispose_engines()
    for name in ("other.db", "other.db-wal", "other.db-shm"):
        path = elsewhere / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert (elsewhere / "other.db").exists()
    assert elsewhere.resolve() in {p.resolve() for p in hidden_folders(get_settings())}
