"""Checkpoints: the runner computes the bootstrap (it alone holds the model's outputs)
and it reaches the leaderboard on both transports, with the efficiency figures.

A tiny CNN trained on real MNIST (the checkpoint tests' session fixtures) is
evaluated in the real sandbox: once by the embedded scorer, once by a remote
worker's code path (claim, fetch, evaluate, post over real HTTP to a live server).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.config import get_settings
from server.demo import solution_csv
from tests.checkpoints.conftest import exported, mnist  # noqa: F401 - fixtures
from tests.checkpoints.helpers import (
    Exported,
    MnistSubset,
    create_checkpoint_challenge,
    submit_checkpoint,
    wait_finished,
)
from tests.conftest import skip_or_fail
from tests.insight.helpers import settle

REDIS_DB = int(os.environ.get("PODIUM_TEST_INSIGHT_REDIS_DB", "7"))


def direct_halfwidth(mnist: MnistSubset, predictions: np.ndarray) -> float:  # noqa: F811
    sha = hashlib.sha256(solution_csv(mnist.labels)).hexdigest()
    correct = (predictions == mnist.labels)[mnist.public].astype(np.float64)
    rng = np.random.default_rng(int(sha[:16], 16))
    draws = rng.integers(0, len(correct), size=(1000, len(correct)))
    scores = np.array([correct[row].mean() for row in draws], dtype=np.float32)
    low, high = np.percentile(scores.astype(np.float64), [2.5, 97.5])
    return float(high - low) / 2


def check_entry(entry: dict[str, object], mnist: MnistSubset, exported: Exported) -> None:  # noqa: F811
    assert entry["score"] == pytest.approx(exported.public_accuracy)
    assert entry["ci_halfwidth"] == pytest.approx(
        direct_halfwidth(mnist, exported.predictions), abs=1e-6
    )
    assert entry["parameter_count"] == exported.parameter_count
    assert isinstance(entry["inference_seconds_per_1k"], float)
    assert entry["inference_seconds_per_1k"] > 0
    assert entry["peak_memory_mb"] is not None


def test_embedded_checkpoint_gets_an_interval(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,  # noqa: F811
    exported: Exported,  # noqa: F811
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist)
    sent = submit_checkpoint(
        api, participant_token, slug, exported.safetensors, config=exported.config
    )
    assert sent["status_code"] == 201, sent
    done = wait_finished(api, participant_token, sent["id"])
    assert done["status"] == "scored", done
    settle()
    entry = api.get(f"/api/v1/challenges/{slug}/leaderboard").json()["entries"][0]
    check_entry(entry, mnist, exported)


@pytest.fixture
def celery_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import redis

    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        skip_or_fail(f"Redis not reachable at {url}: {error}")
    client.flushdb()
    monkeypatch.setenv("PODIUM_BROKER_URL", url)
    get_settings.cache_clear()
    yield url
    client.flushdb()
    client.close()
    get_settings.cache_clear()


def test_remote_worker_posts_the_interval(
    celery_env: str,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,  # noqa: F811
    exported: Exported,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    from server.workers.runner import run_job
    from tests.browser.conftest import start_live_server

    with start_live_server() as live:
        monkeypatch.setenv("PODIUM_SERVER_URL", live.url)
        get_settings.cache_clear()
        with httpx.Client(base_url=live.url, timeout=60) as http:
            slug = create_checkpoint_challenge(http, organizer_token, mnist)  # type: ignore[arg-type]
            sent = submit_checkpoint(
                http,  # type: ignore[arg-type]
                participant_token,
                slug,
                exported.safetensors,
                config=exported.config,
            )
            assert sent["status_code"] == 201 and sent["status"] == "queued", sent
            # The job went to Redis; play the gpu worker: the same code, over HTTP.
            assert run_job(int(sent["id"]), "insight-test-worker") == "recorded"  # type: ignore[call-overload]
            settle()
            entry = http.get(f"/api/v1/challenges/{slug}/leaderboard").json()["entries"][0]
    check_entry(entry, mnist, exported)
