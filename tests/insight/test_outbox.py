"""Webhook delivery through the database outbox (issue #18, defect 8).

Two reproductions of the review:

- two server processes on SQLite both announced the same event (the row lock
  ``with_for_update()`` is a no-op there): two racing event checks, each on
  its own database connection as two processes would be, with the in-process
  lock taken out of the way, must queue one message per webhook;
- a restart during retries lost the queued message: a live server is killed
  between two attempts, and the restarted server must deliver it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import get_settings
from server.insight import notify
from tests.conftest import auth, create_challenge, open_challenge_now
from tests.insight.conftest import Receiver
from tests.insight.helpers import settle
from tests.insight.test_notify import hooks, set_webhooks
from tests.workers.processes import LiveServer, wait_for

pytestmark = pytest.mark.usefixtures("fast_retries")

RACE_SECONDS = 3.0


def test_two_processes_racing_on_one_event_send_it_once(
    api: TestClient,
    organizer_token: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_challenge(api, organizer_token)
    assert set_webhooks(api, organizer_token, hooks(receiver)).status_code == 200
    open_challenge_now(api, organizer_token, "digits")
    # Two processes: no shared in-process lock, each reads the challenge before
    # either writes (on PostgreSQL the row lock makes the second one wait instead).
    monkeypatch.setattr(notify, "_event_lock", contextlib.nullcontext())
    both_read = threading.Barrier(2, timeout=RACE_SECONDS)
    original = notify._locked_challenge

    def read_then_wait(session: Any, challenge_id: int) -> Any:
        challenge = original(session, challenge_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return challenge

    monkeypatch.setattr(notify, "_locked_challenge", read_then_wait)
    threads = [
        threading.Thread(target=notify.send_due_notifications, args=(get_settings(),))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    settle()
    assert len(receiver.texts("/discord")) == 1, receiver.texts("/discord")
    assert len(receiver.texts("/slack")) == 1, receiver.texts("/slack")
    assert "is open" in receiver.texts("/discord")[0]


def test_a_message_waiting_for_a_retry_survives_a_restart(
    data_dir: Path,
    organizer_token: str,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    env = dict(os.environ) | {
        "PODIUM_ENV": "test",
        "PODIUM_WEBHOOK_BACKOFF_SECONDS": "3",
        "PODIUM_WEBHOOK_MAX_ATTEMPTS": "5",
        "PODIUM_WEBHOOK_TIMEOUT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PODIUM_BROKER_URL", None)
    server = LiveServer(env, tmp_path / "server-1.log")
    server.start()
    try:
        server.wait_ready()
        import httpx

        with httpx.Client(base_url=server.url, timeout=30) as http:
            create_challenge(http, organizer_token)  # type: ignore[arg-type]
            response = http.patch(
                "/api/v1/challenges/digits",
                json={"webhooks": {"slack_url": f"{receiver.url}/slack"}},
                headers=auth(organizer_token),
            )
            assert response.status_code == 200, response.text
            receiver.reset(fail_first=1, fail_status=503)
            response = http.post(
                "/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token)
            )
            assert response.json() == {"queued": 1}
        # The first attempt failed; the next one is seconds away: kill the server now.
        wait_for("the first attempt", lambda: len(receiver.bodies("/slack")) >= 1, 30)
        time.sleep(0.5)  # let it write down the failed attempt (not a timing assert)
        server.signal_group(signal.SIGKILL)
        assert server.popen is not None
        server.popen.wait(timeout=30)
        restarted = LiveServer(env, tmp_path / "server-2.log", server.port)
        restarted.start()
        try:
            restarted.wait_ready()
            wait_for("the retry after the restart", lambda: receiver.texts("/slack"), 60)
        finally:
            restarted.stop()
    finally:
        server.stop()
    assert len(receiver.texts("/slack")) == 1
    assert "reach this channel" in receiver.texts("/slack")[0]


def test_each_queued_message_is_claimed_by_one_deliverer(
    api: TestClient, organizer_token: str, receiver: Receiver
) -> None:
    """Two deliverers (two processes) over one outbox: every message is posted once."""
    from server.db import session_scope
    from server.insight.outbox import Deliverer
    from server.models import OutboxMessage

    create_challenge(api, organizer_token)
    assert set_webhooks(api, organizer_token, hooks(receiver)).status_code == 200
    settle()
    receiver.reset()
    other = Deliverer()
    sent = 0
    for _ in range(10):
        response = api.post(
            "/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token)
        )
        sent += response.json()["queued"]
        other.wake()
    settle()
    assert other.wait_idle(30)
    assert len(receiver.bodies("/discord")) + len(receiver.bodies("/slack")) == sent == 20
    with session_scope() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    assert statuses == ["sent"] * 20
    other.stop()
