"""Fixtures for the client tests: an isolated config, a fake clock, a fake server."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import podium
import pytest
from podium import _retry

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's real config or environment."""
    for name in ("PODIUM_URL", "PODIUM_TOKEN", "PODIUM_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config" / "podium" / "config.json"
    monkeypatch.setenv("PODIUM_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return config


@dataclass
class FakeClock:
    """Replaces the retry module's sleep and monotonic clock: sleeping is instant."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_retry, "sleep", fake.sleep)
    monkeypatch.setattr(_retry, "monotonic", fake.monotonic)
    return fake


def reply(
    status: int = 200,
    json_body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Handler:
    """A handler that answers with a fresh response each time."""

    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        if json_body is None and status == 204:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=json_body, headers=headers)

    return handler


def echo(status: int, base: dict[str, Any] | None = None, **extra: Any) -> Handler:
    """A handler that answers with `base`, updated by the request's JSON and `extra`."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={**(base or {}), **json.loads(request.content), **extra})

    return handler


def fail_with(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


class FakeAPI:
    """A small router for `httpx.MockTransport`.

    ``fake.add("GET", "/me", reply(...), reply(...))``: each call to that route
    takes the next handler; the last one answers every further call. Paths
    are given without the ``/api/v1`` prefix. Every request is recorded.
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Handler]] = {}
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def add(self, method: str, path: str, *handlers: Handler) -> FakeAPI:
        self.routes[(method, path)] = list(handlers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        path = request.url.path.removeprefix("/api/v1")
        handlers = self.routes.get((request.method, path))
        if handlers is None:
            return httpx.Response(404, json={"detail": f"no route {request.method} {path}"})
        handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
        return handler(request)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.method == method and r.url.path.removeprefix("/api/v1") == path
        ]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def client(self, **kwargs: Any) -> podium.Client:
        kwargs.setdefault("url", "http://podium.test")
        kwargs.setdefault("token", "pod_test")
        return podium.Client(transport=self.transport, **kwargs)


@pytest.fixture
def fake() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def client(fake: FakeAPI) -> Iterator[podium.Client]:
    with fake.client() as c:
        yield c


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_server(data: bytes, *, ranges: bool = True, sha: str | None = None) -> Handler:
    """Serve `data` like the real server: ETag, X-Content-SHA256, optional Range."""
    digest = sha or sha256(data)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"ETag": f'"{digest}"', "X-Content-SHA256": digest}
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if ranges and match:
            start = int(match.group(1))
            if start >= len(data):
                return httpx.Response(416, json={"detail": "range not satisfiable"})
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return httpx.Response(206, content=data[start:], headers=headers)
        return httpx.Response(200, content=data, headers=headers)

    return handler


def json_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


USER = {"id": 1, "username": "ada", "role": "participant", "created_at": "2025-01-01T00:00:00Z"}
ORGANIZER = {**USER, "id": 2, "username": "olga", "role": "organizer"}
CHALLENGE = {
    "slug": "mnist",
    "title": "MNIST digits",
    "description": "Classify handwritten digits.",
    "metric": "accuracy",
    "greater_is_better": True,
    "opens_at": "2025-01-01T00:00:00Z",
    "closes_at": "2025-02-01T00:00:00+00:00",
    "daily_submission_limit": 5,
    "max_team_size": 4,
    "final_selection_count": 2,
    "submission_kinds": ["csv", "checkpoint"],
    "state": "open",
    "teams_count": 3,
    "submissions_count": 12,
}
TEAM = {
    "id": 7,
    "name": "ada",
    "members": ["ada"],
    "submissions_today": 1,
    "daily_submission_limit": 5,
    "remaining_today": 4,
    "quota_resets_at": "2025-01-02T00:00:00Z",
}


def submission(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 12,
        "challenge": "mnist",
        "team": "ada",
        "kind": "csv",
        "status": "queued",
        "message": "cnn",
        "public_score": None,
        "private_score": None,
        "error": None,
        "attempts": 0,
        "created_at": "2025-01-01T10:00:00Z",
        "scored_at": None,
        "selected_for_final": False,
        "remaining_today": 4,
    }
    base.update(fields)
    return base


LEADERBOARD = {
    "board": "public",
    "challenge": "mnist",
    "metric": "accuracy",
    "entries": [
        {
            "rank": 1,
            "team": "grace",
            "score": 0.99,
            "submissions": 3,
            "last_submission_at": "2025-01-01T09:00:00Z",
        },
        {
            "rank": 2,
            "team": "ada",
            "score": 0.98,
            "submissions": 1,
            "last_submission_at": "2025-01-01T10:00:00Z",
        },
    ],
}
