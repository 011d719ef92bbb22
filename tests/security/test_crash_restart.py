"""kill -9 the server mid-burst, restart it, and account for every accepted submission.

Four clients upload predictions without pause; three times, once a few more
uploads were acknowledged, the whole server process group gets SIGKILL (no
shutdown hook runs, requests are cut mid-flight) and is started again on the
same data directory and database. The clients ride through the restarts,
retrying on connection errors. Afterwards every submission the clients were
told was accepted (201) must exist and be scored with the score its file
deserves, and no submission at all, acknowledged or not, may stay queued or
running: the embedded transport re-dispatches queued jobs at startup and the
lease sweeper re-queues the running ones whose process died. (The Celery
worker-kill case is covered with the workers.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.security.live import LiveServer, open_challenge, upload, wait_until_settled
from tests.security.world import PUBLIC_ROWS

KILLS = 3
ACKS_BETWEEN_KILLS = 6
CLIENTS = 4
# A short lease, so that a job cut off mid-scoring is re-queued soon after the restart.
LEASE_SECONDS = 5


def test_kill_9_mid_burst_loses_no_accepted_submission_and_leaves_none_stuck(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(env={"PODIUM_JOB_LEASE_SECONDS": str(LEASE_SECONDS)})
    organizer = server.create_organizer("olga")
    hidden = open_challenge(server, organizer, "crash", daily_submission_limit=1000)
    tokens = [server.create_participant(f"client{i}") for i in range(CLIENTS)]
    accepted: dict[int, float] = {}
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(index: int, token: str) -> None:
        sent = 0
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            while not stop.is_set():
                public_right = (index * 5 + sent) % (PUBLIC_ROWS + 1)
                sent += 1
                try:
                    response = upload(client, "crash", hidden.predictions(public_right, 7))
                except httpx.TransportError:
                    time.sleep(0.2)  # the server is down: try again, like a user would
                    continue
                if response.status_code == 201:
                    with lock:
                        accepted[response.json()["id"]] = public_right / PUBLIC_ROWS
                elif response.status_code != 503:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [
        threading.Thread(target=client_loop, args=(i, t), daemon=True) for i, t in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in range(KILLS):
            with lock:
                target = len(accepted) + ACKS_BETWEEN_KILLS
            deadline = time.monotonic() + 120
            while len(accepted) < target:
                assert time.monotonic() < deadline, f"no progress\n{server.log()}"
                time.sleep(0.05)
            server.kill()
            time.sleep(0.3)
            server.start()
        with lock:
            target = len(accepted) + ACKS_BETWEEN_KILLS
        while len(accepted) < target:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors[:5]
    rows = {r["id"]: r for r in wait_until_settled(server, organizer, "crash", timeout=180)}
    lost = sorted(set(accepted) - set(rows))
    assert not lost, f"accepted (201) but lost after kill -9: {lost}"
    for submission_id, score in accepted.items():
        row = rows[submission_id]
        assert row["status"] == "scored", row
        assert row["public_score"] == pytest.approx(score), row
    unacknowledged = set(rows) - set(accepted)
    assert all(rows[i]["status"] in ("scored", "failed") for i in unacknowledged)
    if not TEST_DATABASE_URL:
        with sqlite3.connect(server.data_dir / "podium.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    print(
        f"crash and restart: {KILLS} kills survived, {len(accepted)} acknowledged submissions, "
        f"{len(unacknowledged)} cut off mid-request, 0 lost, 0 stuck"
    )
