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
from concurrent.futures import ThreadPoolExecutor
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


CHUNK = 1024 * 1024
BOUNDARY = "podiumtestboundary"


def _post_unread(app: object, path: str, headers: dict[str, str], chunks: int) -> tuple[int, int]:
    """POST a multipart upload of ``chunks`` MB straight to the ASGI app: (status, chunks read)."""
    import anyio

    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    parts = [head, *([b"0" * CHUNK] * chunks), tail]
    sent = 0
    status: list[int] = []

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent < len(parts):
            sent += 1
            return {"type": "http.request", "body": parts[sent - 1], "more_body": sent < len(parts)}
        await anyio.sleep(3600)  # the client keeps the connection open
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))  # type: ignore[call-overload]

    all_headers = {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "content-length": str(sum(len(p) for p in parts)),
        **headers,
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("203.0.113.9", 1234),
        "server": ("testserver", 80),
        "state": {},
    }

    async def call() -> None:
        with anyio.fail_after(120):
            await app(scope, receive, send)  # type: ignore[operator]

    # In a thread of its own: the session's Playwright (sync API) keeps an event
    # loop running in the main thread once a browser test has run.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, call).result()
    return status[0], max(min(sent - 1, chunks), 0)  # filler chunks handed to the app


def test_uploads_are_refused_before_their_body_is_read(
    api: TestClient, organizer_token: str, participant_token: str, data_dir: Path
) -> None:
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    create_challenge(api, organizer_token, slug="draft")
    create_challenge(api, organizer_token, slug="closed")
    open_challenge_now(api, organizer_token, "closed")
    closed = api.patch(
        "/api/v1/challenges/closed", json={"state": "closed"}, headers=auth(organizer_token)
    )
    assert closed.status_code == 200, closed.text
    app = api.app
    cases = [
        (f"/api/v1/challenges/{fixture.slug}/submissions", {}, 401),
        (f"/api/v1/challenges/{fixture.slug}/submissions", auth("pod_not-a-real-token"), 401),
        ("/api/v1/challenges/draft/submissions", auth(participant_token), 404),
        ("/api/v1/challenges/closed/submissions", auth(participant_token), 403),
        ("/api/v1/challenges/nope/submissions", {}, 404),
        (f"/api/v1/challenges/{fixture.slug}/baselines", {}, 401),
        (f"/api/v1/challenges/{fixture.slug}/baselines", auth(participant_token), 403),
        (f"/c/{fixture.slug}/submissions", {}, 303),  # the sign-in page
        ("/c/closed/submissions", {"cookie": f"podium_session={participant_token}"}, 403),
    ]
    for path, headers, expected in cases:
        status, read = _post_unread(app, path, headers, chunks=64)
        assert (status, read) == (expected, 0), (path, status, read)
    # The control: an upload that passes the checks is read (and refused: not a CSV).
    status, read = _post_unread(
        app, f"/api/v1/challenges/{fixture.slug}/submissions", auth(participant_token), chunks=3
    )
    assert (status, read) == (422, 3)


def test_refused_bytes_have_a_daily_budget_per_user(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, make_user: Callable[..., str]
) -> None:
    monkeypatch.setenv("PODIUM_REFUSED_UPLOAD_MB_PER_DAY", "1")
    get_settings.cache_clear()
    from server.app import create_app

    organizer, student, classmate = make_user("olga", "organizer"), make_user("s1"), make_user("s2")
    with TestClient(create_app(recover_jobs=False)) as api:
        fixture = create_challenge(api, organizer, daily_submission_limit=1)
        open_challenge_now(api, organizer, fixture.slug)
        statuses = [
            submit(api, student, fixture.slug, _junk(400 * 1024, seed))["status_code"]
            for seed in range(3)
        ]
        assert statuses == [422, 422, 422]
        refused = api.post(
            f"/api/v1/challenges/{fixture.slug}/submissions",
            files={"file": ("p.csv", fixture.predictions(), "text/csv")},
            headers=auth(student),
        )
        assert refused.status_code == 429, refused.text
        assert "refused uploads" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        # Another user is not affected, and a quota refusal (429) counts too.
        assert submit(api, classmate, fixture.slug, fixture.predictions())["status_code"] == 201
        status, read = _post_unread(
            api.app, f"/api/v1/challenges/{fixture.slug}/submissions", auth(student), chunks=1
        )
        assert (status, read) == (429, 0)


def test_refused_organizer_uploads_leave_nothing_either(
    api: TestClient, organizer_token: str, data_dir: Path
) -> None:
    body = {
        "slug": "mixed",
        "title": "Mixed",
        "metric": "accuracy",
        "submission_kinds": ["csv", "checkpoint"],
        "checkpoint_spec": {"formats": ["safetensors"]},
    }
    assert api.post("/api/v1/challenges", json=body, headers=auth(organizer_token)).is_success
    before = _store_files(data_dir)
    refusals = [
        ("/api/v1/challenges/mixed/solution", b"id,label\n1,2\n" * 5000),
        ("/api/v1/challenges/mixed/hidden-inputs", b"PK\x03\x04" + b"0" * 100_000),
        ("/api/v1/challenges/mixed/files/..secret", b"a public file with a bad name"),
        ("/api/v1/challenge-bundles", b"PK\x03\x04 not really a zip" * 1000),
    ]
    for path, content in refusals:
        method = api.post if path.endswith("bundles") else api.put
        response = method(path, content=content, headers=auth(organizer_token))
        assert response.status_code in (400, 422), (path, response.status_code, response.text)
    assert _store_files(data_dir) == before
    accepted = api.put(
        "/api/v1/challenges/mixed/files/train.csv",
        content=b"id,pixel0,label\n0,0.5,3\n",
        headers=auth(organizer_token),
    )
    assert accepted.status_code == 201, accepted.text
    assert len(_store_files(data_dir)) == len(before) + 1
