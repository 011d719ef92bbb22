"""Fixtures for the distributed-scoring tests: real Redis, real server and worker processes.

Redis: ``redis://127.0.0.1:6379/<db>``, a database this test run holds alone
(5, else 8-15; ``PODIUM_TEST_REDIS_DB`` forces one), flushed before and after
each test; skipped (or failed, with PODIUM_REQUIRE_SERVICES=1) when Redis is
down. Leases are short here (``PODIUM_JOB_LEASE_SECONDS=5``) so that expiry
happens within a test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.workers.processes import UNREACHABLE_DATABASE, WORKER_TOKEN, LiveServer, Worker

# Each test run takes a Redis database of its own, so that runs side by side
# (several engineers, CI) never flush or consume each other's queues. A run
# holds it with a lock key in database 0; PODIUM_TEST_REDIS_DB forces one.
REDIS_DB_CANDIDATES = (5, 8, 9, 10, 11, 12, 13, 14, 15)
REDIS_LOCK_KEY = "podium-tests:redis-db:{}"
REDIS_LOCK_SECONDS = 900
LEASE_SECONDS = 5
TIME_LIMIT_SECONDS = 30


@pytest.fixture(scope="session")
def redis_db() -> Iterator[tuple[int, str]]:
    """(database number, lock token) for this test run."""
    import redis

    locks = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1)
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    forced = os.environ.get("PODIUM_TEST_REDIS_DB")
    try:
        candidates = [int(forced)] if forced else REDIS_DB_CANDIDATES
        chosen = next(
            (
                db
                for db in candidates
                if forced
                or locks.set(REDIS_LOCK_KEY.format(db), token, nx=True, ex=REDIS_LOCK_SECONDS)
            ),
            None,
        )
    except redis.RedisError as error:
        locks.close()
        skip_or_fail(f"Redis not reachable at 127.0.0.1:6379: {error}")
    if chosen is None:
        locks.close()
        skip_or_fail("every Redis test database is taken by other test runs")
    yield chosen, token
    if not forced and locks.get(REDIS_LOCK_KEY.format(chosen)) == token.encode():
        locks.delete(REDIS_LOCK_KEY.format(chosen))
    locks.close()


@pytest.fixture
def broker_url(redis_db: tuple[int, str]) -> Iterator[str]:
    import redis

    db, token = redis_db
    url = f"redis://127.0.0.1:6379/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    locks = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1)
    try:
        client.ping()
        if not os.environ.get("PODIUM_TEST_REDIS_DB"):
            key = REDIS_LOCK_KEY.format(db)
            if locks.get(key) not in (None, token.encode()):
                pytest.fail(f"Redis database {db} was taken by another test run")
            locks.set(key, token, ex=REDIS_LOCK_SECONDS)  # held for this test too
    except redis.RedisError as error:
        client.close()
        skip_or_fail(f"Redis not reachable at {url}: {error}")
    finally:
        locks.close()
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def worker_settings_env(
    data_dir: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The Celery transport, a real worker token and short leases for in-process apps."""
    from server.config import get_settings
    from server.db import dispose_engines

    monkeypatch.setenv("PODIUM_BROKER_URL", broker_url)
    monkeypatch.setenv("PODIUM_WORKER_TOKEN", WORKER_TOKEN)
    monkeypatch.setenv("PODIUM_JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("PODIUM_JOB_TIME_LIMIT_SECONDS", str(TIME_LIMIT_SECONDS))
    get_settings.cache_clear()
    dispose_engines()
    yield
    get_settings.cache_clear()


class Cluster:
    """One server (restartable on the same port) and any number of workers."""

    def __init__(self, data_dir: Path, broker_url: str, root: Path) -> None:
        self.data_dir = data_dir
        self.broker_url = broker_url
        self.root = root
        self.server: LiveServer | None = None
        self.port: int | None = None
        self.workers: list[Worker] = []
        self._servers: list[LiveServer] = []

    def server_env(self, embedded: bool = False, **extra: str) -> dict[str, str]:
        env = dict(os.environ)  # the data_dir fixture's PODIUM_DATA_DIR / DATABASE_URL
        env.pop("PODIUM_BROKER_URL", None)
        env |= {
            "PODIUM_ENV": "test",
            "PODIUM_WORKER_TOKEN": WORKER_TOKEN,
            "PODIUM_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "PODIUM_JOB_TIME_LIMIT_SECONDS": str(TIME_LIMIT_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        if not embedded:
            env["PODIUM_BROKER_URL"] = self.broker_url
        return env | extra

    def start_server(self, embedded: bool = False, wait: bool = True, **extra: str) -> LiveServer:
        """Start (or restart, on the same port) the server."""
        if self.server is not None and self.server.alive:
            self.server.stop()
        number = len(self._servers) + 1
        server = LiveServer(
            self.server_env(embedded, **extra), self.root / f"server-{number}.log", self.port
        )
        self.port = server.port
        self._servers.append(server)
        self.server = server
        server.start()
        if wait:
            server.wait_ready()
        return server

    def start_worker(
        self,
        name: str,
        delay: float | None = None,
        concurrency: int = 1,
        queues: str = "cpu",
        wait: bool = True,
        **extra: str,
    ) -> Worker:
        assert self.server is not None, "start the server first"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        home = self.root / f"worker-{name}"
        env |= {
            "PODIUM_ENV": "test",
            "PODIUM_BROKER_URL": self.broker_url,
            "PODIUM_SERVER_URL": self.server.url,
            "PODIUM_WORKER_TOKEN": WORKER_TOKEN,
            "PODIUM_DATA_DIR": str(home / "data"),
            # Workers reach the server over HTTP only: any database access would fail.
            "PODIUM_DATABASE_URL": UNREACHABLE_DATABASE,
            "PODIUM_WORKER_CACHE_DIR": str(home / "cache"),
            "PODIUM_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "PODIUM_JOB_TIME_LIMIT_SECONDS": str(TIME_LIMIT_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        if delay is not None:
            env["PODIUM_TEST_SCORING_DELAY"] = str(delay)
        worker = Worker(name, env | extra, self.root / f"worker-{name}.log", queues, concurrency)
        self.workers.append(worker)
        worker.start()
        if wait:
            worker.wait_ready()
        return worker

    def wait_ready(self) -> None:
        """Wait for everything launched with ``wait=False``."""
        for process in [self.server, *self.workers]:
            if process is not None and process.alive:
                process.wait_ready()

    def http(self) -> httpx.Client:
        assert self.server is not None
        return httpx.Client(base_url=self.server.url, timeout=60)

    def shutdown(self) -> None:
        for process in [*self.workers, *self._servers]:
            process.kill()

    def logs(self) -> str:
        parts = [
            f"--- {p.log_path.name}\n{p.log()[-3000:]}" for p in [*self._servers, *self.workers]
        ]
        return "\n".join(parts)


@pytest.fixture
def cluster(
    data_dir: Path, broker_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cluster]:
    cluster = Cluster(data_dir, broker_url, tmp_path)
    yield cluster
    cluster.shutdown()
    report: Any = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(cluster.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
