"""Defect 11: with the worker token unset, the worker API still authenticates first.

The placeholder token (the default of ``make demo``) used to answer 503 to every
request, before authentication: anonymous callers, participants and wrong
tokens alike. Now a missing token is a 401, any presented token (the
placeholder included) a 403, and the unset token is logged at start instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.config import DEFAULT_WORKER_TOKEN, get_settings
from tests.conftest import auth

ROUTES = [
    ("POST", "/api/v1/worker/submissions/1/claim", {"worker": "w"}),
    ("POST", "/api/v1/worker/submissions/1/heartbeat", {"attempt": 1}),
    ("POST", "/api/v1/worker/submissions/1/result", {"attempt": 1, "status": "scored"}),
    ("GET", "/api/v1/worker/blobs/" + "0" * 64, None),
]


@pytest.fixture
def unset_token_api(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[TestClient]:
    monkeypatch.setenv("PODIUM_ENV", "development")
    monkeypatch.delenv("PODIUM_WORKER_TOKEN", raising=False)
    get_settings.cache_clear()
    from server.app import create_app

    with caplog.at_level(logging.WARNING), TestClient(create_app(recover_jobs=False)) as client:
        yield client


def test_unset_worker_token_answers_401_or_403_never_503(
    unset_token_api: TestClient, make_user: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    participant = make_user("student")
    for method, path, body in ROUTES:
        anonymous = unset_token_api.request(method, path, json=body)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        for token in (participant, "not-a-token", DEFAULT_WORKER_TOKEN):
            response = unset_token_api.request(method, path, json=body, headers=auth(token))
            assert response.status_code == 403, (path, token, response.text)
        placeholder = unset_token_api.request(
            method, path, json=body, headers=auth(DEFAULT_WORKER_TOKEN)
        )
        assert "PODIUM_WORKER_TOKEN" in placeholder.json()["detail"]
    started = caplog.get_records("setup")  # the app started in the fixture
    warnings = [r.getMessage() for r in started if r.levelno >= logging.WARNING]
    assert any("PODIUM_WORKER_TOKEN" in message for message in warnings), warnings
