"""Real Chromium (Debian's /usr/bin/chromium) against a live uvicorn server.

The server runs in a thread of the test process on a free port, over the test's
own data directory, so tests can prepare data with the real HTTP API and with
``make_user``. Every request the browser makes outside that server is aborted
and recorded: the pages must work offline.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, skip_or_fail  # noqa: E402,F401 (the shared browser)

STARTUP_SECONDS = 20
# Generous: CI machines are slow; nothing here measures speed.
DEFAULT_TIMEOUT_MS = 20_000

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving ``create_app()`` in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-uvicorn", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_SECONDS)


def start_live_server() -> LiveServer:
    from server.app import create_app

    return LiveServer(create_app(), free_port())


@pytest.fixture
def live_url(data_dir: Path) -> Iterator[str]:
    with start_live_server() as live:
        yield live.url


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    """A plain HTTP client on the live server (the same calls as the TestClient helpers)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@dataclass
class BrowserLog:
    """What a page did that a test may want to deny: errors and outside requests."""

    errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


def open_context(chromium: Any, live_url: str, log: BrowserLog, **options: Any) -> Any:
    context = chromium.new_context(base_url=live_url, **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)

    def guard(route: Any) -> None:
        if route.request.url.startswith(live_url):
            route.continue_()
        else:
            log.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.on("weberror", lambda error: log.errors.append(f"page error: {error.error}"))
    return context


# Chromium logs every 4xx answer; the tests provoke some (a wrong password, a bad file).
EXPECTED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of 4")


def watch(page: Any, log: BrowserLog) -> Any:
    def on_console(message: Any) -> None:
        if message.type == "error" and not EXPECTED_CONSOLE.match(message.text):
            log.errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("dialog", lambda dialog: (log.dialogs.append(dialog.message), dialog.dismiss()))
    return page


@pytest.fixture
def page(chromium: Any, live_url: str, browser_log: BrowserLog) -> Iterator[Any]:
    """A fresh browser tab (own cookies) at 1280x800; fails on JS errors and outside requests."""
    context = open_context(chromium, live_url, browser_log, viewport={"width": 1280, "height": 800})
    yield watch(context.new_page(), browser_log)
    context.close()
    assert browser_log.errors == []
    assert browser_log.outside_requests == []
    assert browser_log.dialogs == []
