"""Celery task limits follow the job (issue #18, defect 9).

A checkpoint may run up to ``time_limit_seconds`` (3,600 s at most), but every
task had the worker's soft limit of ``PODIUM_JOB_TIME_LIMIT_SECONDS``: a long
model always ended as a platform error on a worker, and yet succeeded
embedded. The limits now travel with each message, derived from the job.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from server.config import get_settings
from tests.conftest import auth, open_challenge_now
from tests.workers.conftest import TIME_LIMIT_SECONDS
from tests.workers.test_gpu_queue import _model

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("worker_settings_env")]

LONG_MODEL_SECONDS = 1200


def _queued_messages(broker_url: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(broker_url)
    try:
        return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    finally:
        client.close()


def test_a_long_checkpoint_gets_task_limits_above_its_own(
    broker_url: str, api: TestClient, organizer_token: str, participant_token: str, tmp_path: Path
) -> None:
    rows = 20
    inputs = np.zeros((rows, 1, 28, 28), dtype=np.float32)
    solution = "id,label,usage\n" + "".join(
        f"{i},{i % 10},{('public', 'private')[i % 2]}\n" for i in range(rows)
    )
    body = {
        "slug": "long",
        "title": "Long models",
        "metric": "accuracy",
        "submission_kinds": ["checkpoint"],
        "checkpoint_spec": {"formats": ["safetensors"], "time_limit_seconds": LONG_MODEL_SECONDS},
    }
    headers = auth(organizer_token)
    assert api.post("/api/v1/challenges", json=body, headers=headers).status_code == 201
    buffer = io.BytesIO()
    np.save(buffer, inputs, allow_pickle=False)
    for path, content in (("solution", solution.encode()), ("hidden-inputs", buffer.getvalue())):
        response = api.put(f"/api/v1/challenges/long/{path}", content=content, headers=headers)
        assert response.status_code == 200, response.text
    open_challenge_now(api, organizer_token, "long")
    weights, config, _ = _model(1, tmp_path)
    response = api.post(
        "/api/v1/challenges/long/submissions",
        files={
            "file": (weights.name, weights.read_bytes(), "application/octet-stream"),
            "config": ("model.json", config.read_bytes(), "application/json"),
        },
        data={"kind": "checkpoint"},
        headers=auth(participant_token),
    )
    assert response.status_code == 201, response.text
    (message,) = _queued_messages(broker_url, "gpu")
    hard, soft = message["headers"]["timelimit"]  # None: the worker's own (the platform's)
    soft = soft if soft is not None else get_settings().job_time_limit_seconds
    hard = hard if hard is not None else soft
    assert get_settings().job_time_limit_seconds == TIME_LIMIT_SECONDS < LONG_MODEL_SECONDS
    assert soft > LONG_MODEL_SECONDS and hard > soft
    # The worker is told the same limit when it claims the job.
    submission_id = response.json()["id"]
    worker = {"Authorization": f"Bearer {get_settings().worker_token}"}
    claimed = api.post(f"/api/v1/worker/submissions/{submission_id}/claim", json={}, headers=worker)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["time_limit_seconds"] >= soft


def test_the_visibility_timeout_outlasts_the_longest_task() -> None:
    from server.queue.celery_app import MAX_TASK_SECONDS, make_celery

    app = make_celery(get_settings())
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > MAX_TASK_SECONDS
