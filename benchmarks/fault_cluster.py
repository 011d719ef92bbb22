"""The processes of a fault-injection run (``benchmarks/faults.py``): a Redis server of
the run's own, a ``podium-server serve`` and ``podium-server worker`` processes, each
in its own process group so that the run can SIGKILL it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from harness import SERVER_BIN, Database, free_port

WORKER_TOKEN = "fault-injection-worker-token-0123456789abcdef"
LEASE_SECONDS = 6
RESEND_SECONDS = 5
MAX_ATTEMPTS = 10  # the faults cost attempts; none of them is the job's fault
BUSY_TIMEOUT_SECONDS = 1.0


def redis_command(port: int, *command: str) -> str:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        return str(client.execute_command(*command))
    finally:
        client.close()


class Process:
    """A child in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as handle:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, pattern: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while pattern not in self.text():
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {pattern!r} after {timeout:.0f} s")
            time.sleep(0.1)


class RedisServer(Process):
    """A Redis of this run's own, without persistence (a restart forgets everything)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ]
        super().__init__("redis", argv, dict(os.environ), folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(Exception):
                if redis_command(self.port, "PING") in ("True", "PONG"):
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.text()[-2000:]}")
            time.sleep(0.1)

    def restart(self) -> None:
        self.kill()
        self.start()


class Cluster:
    """The server, the workers and Redis of one run."""

    def __init__(self, db: Database, folder: Path) -> None:
        self.db, self.folder = db, folder
        self.redis = RedisServer(folder)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[Process] = []
        self.server: Process | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        return env | {
            "PODIUM_ENV": "test",
            "PODIUM_BROKER_URL": self.redis.url,
            "PODIUM_WORKER_TOKEN": WORKER_TOKEN,
            "PODIUM_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "PODIUM_JOB_RESEND_SECONDS": str(RESEND_SECONDS),
            "PODIUM_JOB_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, workers: int) -> None:
        self.redis.start()
        env = (
            self.env()
            | self.db.env()
            | {
                "PODIUM_ENV": "test",
                "PODIUM_SQLITE_BUSY_TIMEOUT_SECONDS": str(BUSY_TIMEOUT_SECONDS),
            }
        )
        argv = [str(SERVER_BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.server = Process("server", argv, env, self.folder / "server.log").start()
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    break
            if self.server.popen is not None and self.server.popen.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.server.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        # The first worker is slow (the test-only scoring delay): it is killed mid-job.
        self.start_worker(PODIUM_TEST_SCORING_DELAY="60")
        for _ in range(workers - 1):
            self.start_worker()
        for worker in self.workers:
            worker.wait_for(" ready.")

    def start_worker(self, **extra: str) -> Process:
        number = len(self.workers) + 1
        home = self.folder / f"worker-{number}"
        env = (
            self.env()
            | {
                "PODIUM_SERVER_URL": self.url,
                "PODIUM_DATA_DIR": str(home / "data"),
                "PODIUM_WORKER_CACHE_DIR": str(home / "cache"),
                # Workers speak HTTP only: a database they tried to use would not answer.
                "PODIUM_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            }
            | extra
        )
        argv = [
            str(SERVER_BIN),
            "worker",
            "--queues",
            "cpu",
            "--concurrency",
            "1",
            "--hostname",
            f"w{number}@faults",
        ]
        worker = Process(f"worker-{number}", argv, env, self.folder / f"worker-{number}.log")
        self.workers.append(worker.start())
        return worker

    def shutdown(self) -> None:
        for process in [*self.workers, self.server, self.redis]:
            if process is not None:
                process.kill()
