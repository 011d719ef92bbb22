"""Redis and Celery worker processes for the scale-out benchmark (``scale_out.py``).

A Redis database held alone with the test suite's lock key (flushed before and
after), and ``podium-server worker --queues cpu --concurrency 1`` processes,
each in a process group of its own, stopped whole when the context ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from harness import SERVER_BIN, Server, _die_with_parent

WORKER_TOKEN = "scale-out-bench-worker-token-0123456789abcdef"
UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/no-database-for-workers"
REDIS_HOST_URL = "redis://127.0.0.1:6379"
# The test suite's scheme (tests/workers/conftest.py): a run holds a Redis database
# alone with a lock key in database 0, so that this benchmark and test runs on the
# same Redis never flush or consume each other's queues.
REDIS_DB_CANDIDATES = (5, 8, 9, 10, 11, 12, 13, 14, 15)
REDIS_LOCK_KEY = "podium-tests:redis-db:{}"
REDIS_LOCK_SECONDS = 900


@dataclass
class RedisDatabase:
    """A Redis database on 127.0.0.1:6379 that this run holds with the tests' lock key."""

    number: int
    token: str
    forced: bool

    @property
    def url(self) -> str:
        return f"{REDIS_HOST_URL}/{self.number}"

    def renew(self) -> None:
        """Hold the lock for another lease (a full run outlasts one)."""
        import redis

        if self.forced:
            return
        key = REDIS_LOCK_KEY.format(self.number)
        locks = redis.Redis.from_url(f"{REDIS_HOST_URL}/0", socket_connect_timeout=1)
        try:
            if locks.get(key) not in (None, self.token.encode()):
                raise RuntimeError(f"Redis database {self.number} was taken by another run")
            locks.set(key, self.token, ex=REDIS_LOCK_SECONDS)
        finally:
            locks.close()


@contextmanager
def redis_database() -> Iterator[RedisDatabase]:
    """A Redis database this run holds alone (``PODIUM_BENCH_REDIS_DB`` forces one),
    flushed before and after."""
    import redis

    locks = redis.Redis.from_url(f"{REDIS_HOST_URL}/0", socket_connect_timeout=1)
    token = f"bench-{os.getpid()}-{uuid.uuid4().hex}"
    forced = os.environ.get("PODIUM_BENCH_REDIS_DB")
    candidates = [int(forced)] if forced else REDIS_DB_CANDIDATES
    chosen = next(
        (
            db
            for db in candidates
            if forced or locks.set(REDIS_LOCK_KEY.format(db), token, nx=True, ex=REDIS_LOCK_SECONDS)
        ),
        None,
    )
    if chosen is None:
        locks.close()
        raise SystemExit("every Redis database the tests use is taken; try again later")
    held = RedisDatabase(chosen, token, bool(forced))
    client = redis.Redis.from_url(held.url, socket_connect_timeout=1)
    try:
        client.flushdb()
        yield held
    finally:
        with suppress(redis.RedisError):
            client.flushdb()
            if not forced and locks.get(REDIS_LOCK_KEY.format(chosen)) == token.encode():
                locks.delete(REDIS_LOCK_KEY.format(chosen))
        client.close()
        locks.close()


def _worker_session() -> None:
    """A worker runs in its own process group (stopped whole) and dies with the benchmark."""
    os.setpgrp()
    _die_with_parent()


@contextmanager
def celery_workers(count: int, server: Server, broker_url: str, folder: Path) -> Iterator[None]:
    """``count`` ``podium-server worker --queues cpu --concurrency 1`` processes, ready."""
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for number in range(1, count + 1):
            home = folder / f"worker-{number}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
            env |= {
                "PODIUM_ENV": "development",
                "PODIUM_BROKER_URL": broker_url,
                "PODIUM_SERVER_URL": server.url,
                "PODIUM_WORKER_TOKEN": WORKER_TOKEN,
                "PODIUM_DATA_DIR": str(home / "data"),
                "PODIUM_WORKER_CACHE_DIR": str(home / "cache"),
                # Workers speak HTTP only: a database they tried to use would not answer.
                "PODIUM_DATABASE_URL": UNREACHABLE_DATABASE,
                "PYTHONUNBUFFERED": "1",
            }
            log = folder / f"worker-{number}.log"
            argv = [str(SERVER_BIN), "worker", "--queues", "cpu", "--concurrency", "1"]
            argv += ["--hostname", f"w{number}@scale-out", "--loglevel", "INFO"]
            with open(log, "wb") as handle:
                process = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_worker_session,
                )
            processes.append((process, log))
        deadline = time.monotonic() + 180
        for process, log in processes:
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker not ready:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield
    finally:
        for process, _ in processes:  # SIGTERM the groups: a warm shutdown of each pool
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with suppress(ProcessLookupError):  # whatever is left of the group
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
