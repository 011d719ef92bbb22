"""Shared fixtures: a fresh, migrated database per test, the app, and one user per role.

SQLite (default): the migrations run once into a template file that each test copies.
PostgreSQL (``PODIUM_TEST_DATABASE_URL=postgresql+psycopg://...``): the migrations run
once per session into that database and each test starts from truncated tables.
``PODIUM_REQUIRE_SERVICES=1`` (set by .ci/run) turns "service not running" skips
into failures.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from server.config import get_settings
from server.db import dispose_engines
from server.insight.notify import notifier
from server.insight.outbox import deliverer
from server.insight.service import wait_idle
from server.migrations import upgrade
from server.queue.embedded import wait_background_idle

# CI replays the same generated cases every run (a fixed seed): a failure found
# there is reproducible, and a green run stays green. Locally Hypothesis explores.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

TEST_DATABASE_URL = os.environ.get("PODIUM_TEST_DATABASE_URL")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_SERVICES = os.environ.get("PODIUM_REQUIRE_SERVICES") == "1"
PASSWORD = "a-long-test-password"
SETTLE_SECONDS = 120.0  # background work a test started, before the next test's database


def skip_or_fail(reason: str) -> None:
    """Skip when a service is missing, unless CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PODIUM_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, one per test session.

    Playwright's sync API allows one instance per process, so every folder that
    drives a browser shares this fixture.
    """
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated database every test starts from (a file path or a URL)."""
    if TEST_DATABASE_URL:
        engine = create_engine(TEST_DATABASE_URL)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
            skip_or_fail(f"PostgreSQL not reachable at PODIUM_TEST_DATABASE_URL: {error}")
        finally:
            engine.dispose()
        upgrade(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "podium.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _truncate_all(url: str) -> None:
    from server.models import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _settle_background_work() -> None:
    """Let the jobs, insight work and webhook sends a test started finish first.

    Left running, they write into the next test's database (on PostgreSQL its
    TRUNCATE then deadlocks against them).
    """
    assert wait_background_idle(SETTLE_SECONDS), "background scoring did not finish"
    assert wait_idle(SETTLE_SECONDS), "insight work did not finish"
    assert notifier.wait_idle(SETTLE_SECONDS), "webhook deliveries did not finish"


@pytest.fixture
def data_dir(tmp_path: Path, migrated_template: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory and database, wired into the settings."""
    data = tmp_path / "podium-data"
    data.mkdir()
    if TEST_DATABASE_URL:
        _truncate_all(migrated_template)
        monkeypatch.setenv("PODIUM_DATABASE_URL", migrated_template)
    else:
        shutil.copyfile(migrated_template, data / "podium.db")
        monkeypatch.delenv("PODIUM_DATABASE_URL", raising=False)
    monkeypatch.setenv("PODIUM_DATA_DIR", str(data))
    monkeypatch.setenv("PODIUM_ENV", "test")
    monkeypatch.delenv("PODIUM_BROKER_URL", raising=False)
    get_settings.cache_clear()
    dispose_engines()
    yield data
    _settle_background_work()
    deliverer.stop()  # the webhook thread reads the current settings: not the next test's
    dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def app(data_dir: Path):  # type: ignore[no-untyped-def]
    from server.app import create_app

    return create_app()


@pytest.fixture
def api(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(data_dir: Path) -> Callable[..., str]:
    """Create a user directly and return a fresh API token."""
    from server.accounts import service
    from server.db import session_scope
    from server.models import Role

    def _make(username: str, role: str = "participant") -> str:
        with session_scope() as session:
            user = service.create_user(session, username, PASSWORD, Role(role))
            _, token = service.issue_token(session, user)
        return token

    return _make


@pytest.fixture
def organizer_token(make_user: Callable[..., str]) -> str:
    return make_user("olga", "organizer")


@pytest.fixture
def participant_token(make_user: Callable[..., str]) -> str:
    return make_user("paul")


@pytest.fixture
def stranger_token(make_user: Callable[..., str]) -> str:
    return make_user("sam")


@dataclass
class ChallengeFixture:
    slug: str
    labels: list[int]
    public: list[bool]

    def predictions(self, correct: set[int] | None = None, wrong: set[int] | None = None) -> bytes:
        """A predictions CSV: right on ``correct`` ids (all by default), wrong on ``wrong``."""
        lines = ["id,label"]
        for i, label in enumerate(self.labels):
            ok = (correct is None or i in correct) and not (wrong and i in wrong)
            lines.append(f"{i},{label if ok else (label + 1) % 10}")
        return ("\n".join(lines) + "\n").encode()

    def solution_csv(self) -> bytes:
        rows = ["id,label,usage"] + [
            f"{i},{label},{'public' if p else 'private'}"
            for i, (label, p) in enumerate(zip(self.labels, self.public, strict=True))
        ]
        return ("\n".join(rows) + "\n").encode()


def create_challenge(
    api: TestClient, organizer_token: str, slug: str = "digits", rows: int = 100, **fields: object
) -> ChallengeFixture:
    labels = [(i * 7) % 10 for i in range(rows)]
    public = [i % 3 == 0 for i in range(rows)]
    fixture = ChallengeFixture(slug, labels, public)
    body = {"slug": slug, "title": "Digits", "metric": "accuracy", **fields}
    response = api.post("/api/v1/challenges", json=body, headers=auth(organizer_token))
    assert response.status_code == 201, response.text
    response = api.put(
        f"/api/v1/challenges/{slug}/solution",
        content=fixture.solution_csv(),
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    response = api.put(
        f"/api/v1/challenges/{slug}/files/train.csv",
        content=b"id,pixel0,label\n0,0.5,3\n",
        headers=auth(organizer_token),
    )
    assert response.status_code == 201, response.text
    return fixture


def open_challenge_now(api: TestClient, organizer_token: str, slug: str) -> None:
    response = api.patch(
        f"/api/v1/challenges/{slug}", json={"state": "open"}, headers=auth(organizer_token)
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def open_challenge(api: TestClient, organizer_token: str) -> ChallengeFixture:
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    return fixture


def submit(
    api: TestClient, token: str, slug: str, content: bytes, message: str = ""
) -> dict[str, object]:
    response = api.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("preds.csv", io.BytesIO(content), "text/csv")},
        data={"message": message},
        headers=auth(token),
    )
    return {"status_code": response.status_code, **response.json()}
