"""The worker API and the organizers' queue view, through the app over HTTP (TestClient).

Jobs go to real Redis (nobody consumes them here); the test plays the worker
with the worker token. The lease sweeper thread is off (``recover_jobs=False``)
so that each test runs ``sweep_once`` itself, after pushing a lease into the
past in the database (standing in for the time a lease takes to run out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit
from tests.workers.conftest import LEASE_SECONDS
from tests.workers.processes import WORKER_TOKEN

pytestmark = pytest.mark.redis

WORKER = auth(WORKER_TOKEN)


@pytest.fixture
def wapi(worker_settings_env: None) -> Iterator[TestClient]:
    from server.app import create_app

    with TestClient(create_app(recover_jobs=False)) as client:
        yield client


def _challenge(api: TestClient, organizer: str, slug: str = "digits", **fields: Any) -> Any:
    challenge = create_challenge(api, organizer, slug=slug, **fields)
    open_challenge_now(api, organizer, slug)
    return challenge


def _queued(api: TestClient, token: str, challenge: ChallengeFixture, **kw: Any) -> int:
    result = submit(api, token, challenge.slug, challenge.predictions(**kw))
    assert result["status_code"] == 201 and result["status"] == "queued", result
    return int(result["id"])  # type: ignore[call-overload]


def _claim(api: TestClient, submission_id: int, worker: str = "w1") -> Any:
    return api.post(
        f"/api/v1/worker/submissions/{submission_id}/claim", json={"worker": worker}, headers=WORKER
    )


def _result(api: TestClient, submission_id: int, **body: Any) -> Any:
    return api.post(f"/api/v1/worker/submissions/{submission_id}/result", json=body, headers=WORKER)


def _heartbeat(api: TestClient, submission_id: int, attempt: str) -> Any:
    return api.post(
        f"/api/v1/worker/submissions/{submission_id}/heartbeat",
        json={"attempt": attempt},
        headers=WORKER,
    )


def _expire_lease(submission_id: int) -> None:
    from server.db import session_scope
    from server.models import Submission, utcnow

    with session_scope() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def _row(submission_id: int) -> Any:
    from server.db import session_scope
    from server.models import Submission

    with session_scope() as session:
        return session.scalars(select(Submission).where(Submission.id == submission_id)).one()


def test_worker_routes_need_the_worker_token(
    wapi: TestClient, organizer_token: str, participant_token: str
) -> None:
    challenge = _challenge(wapi, organizer_token)
    submission_id = _queued(wapi, participant_token, challenge)
    solution_sha = hashlib.sha256(challenge.solution_csv()).hexdigest()
    calls = [
        ("POST", f"/api/v1/worker/submissions/{submission_id}/claim", {"worker": "w"}),
        ("POST", f"/api/v1/worker/submissions/{submission_id}/heartbeat", {"attempt": "a"}),
        ("POST", f"/api/v1/worker/submissions/{submission_id}/result", {"attempt": "a"}),
        ("GET", f"/api/v1/worker/blobs/{solution_sha}", None),
    ]
    for method, path, body in calls:
        assert wapi.request(method, path, json=body).status_code == 401, path
        for token in (participant_token, organizer_token, WORKER_TOKEN + "x"):
            response = wapi.request(method, path, json=body, headers=auth(token))
            assert response.status_code == 403, (path, response.text)
            assert challenge.solution_csv() not in response.content
    assert _row(submission_id).status == "queued"  # nothing was claimed


def test_claim_fetch_heartbeat_and_an_idempotent_result(
    wapi: TestClient, organizer_token: str, participant_token: str
) -> None:
    challenge = _challenge(wapi, organizer_token)
    predictions = challenge.predictions(wrong={0})
    submission_id = _queued(wapi, participant_token, challenge, wrong={0})

    claimed = _claim(wapi, submission_id)
    assert claimed.status_code == 200, claimed.text
    job = claimed.json()
    assert job["kind"] == "csv" and job["metric"] == "accuracy" and job["challenge"] == "digits"
    assert job["file_sha256"] == hashlib.sha256(predictions).hexdigest()
    assert job["solution_sha256"] == hashlib.sha256(challenge.solution_csv()).hexdigest()
    assert job["lease_seconds"] == LEASE_SECONDS and job["attempt"].startswith("w1:")
    again = _claim(wapi, submission_id, "w2")
    assert again.status_code == 409 and "running" in again.json()["detail"]

    for sha, content in ((job["file_sha256"], predictions), (job["solution_sha256"], None)):
        blob = wapi.get(f"/api/v1/worker/blobs/{sha}", headers=WORKER)
        assert blob.status_code == 200
        assert blob.content == (content or challenge.solution_csv())
    assert wapi.get(f"/api/v1/worker/blobs/{'0' * 64}", headers=WORKER).status_code == 404
    assert wapi.get("/api/v1/worker/blobs/not-a-hash", headers=WORKER).status_code == 404

    beat = _heartbeat(wapi, submission_id, job["attempt"])
    assert beat.status_code == 200
    assert beat.json()["lease_expires_at"] >= job["lease_expires_at"]

    posted = _result(
        wapi, submission_id, attempt=job["attempt"], public_score=0.5, private_score=0.25
    )
    assert posted.status_code == 200 and posted.json() == {"recorded": True, "status": "scored"}
    repeated = _result(
        wapi, submission_id, attempt=job["attempt"], public_score=0.9, private_score=0.9
    )
    assert repeated.status_code == 200 and repeated.json() == {
        "recorded": False,
        "status": "scored",
    }

    seen = wapi.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant_token)).json()
    assert seen["status"] == "scored" and seen["public_score"] == 0.5
    assert seen["private_score"] is None
    organizer_view = wapi.get(
        f"/api/v1/submissions/{submission_id}", headers=auth(organizer_token)
    ).json()
    assert organizer_view["private_score"] == 0.25  # the repeat changed nothing
    assert _heartbeat(wapi, submission_id, job["attempt"]).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"public_score": 0.5},
        {"public_score": 0.5, "private_score": 0.5, "error": "bad"},
        {"public_score": 0.5, "private_score": 0.5, "platform_error": True},
        {},
    ],
)
def test_a_result_is_scores_or_an_error(
    wapi: TestClient, organizer_token: str, participant_token: str, body: dict[str, Any]
) -> None:
    challenge = _challenge(wapi, organizer_token)
    submission_id = _queued(wapi, participant_token, challenge)
    attempt = _claim(wapi, submission_id).json()["attempt"]
    assert _result(wapi, submission_id, attempt=attempt, **body).status_code == 422
    assert _row(submission_id).status == "running"


def test_a_stale_attempt_is_refused_after_its_lease_runs_out(
    wapi: TestClient, organizer_token: str, participant_token: str
) -> None:
    from server.config import get_settings
    from server.queue.sweeper import sweep_once

    challenge = _challenge(wapi, organizer_token)
    submission_id = _queued(wapi, participant_token, challenge)
    first = _claim(wapi, submission_id).json()["attempt"]
    _expire_lease(submission_id)
    assert sweep_once(get_settings()) == [
        submission_id
    ]  # queued again, and sent to the broker again
    queue = wapi.get("/api/v1/queue", headers=auth(organizer_token)).json()
    assert queue["counts"]["queued"] == 1 and queue["broker_queues"]["cpu"] == 2

    assert _heartbeat(wapi, submission_id, first).status_code == 409
    stale = _result(wapi, submission_id, attempt=first, public_score=1.0, private_score=1.0)
    assert stale.status_code == 409 and "no longer current" in stale.json()["detail"]

    second = _claim(wapi, submission_id, "w2").json()
    assert second["attempt"] != first
    assert _row(submission_id).attempts == 2
    posted = _result(
        wapi, submission_id, attempt=second["attempt"], public_score=0.75, private_score=0.5
    )
    assert posted.json() == {"recorded": True, "status": "scored"}
    late = _result(wapi, submission_id, attempt=first, public_score=1.0, private_score=1.0)
    assert late.status_code == 409
    assert _row(submission_id).public_score == 0.75


def test_the_last_lost_attempt_fails_as_a_platform_error_that_uses_no_quota(
    wapi: TestClient,
    organizer_token: str,
    participant_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.config import get_settings
    from server.queue.sweeper import sweep_once

    monkeypatch.setenv("PODIUM_JOB_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    challenge = _challenge(wapi, organizer_token, daily_submission_limit=1)
    submission_id = _queued(wapi, participant_token, challenge)
    attempt = _claim(wapi, submission_id).json()["attempt"]
    _expire_lease(submission_id)
    assert sweep_once(get_settings()) == []  # nothing to re-queue: the attempts are used up
    seen = wapi.get(f"/api/v1/submissions/{submission_id}", headers=auth(participant_token)).json()
    assert seen["status"] == "failed" and "platform error" in seen["error"]
    assert _row(submission_id).platform_error
    late = _result(wapi, submission_id, attempt=attempt, public_score=1.0, private_score=1.0)
    assert late.status_code == 409
    # The team's one submission of the day is still available.
    _queued(wapi, participant_token, challenge)


def test_errors_posted_by_a_worker(
    wapi: TestClient, organizer_token: str, participant_token: str
) -> None:
    challenge = _challenge(wapi, organizer_token, daily_submission_limit=2)
    ours = _queued(wapi, participant_token, challenge)
    attempt = _claim(wapi, ours).json()["attempt"]
    assert _result(wapi, ours, attempt=attempt, platform_error=True).json()["recorded"]
    row = _row(ours)
    assert row.status == "failed" and row.platform_error and "platform error" in row.error

    theirs = _queued(wapi, participant_token, challenge)
    attempt = _claim(wapi, theirs).json()["attempt"]
    message = "the model returned 9 rows for 10 inputs"
    posted = _result(
        wapi,
        theirs,
        attempt=attempt,
        error=message,
        metrics={"parameter_count": 1234, "peak_memory_mb": 12.5},
    )
    assert posted.json() == {"recorded": True, "status": "failed"}
    seen = wapi.get(f"/api/v1/submissions/{theirs}", headers=auth(participant_token)).json()
    assert seen["error"] == message and seen["parameter_count"] == 1234
    assert seen["peak_memory_mb"] == 12.5
    assert not _row(theirs).platform_error
    # The platform error was free, the model's own failure counts: one of 2 is left.
    _queued(wapi, participant_token, challenge)
    over = submit(wapi, participant_token, challenge.slug, challenge.predictions())
    assert over["status_code"] == 429


def test_the_queue_view_is_for_organizers(
    wapi: TestClient, organizer_token: str, participant_token: str
) -> None:
    digits = _challenge(wapi, organizer_token)
    letters = _challenge(wapi, organizer_token, slug="letters")
    first = _queued(wapi, participant_token, digits)
    second = _queued(wapi, participant_token, digits, wrong={1})
    third = _queued(wapi, participant_token, letters)
    _claim(wapi, first, "gpu-box-1")

    queue = wapi.get("/api/v1/queue", headers=auth(organizer_token))
    assert queue.status_code == 200, queue.text
    body = queue.json()
    assert body["transport"] == "celery"
    assert body["counts"]["queued"] == 2 and body["counts"]["running"] == 1
    assert body["oldest_queued_age_seconds"] >= 0 and body["oldest_queued_at"] is not None
    assert body["broker_queues"] == {"cpu": 3, "gpu": 0}
    assert body["lease_seconds"] == LEASE_SECONDS
    jobs = {job["id"]: job for job in body["jobs"]}
    assert jobs[first]["status"] == "running" and jobs[first]["worker"] == "gpu-box-1"
    assert jobs[first]["attempts"] == 1 and jobs[first]["position"] is None
    assert (jobs[second]["position"], jobs[third]["position"]) == (1, 2)
    assert jobs[third]["challenge"] == "letters"

    one = wapi.get("/api/v1/challenges/letters/queue", headers=auth(organizer_token)).json()
    assert [job["id"] for job in one["jobs"]] == [third]
    assert one["counts"]["queued"] == 1 and one["counts"]["running"] == 0
    assert one["jobs"][0]["position"] == 2  # positions are server-wide

    for path in ("/api/v1/queue", "/api/v1/challenges/digits/queue"):
        assert wapi.get(path).status_code == 401
        assert wapi.get(path, headers=auth(participant_token)).status_code == 403
    own = wapi.get(f"/api/v1/submissions/{second}", headers=auth(participant_token)).json()
    assert own["queue_position"] is None
    organizer_view = wapi.get(f"/api/v1/submissions/{second}", headers=auth(organizer_token))
    assert organizer_view.json()["queue_position"] == 1
