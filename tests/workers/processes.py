"""Live processes for the worker tests: a uvicorn server and Celery workers.

Both are started as real subprocesses of the real entry point
(``podium-server serve`` / ``podium-server worker``), each in its own process
group so that a test can SIGKILL, SIGSTOP or SIGCONT a whole worker (parent and
pool) the way a crashed or frozen machine would behave. The server uses the
test's database (``data_dir`` fixture); workers get no database at all: their
``PODIUM_DATABASE_URL`` points at a closed port.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

WORKER_TOKEN = "test-worker-token-0123456789abcdefghijklmnop"
STARTUP_SECONDS = 60.0
POLL_SECONDS = 0.2
UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/no-database-for-workers"
RESULT_LINE = re.compile(r"result submission=(\d+) attempt=(\S+) recorded=(\w+)")


def podium_server() -> list[str]:
    """The installed ``podium-server`` script (``python -m server.cli`` if missing)."""
    script = Path(sys.executable).parent / "podium-server"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (a liveness deadline, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


class Process:
    """A child in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def wait_ready(self) -> None:
        """Block until the process serves (subclasses say how to tell)."""

    def start(self) -> None:
        """Launch without waiting (several processes start faster side by side)."""
        assert self.popen is None or self.popen.poll() is not None, f"{self.name} is running"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal_group(self, signum: int) -> None:
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group (the process and every child it forked)."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL what is left of the group."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGCONT)
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        self.signal_group(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=30)

    def check_alive(self) -> None:
        if not self.alive:
            raise AssertionError(f"{self.name} exited early; its log:\n{self.log()[-4000:]}")


class LiveServer(Process):
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            "server",
            [*podium_server(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env,
            log_path,
        )

    def wait_ready(self) -> None:
        wait_for("the server to answer", self._healthy, STARTUP_SECONDS)

    def _healthy(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


class Worker(Process):
    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_path: Path,
        queues: str = "cpu",
        concurrency: int = 1,
    ) -> None:
        super().__init__(
            name,
            [
                *podium_server(),
                "worker",
                "--queues",
                queues,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@podium-test",
            ],
            env,
            log_path,
        )

    def wait_ready(self) -> None:
        wait_for(f"worker {self.name} to be ready", self._ready, STARTUP_SECONDS)

    def _ready(self) -> bool:
        self.check_alive()
        return " ready." in self.log()

    def results(self) -> list[tuple[int, str, str]]:
        """(submission id, attempt, recorded) for every result this worker posted."""
        return [(int(m[1]), m[2], m[3]) for m in RESULT_LINE.finditer(self.log())]
