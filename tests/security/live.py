"""A live server in a child process: real sockets, real uvicorn, killable with SIGKILL.

The server runs ``python -m server.cli serve`` (the production entry point, with
its uvicorn settings) on a free port, against a data directory and database of
its own: a copy of the migrated SQLite template, or the PostgreSQL test
database (``PODIUM_TEST_DATABASE_URL``) truncated first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PASSWORD, TEST_DATABASE_URL, _truncate_all
from tests.security.world import WORKER_TOKEN

STARTUP_TIMEOUT_SECONDS = 90
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(
        self, root: Path, template: str, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.root = root
        self.data_dir = root / "podium-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = root / "server.log"
        self.starts = 0
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PODIUM_") or key == "PODIUM_REQUIRE_SERVICES"
        }
        self.env |= {
            "PODIUM_DATA_DIR": str(self.data_dir),
            "PODIUM_ENV": "test",
            "PODIUM_WORKER_TOKEN": WORKER_TOKEN,
            "PYTHONUNBUFFERED": "1",
        }
        if TEST_DATABASE_URL:
            _truncate_all(template)
            self.env["PODIUM_DATABASE_URL"] = template
        else:
            shutil.copyfile(template, self.data_dir / "podium.db")
        self.env |= env or {}

    @property
    def settings(self) -> Any:
        from server.config import Settings

        return Settings(
            data_dir=self.data_dir,
            database_url=self.env.get("PODIUM_DATABASE_URL"),
            worker_token=WORKER_TOKEN,
            env="test",
        )

    def start(self) -> LiveServer:
        assert self.process is None
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until it exits
        log.write(f"\n===== start {self.starts + 1} =====\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not become ready:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hook, no flush, nothing."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        self.process = None

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def client(self, token: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    # ---- accounts -------------------------------------------------------------------------

    def create_organizer(self, username: str) -> str:
        """An organizer made the way ``podium-server create-organizer`` makes one."""
        from server.accounts import service
        from server.db import session_scope
        from server.models import Role

        with session_scope(self.settings) as session:
            user = service.create_user(session, username, PASSWORD, Role.organizer)
            _, token = service.issue_token(session, user)
        return token

    def create_participant(self, username: str) -> str:
        """Sign up and log in over HTTP, like a student."""
        with self.client() as client:
            response = client.post(
                "/api/v1/users", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
            response = client.post(
                "/api/v1/tokens", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
            return str(response.json()["token"])


def open_challenge(server: LiveServer, organizer: str, slug: str, **fields: object) -> Any:
    """A challenge with the suite's hidden solution, opened, over HTTP."""
    from tests.security.world import Hidden

    hidden = Hidden.make()
    body = {"slug": slug, "title": slug, "metric": "accuracy", **fields}
    with server.client(organizer) as client:
        response = client.post("/api/v1/challenges", json=body)
        assert response.status_code == 201, response.text
        response = client.put(f"/api/v1/challenges/{slug}/solution", content=hidden.solution_csv())
        assert response.status_code == 200, response.text
        response = client.patch(f"/api/v1/challenges/{slug}", json={"state": "open"})
        assert response.status_code == 200, response.text
    return hidden


def upload(client: httpx.Client, slug: str, content: bytes, message: str = "") -> httpx.Response:
    return client.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("preds.csv", content, "text/csv")},
        data={"message": message},
    )


def all_submissions(server: LiveServer, organizer: str, slug: str) -> list[dict[str, Any]]:
    with server.client(organizer) as client:
        response = client.get(f"/api/v1/challenges/{slug}/submissions")
        assert response.status_code == 200, response.text
        return list(response.json())


def wait_until_settled(
    server: LiveServer, organizer: str, slug: str, timeout: float = 120
) -> list[dict[str, Any]]:
    """Poll until no submission of the challenge is queued or running; return them all."""
    deadline = time.monotonic() + timeout
    rows = all_submissions(server, organizer, slug)
    while any(r["status"] in ("queued", "running") for r in rows):
        if time.monotonic() > deadline:
            stuck = [(r["id"], r["status"]) for r in rows if r["status"] in ("queued", "running")]
            raise AssertionError(f"still unfinished after {timeout} s: {stuck}\n{server.log()}")
        time.sleep(0.3)
        rows = all_submissions(server, organizer, slug)
    return rows
