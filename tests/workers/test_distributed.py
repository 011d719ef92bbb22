"""Scoring by separate worker processes over Celery + Redis, with crashes and restarts.

Every test runs the real ``podium-server serve`` and ``podium-server worker``
as subprocesses; the test process only talks HTTP to the server (and reads
the database to check what participants cannot see, such as ``platform_error``).
"""

from __future__ import annotations

import hashlib
import signal
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.workers.conftest import LEASE_SECONDS, Cluster
from tests.workers.processes import Worker, wait_for

pytestmark = pytest.mark.redis

ROWS = 100
PUBLIC_ROWS = sum(1 for i in range(ROWS) if i % 3 == 0)  # the fixture's public split


def _open(http: httpx.Client, organizer: str, **fields: Any) -> Any:
    challenge = create_challenge(http, organizer, rows=ROWS, **fields)  # type: ignore[arg-type]
    open_challenge_now(http, organizer, challenge.slug)  # type: ignore[arg-type]
    return challenge


def _submit(http: httpx.Client, token: str, slug: str, content: bytes) -> dict[str, Any]:
    result = submit(http, token, slug, content)  # type: ignore[arg-type]
    assert result["status_code"] == 201, result
    return result


def _get(http: httpx.Client, token: str, submission_id: int) -> dict[str, Any]:
    response = http.get(f"/api/v1/submissions/{submission_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def _status_is(
    http: httpx.Client, token: str, submission_id: int, *wanted: str
) -> Callable[[], Any]:
    def check() -> Any:
        submission = _get(http, token, submission_id)
        return submission if submission["status"] in wanted else None

    return check


def _recorded(workers: list[Worker]) -> Counter[int]:
    """How many results were recorded per submission, over every worker's log."""
    return Counter(sid for w in workers for sid, _, recorded in w.results() if recorded == "True")


def test_a_separate_worker_scores_a_submission(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    cluster.start_server(wait=False)
    worker = cluster.start_worker("solo", wait=False)
    cluster.wait_ready()
    with cluster.http() as http:
        challenge = _open(http, organizer_token)
        created = _submit(http, participant_token, challenge.slug, challenge.predictions(wrong={0}))
        assert created["status"] == "queued"  # the server does not score it itself
        scored = wait_for(
            "the worker to score it",
            _status_is(http, participant_token, created["id"], "scored", "failed"),
        )
        assert scored["status"] == "scored", scored
        assert scored["public_score"] == pytest.approx(1 - 1 / PUBLIC_ROWS)
        assert scored["private_score"] is None  # never to a participant before finalization
        assert scored["attempts"] == 1
        assert _get(http, organizer_token, created["id"])["private_score"] == pytest.approx(1.0)
    assert _recorded([worker]) == {created["id"]: 1}
    # The worker fetched the files into its own cache, each named by its verified sha256.
    cached = [
        p for p in (worker.log_path.parent / "worker-solo" / "cache").rglob("*") if p.is_file()
    ]
    assert len(cached) == 2
    for path in cached:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def _platform_error(submission_id: int) -> bool:
    from server.db import session_scope
    from server.models import Submission

    with session_scope() as session:
        return bool(
            session.scalar(select(Submission.platform_error).where(Submission.id == submission_id))
        )


def test_a_worker_killed_mid_job_is_replaced_and_the_job_scored_once(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    cluster.start_server(wait=False)
    doomed = cluster.start_worker("doomed", delay=60, wait=False)  # holds the job until killed
    cluster.wait_ready()
    with cluster.http() as http:
        challenge = _open(http, organizer_token)
        created = _submit(http, participant_token, challenge.slug, challenge.predictions())
        running = wait_for(
            "the first attempt to start",
            _status_is(http, organizer_token, created["id"], "running"),
        )
        assert running["attempts"] == 1
        doomed.kill()  # SIGKILL to the worker and its pool: a crashed machine
        survivor = cluster.start_worker("survivor", wait=False)
        scored = wait_for(
            "the job to be delivered again and scored",
            _status_is(http, organizer_token, created["id"], "scored", "failed"),
            timeout=LEASE_SECONDS * 6 + 30,
        )
    assert scored["status"] == "scored", scored
    assert scored["public_score"] == pytest.approx(1.0)
    assert scored["attempts"] == 2
    assert not doomed.results()  # it died before posting anything
    assert _recorded([doomed, survivor]) == {created["id"]: 1}


def test_jobs_queued_when_the_server_restarts_are_not_lost(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    import redis

    cluster.start_server()
    with cluster.http() as http:
        challenge = _open(http, organizer_token, daily_submission_limit=10)
        ids = [
            _submit(http, participant_token, challenge.slug, challenge.predictions(wrong={i}))["id"]
            for i in range(4)
        ]
    assert cluster.server is not None
    cluster.server.kill()
    # The worst case: the broker lost the messages too (Redis restarted without
    # persistence). The restarted server sends every queued job again.
    redis.Redis.from_url(cluster.broker_url).flushdb()
    cluster.start_server(wait=False)
    worker = cluster.start_worker("after-restart", wait=False)
    cluster.wait_ready()
    with cluster.http() as http:
        for submission_id in ids:
            scored = wait_for(
                f"submission {submission_id} to be scored",
                _status_is(http, participant_token, submission_id, "scored", "failed"),
            )
            assert scored["status"] == "scored" and scored["attempts"] == 1, scored
    assert _recorded([worker]) == dict.fromkeys(ids, 1)


def test_embedded_server_killed_mid_job_rescores_queued_and_running_jobs(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    cluster.start_server(embedded=True)
    with cluster.http() as http:
        challenge = _open(http, organizer_token, daily_submission_limit=10)
        first = [
            _submit(http, participant_token, challenge.slug, challenge.predictions(wrong={i}))
            for i in (0, 3, 6)
        ]
        assert all(s["status"] == "scored" for s in first)  # embedded: scored in the request
        ids = [s["id"] for s in first]
    # A slow server: the re-score runs on its two background threads, the third job waits.
    cluster.start_server(embedded=True, PODIUM_TEST_SCORING_DELAY="60")
    with cluster.http() as http:
        response = http.post(
            f"/api/v1/challenges/{challenge.slug}/rescore", headers=auth(organizer_token)
        )
        assert response.status_code == 200, response.text

        def two_running_one_queued() -> bool:
            statuses = sorted(_get(http, organizer_token, i)["status"] for i in ids)
            return statuses == ["queued", "running", "running"]

        wait_for("two jobs running and one queued", two_running_one_queued)
    assert cluster.server is not None
    cluster.server.kill()
    cluster.start_server(embedded=True)
    with cluster.http() as http:
        for submission_id, before in zip(ids, first, strict=True):
            scored = wait_for(
                f"submission {submission_id} to be scored after the restart",
                _status_is(http, organizer_token, submission_id, "scored", "failed"),
                timeout=LEASE_SECONDS * 6 + 30,
            )
            assert scored["status"] == "scored", scored
            assert scored["public_score"] == before["public_score"]
        attempts = sorted(_get(http, organizer_token, i)["attempts"] for i in ids)
    assert attempts == [1, 2, 2]  # the running two were re-queued once their lease ran out


def test_two_workers_score_two_hundred_submissions_exactly_once(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    count = 200
    cluster.start_server(wait=False)
    workers = [cluster.start_worker(n, concurrency=2, wait=False) for n in ("left", "right")]
    cluster.wait_ready()
    with cluster.http() as http:
        challenge = _open(http, organizer_token, daily_submission_limit=1000)

        def post(n: int) -> tuple[int, float]:
            wrong = n % ROWS
            created = _submit(
                http, participant_token, challenge.slug, challenge.predictions(wrong={wrong})
            )
            return created["id"], 1 - (1 / PUBLIC_ROWS if wrong % 3 == 0 else 0)

        with ThreadPoolExecutor(max_workers=4) as pool:
            expected = dict(pool.map(post, range(count)))

        def all_finished() -> list[dict[str, Any]] | None:
            listed = http.get(
                f"/api/v1/challenges/{challenge.slug}/submissions", headers=auth(organizer_token)
            ).json()
            done = [s for s in listed if s["status"] in ("scored", "failed")]
            return listed if len(done) == count else None

        listed = wait_for("all submissions to be scored", all_finished, timeout=240)
        queue = http.get("/api/v1/queue", headers=auth(organizer_token)).json()
    assert {s["id"]: s["status"] for s in listed} == dict.fromkeys(expected, "scored")
    assert all(s["attempts"] == 1 for s in listed)
    assert {s["id"]: s["public_score"] for s in listed} == pytest.approx(expected)
    recorded = _recorded(workers)
    assert recorded == dict.fromkeys(expected, 1)  # one recorded result per submission, ever
    assert all(_recorded([w]) for w in workers), "both workers took jobs"
    assert queue["counts"]["queued"] == queue["counts"]["running"] == 0
    assert queue["counts"]["scored"] == count
    assert queue["broker_queues"] == {"cpu": 0, "gpu": 0}


def test_a_worker_that_stops_heartbeating_loses_the_job_then_it_fails_as_platform_error(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    cluster.start_server(wait=False, PODIUM_JOB_MAX_ATTEMPTS="2")
    workers = {
        name: cluster.start_worker(name, delay=LEASE_SECONDS * 2, wait=False)
        for name in ("north", "south")
    }
    cluster.wait_ready()
    frozen: list[Worker] = []
    with cluster.http() as http:
        challenge = _open(http, organizer_token, daily_submission_limit=1)
        created = _submit(http, participant_token, challenge.slug, challenge.predictions())
        assert created["remaining_today"] == 0

        for attempt in (1, 2):

            def holder(attempt: int = attempt) -> Worker | None:
                queue = http.get("/api/v1/queue", headers=auth(organizer_token)).json()
                for job in queue["jobs"]:
                    if job["status"] == "running" and job["attempts"] == attempt:
                        return workers[job["worker"].split("@")[0]]
                return None

            worker = wait_for(f"attempt {attempt} to start", holder, LEASE_SECONDS * 6 + 30)
            assert worker not in frozen
            worker.signal_group(signal.SIGSTOP)  # frozen: no heartbeat, no result
            frozen.append(worker)

        failed = wait_for(
            "the last attempt's lease to run out",
            _status_is(http, participant_token, created["id"], "failed", "scored"),
            LEASE_SECONDS * 6 + 30,
        )
        assert failed["status"] == "failed" and failed["attempts"] == 2, failed
        assert "platform error" in failed["error"]
        assert failed["public_score"] is None and failed["private_score"] is None
        assert _platform_error(created["id"])
        # The platform's failure did not use the team's only submission of the day.
        again = _submit(http, participant_token, challenge.slug, challenge.predictions())
        assert again["remaining_today"] == 0

        # Thawed, both stale attempts finish and post: the server refuses both.
        for worker in frozen:
            worker.signal_group(signal.SIGCONT)
        wait_for(
            "both stale attempts to post their results",
            lambda: len([r for w in frozen for r in w.results() if r[0] == created["id"]]) == 2,
        )
        assert not _recorded(frozen).get(created["id"])
        after = _get(http, organizer_token, created["id"])
        assert after["status"] == "failed" and after["attempts"] == 2
        assert all("refused" in w.log() for w in frozen)
