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
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from celery_pool import WORKER_TOKEN, RedisDatabase, celery_workers, redis_database
from figures import machine
from harness import (
    Database,
    Server,
    create_challenge,
    database,
    organizer,
    predictions_csv,
    running_server,
    seed_board,
    seed_users,
    solution_csv,
)
from scale_out_rows import ROW_NAMES, Burst, Row, RowResult, parse_rows, sizes, table
from wrk_runner import WrkResult, wrk

BOARD = "board"
BOARD_SOLUTION_ROWS = 1_000
CONNECTIONS = 32
GZIP = {"Accept-Encoding": "gzip"}
SCORED_DEADLINE_SECONDS = 900.0


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


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
