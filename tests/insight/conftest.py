"""Insight fixtures: a live webhook receiver, fast retries, waiting for background work."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from server.config import get_settings
from tests.insight.helpers import settle

MAX_ATTEMPTS = 4


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers ``fail_status`` to the first ``fail_first``
    requests (per path), then 204; records every request's path and JSON body."""

    url: str
    fail_first: int = 0
    fail_status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, fail_first: int = 0, fail_status: int = 500, **headers: str) -> None:
        """Forget what was received; fail the next ``fail_first`` requests of each path."""
        with self.lock:
            self.requests.clear()
            self.counts.clear()
            self.fail_first, self.fail_status, self.headers = fail_first, fail_status, headers

    def bodies(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, body in self.requests if p == path]

    def texts(self, path: str) -> list[str]:
        """Message texts that got through (the answer was a success)."""
        return [b.get("content") or b.get("text") for b in self.bodies(path)][self.fail_first :]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            with state.lock:
                state.requests.append((self.path, body))
                state.counts[self.path] = state.counts.get(self.path, 0) + 1
                failing = state.counts[self.path] <= state.fail_first
            self.send_response(state.fail_status if failing else 204)
            for key, value in (state.headers if failing else {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_retries(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook retries in tens of milliseconds (the backoff logic is the same)."""
    monkeypatch.setenv("PODIUM_WEBHOOK_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("PODIUM_WEBHOOK_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("PODIUM_WEBHOOK_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("PODIUM_PUBLIC_URL", "https://podium.example.org")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _drain_background_work(data_dir: Path) -> Iterator[None]:
    # Nothing of one test may run on in the next one's database.
    yield
    settle()
