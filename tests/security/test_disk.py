"""Defect 2: the disk is bounded.

Refused uploads (422, 429) used to stay in the blob store forever, and nothing
collected unreferenced blobs: five refused 2 MB uploads grew the store by
10 MB. Now an upload joins the store only once accepted, and `podium-server
gc` (also run periodically by the server) deletes blobs no row references.
Runs on SQLite, and on PostgreSQL with ``PODIUM_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from server.config import get_settings
from server.storage import get_blob_store
from tests.conftest import auth, create_challenge, open_challenge_now, submit

HOUR = 3600


def _store_files(data_dir: Path) -> dict[str, int]:
    blobs = data_dir / "blobs"
    return {str(p.relative_to(blobs)): p.stat().st_size for p in blobs.rglob("*") if p.is_file()}


def _junk(size: int, seed: int) -> bytes:
    """A CSV with the right header whose rows are wrong: a 422."""
    row = f"{seed},not-a-label\n".encode()
    return b"id,label\n" + row * (size // len(row))


def test_refused_uploads_leave_nothing_in_the_blob_store(
    api: TestClient, organizer_token: str, participant_token: str, data_dir: Path
) -> None:
    fixture = create_challenge(api, organizer_token, daily_submission_limit=1)
    open_challenge_now(api, organizer_token, fixture.slug)
    before = _store_files(data_dir)
    for seed in range(5):
        refused = submit(api, participant_token, fixture.slug, _junk(2 * 1024 * 1024, seed))
        assert refused["status_code"] == 422, refused
    assert _store_files(data_dir) == before
    accepted = submit(api, participant_token, fixture.slug, fixture.predictions())
    assert accepted["status_code"] == 201, accepted
    after_accepted = _store_files(data_dir)
    assert len(after_accepted) == len(before) + 1
    over_limit = submit(api, participant_token, fixture.slug, fixture.predictions(wrong={1}))
    assert over_limit["status_code"] == 429, over_limit
    assert _store_files(data_dir) == after_accepted


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_gc_deletes_unreferenced_blobs_and_keeps_referenced_and_recent_ones(
    api: TestClient, organizer_token: str, participant_token: str, data_dir: Path
) -> None:
    from server.cli import app as cli

    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    accepted = submit(api, participant_token, fixture.slug, fixture.predictions())
    assert accepted["status_code"] == 201
    store = get_blob_store()
    referenced = [data_dir / "blobs" / name for name in _store_files(data_dir)]
    stray = store.put_bytes(b"a replaced solution nobody points to")
    recent = store.put_bytes(b"an upload whose row is not committed yet")
    stale_temp = store.tmp / "upload-left-by-a-crash"
    stale_temp.write_bytes(b"half an upload")
    for path in [*referenced, stray.path, stale_temp]:
        _age(path, 2 * HOUR)

    dry = CliRunner().invoke(cli, ["gc", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete 1 unreferenced blobs and 1 stale temporary files" in dry.output
    assert stray.path.exists()

    result = CliRunner().invoke(cli, ["gc"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 unreferenced blobs and 1 stale temporary files" in result.output
    assert not stray.path.exists() and not stale_temp.exists()
    assert recent.path.exists()
    assert all(path.exists() for path in referenced)
    download = api.get(
        f"/api/v1/submissions/{accepted['id']}/file", headers=auth(participant_token)
    )
    assert download.status_code == 200
    assert download.content == fixture.predictions()


def test_reusing_a_stored_blob_refreshes_it_for_the_grace_period(data_dir: Path) -> None:
    store = get_blob_store()
    first = store.put_bytes(b"the same bytes twice")
    _age(first.path, 2 * HOUR)
    again = store.put_bytes(b"the same bytes twice")
    assert again.path == first.path
    assert time.time() - again.path.stat().st_mtime < HOUR


def test_the_server_collects_periodically(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, make_user: Callable[..., str]
) -> None:
    monkeypatch.setenv("PODIUM_BLOB_GC_INTERVAL_SECONDS", "0.2")
    get_settings.cache_clear()
    from server.app import create_app

    stray = get_blob_store().put_bytes(b"orphaned by a crash")
    _age(stray.path, 2 * HOUR)
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/health").status_code == 200
        deadline = time.monotonic() + 60
        while stray.path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not stray.path.exists()
