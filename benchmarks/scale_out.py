"""Scale-out: leaderboard and submit throughput as server and worker processes are added.

    .venv/bin/python benchmarks/scale_out.py [--rows-only serve-1,serve-2,serve-4,celery-1,celery-2]
        [--teams 1000] [--per-team 20] [--seconds 10] [--rounds 3] [--wrk-threads 1]
        [--submissions 200] [--clients 20] [--csv-rows 10000] [--solo 10]
        [--celery-serve-workers 2] [--quick]

Everything runs on PostgreSQL (``PODIUM_BENCH_POSTGRES_DB``, default ``podium_bench``,
reset at the start; see ``harness.database``). One board of ``--teams`` teams x
``--per-team`` scored submissions is seeded once and read by every row. Rows:

- ``serve-1``, ``serve-2``, ``serve-4``: ``podium-server serve --workers N``, embedded
  jobs (the default: the serve processes score);
- ``celery-1``, ``celery-2``: ``serve --workers --celery-serve-workers`` with the Celery
  transport (Redis at 127.0.0.1:6379, a database of its own taken with the test
  suite's lock, flushed before and after) and 1 or 2 ``podium-server worker
  --queues cpu --concurrency 1`` processes; the embedded pool is off (a broker is set).

Per row, on a fresh server: wrk (``-c32``, ``--wrk-threads``, ``Accept-Encoding:
gzip``) against ``GET /api/v1/ping`` (the same-row reference: an ``async`` route, no
database) and ``GET .../leaderboard`` (JSON), in turn, ``--rounds`` times, the median
round of each; then the same-row submit reference, one client alone submitting
``--solo`` files one after another, each waited for until scored; then the burst,
``--submissions`` different ``--csv-rows``-row files from ``--clients`` clients at
once (each its own team and connection, files back to back): accepted per second
(until the last POST was answered) and scored per second (until every accepted
submission was finished). The load average is printed at the start and the end of
each row. The result is a markdown table for docs/benchmarks.md.

Every process the script starts (servers, workers, wrk) is stopped when it ends,
also on Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from figures import machine
from harness import (
    SERVER_BIN,
    Database,
    Server,
    _die_with_parent,
    create_challenge,
    database,
    organizer,
    predictions_csv,
    running_server,
    seed_board,
    seed_users,
    solution_csv,
)
from wrk_runner import WrkResult, wrk

BOARD = "board"
BOARD_SOLUTION_ROWS = 1_000
CONNECTIONS = 32
GZIP = {"Accept-Encoding": "gzip"}
WORKER_TOKEN = "scale-out-bench-worker-token-0123456789abcdef"
UNREACHABLE_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/no-database-for-workers"
REDIS_HOST_URL = "redis://127.0.0.1:6379"
# The test suite's scheme (tests/workers/conftest.py): a run holds a Redis database
# alone with a lock key in database 0, so that this benchmark and test runs on the
# same Redis never flush or consume each other's queues.
REDIS_DB_CANDIDATES = (5, 8, 9, 10, 11, 12, 13, 14, 15)
REDIS_LOCK_KEY = "podium-tests:redis-db:{}"
REDIS_LOCK_SECONDS = 900
SCORED_DEADLINE_SECONDS = 900.0
ROW_NAMES = ("serve-1", "serve-2", "serve-4", "celery-1", "celery-2")

FULL = {
    "teams": 1_000,
    "per_team": 20,
    "seconds": 10,
    "rounds": 3,
    "submissions": 200,
    "clients": 20,
    "csv_rows": 10_000,
    "solo": 10,
}
QUICK = {
    "teams": 100,
    "per_team": 5,
    "seconds": 2,
    "rounds": 1,
    "submissions": 20,
    "clients": 4,
    "csv_rows": 1_000,
    "solo": 3,
}


@dataclass(frozen=True)
class Row:
    name: str
    serve_workers: int
    celery_workers: int  # 0: embedded jobs

    @property
    def jobs(self) -> str:
        if not self.celery_workers:
            return "embedded"
        plural = "s" if self.celery_workers > 1 else ""
        return f"Celery, {self.celery_workers} worker{plural}"


def parse_rows(text: str | None, celery_serve_workers: int = 2) -> list[Row]:
    """The rows named in ``--rows-only`` (comma-separated), all of them when None."""
    names = [n.strip() for n in text.split(",") if n.strip()] if text else list(ROW_NAMES)
    unknown = [n for n in names if n not in ROW_NAMES]
    if unknown or not names:
        raise ValueError(f"unknown row(s) {', '.join(unknown)}; pick from {', '.join(ROW_NAMES)}")
    rows = []
    for name in dict.fromkeys(names):  # in the order given, once each
        kind, count = name.split("-")
        if kind == "serve":
            rows.append(Row(name, int(count), 0))
        else:
            rows.append(Row(name, celery_serve_workers, int(count)))
    return rows


def sizes(args: argparse.Namespace) -> dict[str, int]:
    """The run's sizes: a flag given wins, else ``--quick``'s or the full defaults."""
    base = QUICK if args.quick else FULL
    return {
        key: getattr(args, key) if getattr(args, key) is not None else d for key, d in base.items()
    }


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


# ---------------------------------------------------------------- results


@dataclass
class Burst:
    accepted: int
    codes: Counter[int]
    statuses: Counter[str]
    posted_seconds: float
    finished_seconds: float

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.posted_seconds if self.posted_seconds else 0.0

    @property
    def scored_per_second(self) -> float:
        return self.statuses["scored"] / self.finished_seconds if self.finished_seconds else 0.0


@dataclass
class RowResult:
    row: Row
    ping: WrkResult
    board: WrkResult
    solo_ms: list[float]
    burst: Burst
    load_start: str
    load_end: str

    @property
    def solo_per_second(self) -> float:
        return 1000 / statistics.median(self.solo_ms) if self.solo_ms else 0.0


def table(results: list[RowResult]) -> list[str]:
    """The markdown table for docs/benchmarks.md."""
    lines = [
        "| row | serve --workers | jobs | leaderboard JSON (gzip) | GET /ping (ref.) | JSON / ping "
        "| submits accepted | scored | one client alone (ref.) | load avg start → end |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        board, ping, burst = r.board, r.ping, r.burst
        share = (
            board.requests_per_second / ping.requests_per_second if ping.requests_per_second else 0
        )
        solo = statistics.median(r.solo_ms) if r.solo_ms else float("nan")
        lines.append(
            f"| {r.row.name} | {r.row.serve_workers} | {r.row.jobs} "
            f"| {board.requests_per_second:,.0f} req/s (p99 {board.p99_ms:.0f} ms) "
            f"| {ping.requests_per_second:,.0f} req/s | {share:.0%} "
            f"| {burst.accepted_per_second:.1f}/s "
            f"| {burst.scored_per_second:.1f}/s ({burst.finished_seconds:.1f} s) "
            f"| {r.solo_per_second:.1f}/s ({solo:.0f} ms each) "
            f"| {r.load_start} → {r.load_end} |"
        )
    return lines


# ---------------------------------------------------------------- Redis and workers


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


# ---------------------------------------------------------------- measurements


def throughput(server: Server, seconds: int, rounds: int, threads: int) -> tuple[WrkResult, ...]:
    """(ping, JSON board): the median round of each, the two run in turn."""
    urls = (server.api("/ping"), server.api(f"/challenges/{BOARD}/leaderboard"))
    for url in urls:  # warm caches and code paths in every serve process
        wrk(url, CONNECTIONS, 2, threads, headers=GZIP)
    results: tuple[list[WrkResult], ...] = ([], [])
    for _ in range(rounds):
        for url, runs in zip(urls, results, strict=True):
            runs.append(wrk(url, CONNECTIONS, seconds, threads, headers=GZIP))
    return tuple(
        sorted(runs, key=lambda r: r.requests_per_second)[len(runs) // 2] for runs in results
    )


def submit(client: httpx.Client, slug: str, content: bytes) -> int:
    response = client.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("predictions.csv", content, "text/csv")},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def solo(server: Server, token: str, slug: str, files: list[bytes]) -> list[float]:
    """One client alone: submit to scored, ms each (the first file warms the caches)."""
    times = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        for index, content in enumerate(files):
            start = time.perf_counter()
            submission_id = submit(client, slug, content)
            while True:
                status = client.get(f"/api/v1/submissions/{submission_id}").json()["status"]
                if status not in ("queued", "running"):
                    break
                time.sleep(0.005)
            assert status == "scored", status
            if index:
                times.append((time.perf_counter() - start) * 1000)
    return times


async def _client_run(url: str, token: str, slug: str, files: list[bytes]) -> list[int]:
    codes = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:
        for content in files:
            try:
                response = await client.post(
                    f"/api/v1/challenges/{slug}/submissions",
                    files={"file": ("predictions.csv", content, "text/csv")},
                )
                codes.append(response.status_code)
            except httpx.HTTPError as error:
                print(f"  connection error: {error!r}")
                codes.append(0)
    return codes


async def _burst(url: str, tokens: list[str], slug: str, files: list[list[bytes]]) -> list[int]:
    runs = await asyncio.gather(
        *(_client_run(url, t, slug, f) for t, f in zip(tokens, files, strict=True))
    )
    return [code for run in runs for code in run]


def finished_counts(db: Database, slug: str) -> Counter[str]:
    """The challenge's submissions by status, read straight from the database (no HTTP
    request that would compete with the burst for the server)."""
    from sqlalchemy import func, select

    from server.models import Challenge, Submission

    with db.session() as session:
        rows = session.execute(
            select(Submission.status, func.count())
            .join(Challenge, Challenge.id == Submission.challenge_id)
            .where(Challenge.slug == slug)
            .group_by(Submission.status)
        ).all()
    return Counter({str(status): int(count) for status, count in rows})


def burst(server: Server, db: Database, tokens: list[str], slug: str, files: list[bytes]) -> Burst:
    """All clients at once, each sending its share of ``files`` back to back."""
    shares = [files[i :: len(tokens)] for i in range(len(tokens))]
    before = finished_counts(db, slug)
    started = time.perf_counter()
    codes = Counter(asyncio.run(_burst(server.url, tokens, slug, shares)))
    posted = time.perf_counter()
    accepted = codes[201]
    deadline = posted + SCORED_DEADLINE_SECONDS
    while True:
        statuses = finished_counts(db, slug)
        done = statuses.total() >= before.total() + accepted
        if done and not statuses["queued"] + statuses["running"]:
            break
        if time.perf_counter() > deadline:
            print(f"  still unfinished after {SCORED_DEADLINE_SECONDS:.0f} s: {dict(statuses)}")
            break
        time.sleep(0.1)
    finished = time.perf_counter()
    return Burst(accepted, codes, statuses - before, posted - started, finished - started)


def run_row(
    row: Row,
    db: Database,
    org: str,
    tokens: list[str],
    files: list[bytes],
    solo_files: list[bytes],
    size: dict[str, int],
    threads: int,
    broker: RedisDatabase | None,
    folder: Path,
) -> RowResult:
    load_start = load_average()
    print(
        f"\n{row.name}: serve --workers {row.serve_workers}, {row.jobs}; load average {load_start}"
    )
    env = {"PODIUM_WORKER_TOKEN": WORKER_TOKEN}
    if broker is not None:
        broker.renew()
    if row.celery_workers:
        assert broker is not None
        env["PODIUM_BROKER_URL"] = broker.url
    slug = f"submit-{row.name}"
    broker_url = broker.url if broker is not None else ""
    with (
        running_server(db, workers=row.serve_workers, extra_env=env) as server,
        celery_workers(row.celery_workers, server, broker_url, folder),
    ):
        ping, board = throughput(server, size["seconds"], size["rounds"], threads)
        print(f"  ping        {ping.line()}")
        print(f"  JSON, gzip  {board.line()}")
        per_team = max(-(-len(files) // (len(tokens) - 1)), len(solo_files))
        limit = min(1000, per_team)  # the API's ceiling
        create_challenge(server, org, slug, size["csv_rows"], daily_submission_limit=limit)
        solo_ms = solo(server, tokens[0], slug, solo_files)
        print(
            f"  one client alone: submit to scored median {statistics.median(solo_ms):.0f} ms "
            f"(n={len(solo_ms)})"
        )
        result = burst(server, db, tokens[1:], slug, files)
    print(
        f"  burst: {len(files)} submissions from {len(tokens) - 1} clients; "
        f"status codes {dict(sorted(result.codes.items()))}; finished {dict(result.statuses)}"
    )
    print(
        f"  accepted {result.accepted_per_second:.1f}/s (all POSTs answered after "
        f"{result.posted_seconds:.1f} s); scored {result.scored_per_second:.1f}/s "
        f"(all finished after {result.finished_seconds:.1f} s)"
    )
    load_end = load_average()
    print(f"  load average at the end: {load_end}")
    return RowResult(row, ping, board, solo_ms, result, load_start, load_end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-only", help=f"comma-separated, from {', '.join(ROW_NAMES)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--teams", type=int, help="board teams (1,000)")
    parser.add_argument("--per-team", type=int, help="scored submissions per team (20)")
    parser.add_argument("--seconds", type=int, help="wrk duration per run (10)")
    parser.add_argument("--rounds", type=int, help="wrk rounds, the median reported (3)")
    parser.add_argument("--submissions", type=int, help="burst submissions (200)")
    parser.add_argument("--clients", type=int, help="burst clients (20)")
    parser.add_argument("--csv-rows", type=int, help="rows per CSV (10,000)")
    parser.add_argument("--solo", type=int, help="one-client reference submissions (10)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (one core each)")
    parser.add_argument("--celery-serve-workers", type=int, default=2, help="serve processes")
    args = parser.parse_args()
    try:
        rows = parse_rows(args.rows_only, args.celery_serve_workers)
    except ValueError as error:
        parser.error(str(error))
    size = sizes(args)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in a log
    # A SIGTERM still stops every process this run started (the finally clauses).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    print(f"machine: {machine()}")
    print(
        f"PostgreSQL; board {size['teams']:,} teams x {size['per_team']}; wrk -t{args.wrk_threads} "
        f"-c{CONNECTIONS} -d{size['seconds']}s, gzip, median of {size['rounds']} round(s); "
        f"burst {size['submissions']} x {size['csv_rows']:,}-row CSV from {size['clients']} "
        f"clients; reference: one client alone, {size['solo']} submissions"
    )
    with (
        database(use_postgres=True) as db,
        tempfile.TemporaryDirectory(prefix="podium-scale-out-") as tmp,
    ):
        org = organizer(db)
        tokens = seed_users(db, size["clients"] + 1, "scaler-")
        with running_server(db) as server:  # the board, seeded once for every row
            create_challenge(server, org, BOARD, BOARD_SOLUTION_ROWS)
            seed_board(db, BOARD, size["teams"], size["per_team"], max_score=0.9)
        # The submit challenges share one solution (seed 0): the files serve every row.
        labels = solution_csv(size["csv_rows"])[1]
        rng = np.random.default_rng(1)
        files = [
            predictions_csv(labels, float(rng.uniform(0.6, 0.99)), i)
            for i in range(size["submissions"])
        ]
        solo_files = [
            predictions_csv(labels, 0.5 + 0.01 * i, 10_000 + i) for i in range(size["solo"] + 1)
        ]
        needs_redis = any(row.celery_workers for row in rows)
        with redis_database() if needs_redis else _nothing() as broker:
            results = [
                run_row(
                    row,
                    db,
                    org,
                    tokens,
                    files,
                    solo_files,
                    size,
                    args.wrk_threads,
                    broker,
                    Path(tmp),
                )
                for row in rows
            ]
    print(f"\nmachine: {machine()}\n")
    print("\n".join(table(results)))


@contextmanager
def _nothing() -> Iterator[RedisDatabase | None]:
    yield None


if __name__ == "__main__":
    main()
