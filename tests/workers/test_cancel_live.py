"""A team cancels its own submissions, racing the worker that scores them (live server).

Jobs go to real Redis where nobody consumes them: the test plays the worker
through the worker API (claim, then post the result), so that a cancel and a
result can be sent at the same instant, from two threads, to a server of two
processes. Whoever wins, the end is consistent: a cancel that succeeded is
never overwritten by the result, and a cancelled submission uses no quota.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.security.live import LiveServer, open_challenge, upload
from tests.security.world import WORKER_TOKEN

pytestmark = pytest.mark.redis

ROUNDS = 12
DAILY = 20


@pytest.fixture
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str, broker_url: str
) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("cancel"),
        migrated_template,
        workers=2,
        env={"PODIUM_BROKER_URL": broker_url, "PODIUM_JOB_LEASE_SECONDS": "300"},
    )
    live.start()
    yield live
    live.stop()


def both_at_once(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    barrier = threading.Barrier(2)

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(run, first), pool.submit(run, second)
        return a.result(), b.result()


def test_a_cancel_racing_the_result_ends_consistently_and_uses_no_quota(
    server: LiveServer,
) -> None:
    organizer = server.create_organizer("olga")
    hidden = open_challenge(server, organizer, "cancel", limits={"per_day": DAILY})
    student = server.create_participant("carla")
    worker = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {WORKER_TOKEN}"}, timeout=60
    )
    team = server.client(student)
    outcomes = []
    try:
        for _ in range(ROUNDS):
            created = upload(team, "cancel", hidden.predictions(10, 10))
            assert created.status_code == 201 and created.json()["status"] == "queued"
            sid = created.json()["id"]
            claimed = worker.post(f"/api/v1/worker/submissions/{sid}/claim", json={"worker": "t"})
            assert claimed.status_code == 200, claimed.text
            attempt = claimed.json()["attempt"]
            cancel, result = both_at_once(
                lambda s=sid: team.post(f"/api/v1/submissions/{s}/cancel"),
                lambda s=sid, a=attempt: worker.post(
                    f"/api/v1/worker/submissions/{s}/result",
                    json={"attempt": a, "public_score": 0.5, "private_score": 0.5},
                ),
            )
            final = team.get(f"/api/v1/submissions/{sid}").json()
            if cancel.status_code == 200:
                # The cancel won: the result was refused and the row stays cancelled.
                assert result.status_code == 409, result.text
                assert final["status"] == "cancelled" and final["public_score"] is None
            else:
                assert cancel.status_code == 409 and "scored" in cancel.json()["detail"]
                assert result.status_code == 200 and result.json()["recorded"] is True
                assert final["status"] == "scored"
            outcomes.append(final["status"])

        # A queued submission cancelled before any worker claims it: nothing to claim.
        created = upload(team, "cancel", hidden.predictions(10, 10)).json()
        cancelled = team.post(f"/api/v1/submissions/{created['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        claim = worker.post(f"/api/v1/worker/submissions/{created['id']}/claim", json={})
        assert claim.status_code == 409
        again = team.post(f"/api/v1/submissions/{created['id']}/cancel")
        assert again.status_code == 409
        outcomes.append("cancelled")

        scored = outcomes.count("scored")
        mine = team.get("/api/v1/challenges/cancel/team").json()
        assert (mine["submissions_today"], mine["remaining_today"]) == (scored, DAILY - scored)
        # Another team cannot cancel (or even see) carla's submissions.
        with server.client(server.create_participant("dan")) as other:
            other.post("/api/v1/challenges/cancel/join")
            queued = upload(team, "cancel", hidden.predictions(10, 10)).json()
            refused = other.post(f"/api/v1/submissions/{queued['id']}/cancel")
            assert refused.status_code == 404
    finally:
        worker.close()
        team.close()
    print(f"cancel races: {outcomes.count('cancelled')} cancelled, {scored} scored")
