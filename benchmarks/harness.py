"""Shared helpers for the benchmark scripts: a live server and seeding.

(Percentiles and the machine line: ``figures``; ``wrk``: ``wrk_runner``.)

Every benchmark runs a real ``podium-server serve`` subprocess on a temporary data
directory (SQLite by default, PostgreSQL with ``--postgres``) and talks to it over
real HTTP. Seeding that would take minutes through the API (thousands of teams and
submissions) goes straight into the database through the ORM's bulk inserts.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
SERVER_BIN = Path(sys.executable).with_name("podium-server")
POSTGRES_ADMIN_URL = os.environ.get(
    "PODIUM_BENCH_POSTGRES_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_PASSWORD = "a-long-bench-password"
CLASSES = 10
PR_SET_PDEATHSIG = 1


# ---------------------------------------------------------------- databases


def postgres_url(database: str = "podium_bench") -> str:
    """A fresh, empty PostgreSQL database (created when missing, its schema reset)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@dataclass
class Database:
    """Where a benchmark's server keeps its data; also lets this process seed it."""

    data_dir: Path
    url: str | None = None  # None: SQLite in data_dir

    @property
    def kind(self) -> str:
        return "PostgreSQL" if self.url else "SQLite"

    def env(self) -> dict[str, str]:
        env = {
            "PODIUM_DATA_DIR": str(self.data_dir),
            "PODIUM_ENV": "development",
            "PODIUM_ALLOW_SIGNUP": "true",
        }
        if self.url:
            env["PODIUM_DATABASE_URL"] = self.url
        return env

    @property
    def sqlalchemy_url(self) -> str:
        return self.url or f"sqlite:///{(self.data_dir / 'podium.db').resolve()}"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session on this database from this process (seeding); commits at the end."""
        from server.db import make_engine

        engine = make_engine(self.sqlalchemy_url)
        try:
            with Session(engine) as session, session.begin():
                yield session
        finally:
            engine.dispose()

    def migrate(self) -> None:
        env = {**os.environ, **self.env()}
        if not self.url:
            env.pop("PODIUM_DATABASE_URL", None)
        subprocess.run(
            [str(SERVER_BIN), "migrate"], env=env, check=True, capture_output=True, cwd=ROOT
        )


@contextmanager
def database(use_postgres: bool = False, name: str = "") -> Iterator[Database]:
    """A temporary data directory, with SQLite in it or a reset PostgreSQL database
    (``name``, else ``PODIUM_BENCH_POSTGRES_DB``, else ``podium_bench``)."""
    name = name or os.environ.get("PODIUM_BENCH_POSTGRES_DB", "podium_bench")
    folder = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    try:
        db = Database(folder, postgres_url(name) if use_postgres else None)
        db.migrate()
        yield db
    finally:
        if os.environ.get("PODIUM_BENCH_KEEP"):
            print(f"(kept {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    db: Database
    log: Path

    @property
    def pid(self) -> int:
        """The server's process id (under py-spy when profiling: its child)."""
        if not os.environ.get("PODIUM_BENCH_PROFILE"):
            return self.process.pid
        import psutil

        return psutil.Process(self.process.pid).children()[0].pid

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the benchmark dies, so none is left behind."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextmanager
def running_server(
    db: Database, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``podium-server serve`` as a subprocess; waits until /api/v1/health answers."""
    port = free_port()
    env = {**os.environ, **db.env()}
    if not db.url:
        env.pop("PODIUM_DATABASE_URL", None)
    env.pop("PODIUM_BROKER_URL", None)  # embedded jobs unless extra_env names a broker
    env.update(extra_env or {})
    log = db.data_dir / f"server-{port}.log"
    command = [str(SERVER_BIN), "serve", "--port", str(port), "--workers", str(workers)]
    profile = os.environ.get("PODIUM_BENCH_PROFILE")
    if profile:  # a py-spy profile of the server over the whole run (docs/benchmarks.md)
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        spy = [binary, "record", "-r", "250", "-f", "raw"]
        command = [*spy, "--nonblocking", "--subprocesses", "-o", profile, "--", *command]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            preexec_fn=_die_with_parent,
        )
    server = Server(f"http://127.0.0.1:{port}", process, db, log)
    try:
        deadline = time.monotonic() + 180  # a loaded VM starts slowly
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(server.api("/health"), timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- seeding


def solution_csv(rows: int, seed: int = 0) -> tuple[bytes, np.ndarray]:
    """A hidden solution ``id,label,usage`` (10 classes, half public) and its labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, rows)
    usage = np.where(np.arange(rows) % 2 == 0, "public", "private")
    lines = ["id,label,usage"] + [f"{i},{labels[i]},{usage[i]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode(), labels


def predictions_csv(labels: np.ndarray, accuracy: float, seed: int) -> bytes:
    """Predictions ``id,label`` right on about ``accuracy`` of the rows."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(labels)) >= accuracy
    guesses = np.where(wrong, (labels + 1) % CLASSES, labels)
    lines = ["id,label"] + [f"{i},{g}" for i, g in enumerate(guesses)]
    return ("\n".join(lines) + "\n").encode()


def seed_users(db: Database, count: int, prefix: str, role: str = "participant") -> list[str]:
    """Create users with API tokens directly in the database; returns the tokens."""
    from server.accounts.security import hash_password, hash_token, new_token
    from server.models import ApiToken, User

    password_hash = hash_password(BENCH_PASSWORD)  # argon2 once, not per user
    tokens = [new_token() for _ in range(count)]
    with db.session() as session:
        users = [
            User(username=f"{prefix}{i:05d}", password_hash=password_hash, role=role)
            for i in range(count)
        ]
        session.add_all(users)
        session.flush()
        session.add_all(
            ApiToken(user_id=u.id, token_hash=hash_token(t), prefix=t[:10], name="bench")
            for u, t in zip(users, tokens, strict=True)
        )
    return tokens


def create_challenge(
    server: Server,
    organizer_token: str,
    slug: str,
    rows: int,
    daily_submission_limit: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Create and open a CSV challenge through the API; returns the hidden labels."""
    headers = {"Authorization": f"Bearer {organizer_token}"}
    solution, labels = solution_csv(rows, seed)
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        body = {
            "slug": slug,
            "title": f"Benchmark {slug}",
            "metric": "accuracy",
            "daily_submission_limit": daily_submission_limit,
            "max_team_size": 4,
        }
        client.post("/api/v1/challenges", json=body).raise_for_status()
        client.put(f"/api/v1/challenges/{slug}/solution", content=solution).raise_for_status()
        client.patch(f"/api/v1/challenges/{slug}", json={"state": "open"}).raise_for_status()
    return labels


def seed_board(
    db: Database, slug: str, teams: int, per_team: int, max_score: float = 0.99, seed: int = 0
) -> tuple[int, float]:
    """Bulk-insert ``teams`` teams of one member with ``per_team`` scored submissions each.

    Returns the challenge id and the best public score on the board.
    """
    from sqlalchemy import insert, select, text, update

    from server.models import Challenge, Submission, Team, TeamMember, User

    rng = np.random.default_rng(seed)
    user_tokens = seed_users(db, teams, f"{slug[:12]}-t")
    del user_tokens
    now = datetime.now(UTC)
    with db.session() as session:
        challenge_id = session.scalar(select(Challenge.id).where(Challenge.slug == slug))
        user_ids = session.scalars(
            select(User.id).where(User.username.like(f"{slug[:12]}-t%")).order_by(User.id)
        ).all()
        session.execute(
            insert(Team),
            [{"challenge_id": challenge_id, "name": f"team-{i:05d}"} for i in range(teams)],
        )
        team_ids = session.scalars(
            select(Team.id).where(Team.challenge_id == challenge_id).order_by(Team.id)
        ).all()
        session.execute(
            insert(TeamMember),
            [
                {"team_id": t, "challenge_id": challenge_id, "user_id": u}
                for t, u in zip(team_ids, user_ids, strict=True)
            ],
        )
        scores = rng.uniform(0.5, max_score, size=(teams, per_team, 2))
        batch: list[dict[str, object]] = []
        for ti, (team_id, user_id) in enumerate(zip(team_ids, user_ids, strict=True)):
            for si in range(per_team):
                created = now - timedelta(minutes=(per_team - si) * 7 + ti % 60)
                batch.append(
                    {
                        "challenge_id": challenge_id,
                        "team_id": team_id,
                        "user_id": user_id,
                        "kind": "csv",
                        "file_sha256": "0" * 64,
                        "file_name": "predictions.csv",
                        "status": "scored",
                        "public_score": float(scores[ti, si, 0]),
                        "private_score": float(scores[ti, si, 1]),
                        "created_at": created,
                        "scored_at": created,
                        "attempts": 1,
                    }
                )
                if len(batch) >= 5000:
                    session.execute(insert(Submission), batch)
                    batch = []
        if batch:
            session.execute(insert(Submission), batch)
        session.execute(
            update(Challenge)
            .where(Challenge.id == challenge_id)
            .values(board_version=Challenge.board_version + 1)
        )
    if db.url:
        # What autovacuum does after such a load (it is off on the development server):
        # without statistics the planner scanned all 200,000 rows for one team's best
        # row (160 ms a query) instead of using the board index.
        with db.session() as session:
            session.execute(text("ANALYZE submission, team, board_change"))
    return int(challenge_id), float(scores[:, :, 0].max())


def organizer(db: Database) -> str:
    return seed_users(db, 1, "organizer-", role="organizer")[0]
