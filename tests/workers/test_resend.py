"""A queued job whose message is lost is sent again while the server runs (issue #18, defect 1).

The sweeper re-queued only *running* jobs whose lease had run out: a job whose
message never reached a scorer (lost inside Redis, a claim the database
refused, a Celery task that gave up) stayed ``queued`` until the next restart.
Now a job queued longer than ``PODIUM_JOB_RESEND_SECONDS`` is sent again, on
both transports.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import event

from server.db import get_engine
from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.workers.conftest import Cluster
from tests.workers.processes import wait_for
from tests.workers.test_distributed import _get, _open, _recorded, _status_is, _submit

RESEND_SECONDS = 3
# A liveness deadline (several bounds and sweeps), not a timing.
DEADLINE = RESEND_SECONDS * 10 + 30


@pytest.mark.redis
def test_a_message_lost_in_the_broker_is_sent_again_without_a_restart(
    cluster: Cluster, organizer_token: str, participant_token: str
) -> None:
    server = cluster.start_server(PODIUM_JOB_RESEND_SECONDS=str(RESEND_SECONDS))
    with cluster.http() as http:
        challenge = _open(http, organizer_token)
        created = _submit(http, participant_token, challenge.slug, challenge.predictions())
        assert created["status"] == "queued"
        # Redis lost the message (restarted without persistence, evicted...).
        redis.Redis.from_url(cluster.broker_url).flushdb()
        worker = cluster.start_worker("late")
        scored = wait_for(
            "the lost job to be sent again and scored",
            _status_is(http, participant_token, created["id"], "scored", "failed"),
            timeout=DEADLINE,
        )
        assert scored["status"] == "scored", scored
        assert _get(http, organizer_token, created["id"])["attempts"] == 1
    assert server.alive  # no restart
    assert _recorded([worker]) == {created["id"]: 1}


def _refuse_first(prefix: str, value: str) -> list[str]:
    """Make the database refuse the next ``UPDATE submission SET status`` whose
    parameters include ``value`` (``running``: a claim; ``scored``: a result)."""
    refused: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        update = statement.lstrip().upper().startswith(prefix)
        values = params.values() if isinstance(params, dict) else params or ()
        if update and value in values and not refused:
            refused.append(statement)
            raise RuntimeError("database is locked (injected)")

    event.listen(get_engine(), "before_cursor_execute", before)
    return refused


def test_an_embedded_claim_the_database_refused_is_sent_again(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A background job (a re-score) whose claim fails stays queued; a sweep sends it again."""
    from server.config import get_settings
    from server.queue.embedded import wait_background_idle
    from server.queue.sweeper import sweep_once

    monkeypatch.setenv("PODIUM_JOB_RESEND_SECONDS", "1")
    get_settings.cache_clear()
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    created = submit(api, participant_token, fixture.slug, fixture.predictions())
    assert created["status_code"] == 201 and created["status"] == "scored", created
    refused = _refuse_first("UPDATE SUBMISSION SET STATUS", "running")
    response = api.post(f"/api/v1/challenges/{fixture.slug}/rescore", headers=auth(organizer_token))
    assert response.status_code == 200, response.text
    assert wait_background_idle(30)
    assert refused  # the claim was refused: the job is left queued
    queued = api.get(f"/api/v1/submissions/{created['id']}", headers=auth(participant_token))
    assert queued.json()["status"] == "queued", queued.json()

    def scored_after_a_sweep() -> Any:
        sweep_once(get_settings())
        wait_background_idle(30)
        response = api.get(f"/api/v1/submissions/{created['id']}", headers=auth(participant_token))
        return response.json()["status"] in ("scored", "failed") and response.json()

    scored = wait_for("a sweep to send the job again", scored_after_a_sweep, timeout=30)
    assert scored["status"] == "scored", scored
    assert scored["public_score"] == pytest.approx(1.0)


def test_an_embedded_result_the_database_refused_is_scored_again_after_its_lease(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new CSV is claimed by the transaction that creates it: if its result cannot
    be recorded, the job stays running under that claim, and once the lease runs
    out the sweeper re-queues it like any job whose scorer died."""
    from server.config import get_settings
    from server.queue.embedded import wait_background_idle
    from server.queue.sweeper import sweep_once

    monkeypatch.setenv("PODIUM_JOB_LEASE_SECONDS", "5")  # the shortest lease allowed
    get_settings.cache_clear()
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    refused = _refuse_first("UPDATE SUBMISSION SET STATUS", "scored")
    created = submit(api, participant_token, fixture.slug, fixture.predictions())
    assert created["status_code"] == 201 and created["status"] == "running", created
    assert refused and created["attempts"] == 1

    def scored_after_a_sweep() -> Any:
        sweep_once(get_settings())
        wait_background_idle(30)
        response = api.get(f"/api/v1/submissions/{created['id']}", headers=auth(participant_token))
        return response.json()["status"] in ("scored", "failed") and response.json()

    scored = wait_for("the lease to run out and a sweep to score it", scored_after_a_sweep, 60)
    assert scored["status"] == "scored", scored
    assert scored["public_score"] == pytest.approx(1.0)
    assert scored["attempts"] == 2
