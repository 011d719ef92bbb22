"""Scaling curve: scoring time by rows, leaderboard latency by teams, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/scaling.py [--databases sqlite,postgres] [--quick]

For each database, starts ``podium-server serve`` on a temporary data directory and
prints two tables:

1. Scoring at 10^3, 10^4, 10^5 and 10^6 rows: a challenge per size, then
   submissions one after another through the HTTP API (submit to score, the
   median of several), next to the scoring core alone in this process
   (``evaluate_csv`` on the same file, solution already parsed, median) and,
   as the reference measured in the same run, ``GET /api/v1/health``.
2. Leaderboard at 10, 100, 1,000 and 10,000 teams x 20 scored submissions
   (seeded straight into the database): ``GET .../leaderboard`` one request at a
   time with ``Accept-Encoding: gzip``, warm (the board cached: the common case),
   cold (the first request after a version bumped with no change logged: the
   board is rebuilt from scratch) and after a new score (the first request after
   a team's new best score, recorded and bumped as the scorer does: its row
   moves, ``server.leaderboard.incremental``), with the response sizes, next to
   ``GET /api/v1/ping`` as the reference. ``--teams 10000 --boards-only``: one size.

PostgreSQL: ``PODIUM_BENCH_POSTGRES_ADMIN`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) must reach a server where
the benchmark may create and reset the database ``podium_bench``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
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
from sqlalchemy import insert, select, update

ROWS = (1_000, 10_000, 100_000, 1_000_000)
TEAMS = (10, 100, 1_000, 10_000)
PER_TEAM = 20
GZIP = {"Accept-Encoding": "gzip"}


def timed_ms(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


def scoring_row(
    server: Server, org: str, participant: str, rows: int, repeat: int
) -> dict[str, float]:
    from server.scoring import evaluate_csv, parse_solution

    slug = f"rows-{rows}"
    labels = create_challenge(server, org, slug, rows)
    files = [predictions_csv(labels, 0.8 + 0.01 * i, i) for i in range(repeat + 1)]
    headers = {"Authorization": f"Bearer {participant}"}
    submit_ms, health_ms = [], []
    with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
        for i, content in enumerate(files):

            def submit(content: bytes = content) -> None:
                response = client.post(
                    f"/api/v1/challenges/{slug}/submissions",
                    files={"file": ("predictions.csv", content, "text/csv")},
                )
                assert response.status_code == 201, response.text
                body = response.json()
                while body["status"] in ("queued", "running"):
                    time.sleep(0.005)
                    body = client.get(f"/api/v1/submissions/{body['id']}").json()
                assert body["status"] == "scored", body

            elapsed = timed_ms(submit)
            health = timed_ms(lambda: client.get("/api/v1/health").raise_for_status())
            if i:  # the first one warms the server's solution cache
                submit_ms.append(elapsed)
                health_ms.append(health)
    solution = parse_solution(solution_csv(rows)[0], "accuracy")
    evaluate_csv(files[1], solution, "accuracy")  # warm-up
    core_ms = [timed_ms(lambda: evaluate_csv(files[1], solution, "accuracy")) for _ in range(5)]
    return {
        "rows": rows,
        "megabytes": len(files[0]) / 1e6,
        "submit": statistics.median(submit_ms),
        "core": statistics.median(core_ms),
        "health": statistics.median(health_ms),
    }


def new_scores(db: Database, challenge_id: int, teams: int, count: int = 5) -> Iterator[None]:
    """A new best score for a random team, as the scorer records it; yields after each."""
    from server.leaderboard.bump import bump_board
    from server.models import Submission, Team

    rng = random.Random(teams)
    for i in range(count):
        with db.session() as session:
            team_ids = session.scalars(select(Team.id).where(Team.challenge_id == challenge_id))
            team_id = rng.choice(list(team_ids))
            now = datetime.now(UTC)
            session.execute(
                insert(Submission).values(
                    challenge_id=challenge_id,
                    team_id=team_id,
                    kind="csv",
                    file_sha256="0" * 64,
                    file_name="predictions.csv",
                    status="scored",
                    public_score=0.95 + i * 0.001,  # a new leader: the row moves the most
                    private_score=0.95,
                    created_at=now,
                    scored_at=now,
                    attempts=1,
                )
            )
            bump_board(session, challenge_id, team_id)  # as queue.state.record does
        time.sleep(0.4)  # past leaderboard_cache_seconds (0.25 s): the server reads it again
        yield


def board_row(server: Server, db: Database, org: str, teams: int, repeat: int) -> dict[str, float]:
    from server.models import Challenge

    slug = f"teams-{teams}"
    create_challenge(server, org, slug, 100)
    seed_start = time.perf_counter()
    challenge_id, _ = seed_board(db, slug, teams, PER_TEAM, max_score=0.9)
    seed_seconds = time.perf_counter() - seed_start
    url = server.api(f"/challenges/{slug}/leaderboard")
    with httpx.Client(timeout=600, headers=GZIP) as client:
        first = client.get(url)
        assert len(first.json()["entries"]) == teams
        gzip_bytes = int(first.headers.get("content-length", 0))
        plain_bytes = len(first.content)
        cold = []
        for _ in range(5):
            with db.session() as session:
                session.execute(
                    update(Challenge)
                    .where(Challenge.id == challenge_id)
                    .values(board_version=Challenge.board_version + 1)
                )
            time.sleep(0.4)  # past leaderboard_cache_seconds (0.25 s): the server reads it again
            cold.append(timed_ms(lambda: client.get(url).raise_for_status()))
        client.get(url)
        scored = [
            timed_ms(lambda: client.get(url).raise_for_status())
            for _ in new_scores(db, challenge_id, teams)
        ]
        client.get(url)
        warm = [timed_ms(lambda: client.get(url).raise_for_status()) for _ in range(repeat)]
        ping = [timed_ms(lambda: client.get(server.api("/ping"))) for _ in range(repeat)]
    return {
        "teams": teams,
        "submissions": teams * PER_TEAM,
        "seed": seed_seconds,
        "cold": statistics.median(cold),
        "scored": statistics.median(scored),
        "warm": statistics.median(warm),
        "ping": statistics.median(ping),
        "gzip_kb": gzip_bytes / 1024,
        "plain_kb": plain_bytes / 1024,
    }


def run(use_postgres: bool, rows: tuple[int, ...], teams: tuple[int, ...]) -> None:
    with database(use_postgres) as db:
        org = organizer(db)
        (participant,) = seed_users(db, 1, "scaler-")
        with running_server(db) as server:
            scoring = [
                scoring_row(server, org, participant, n, 5 if n < 10**6 else 3) for n in rows
            ]
            boards = [board_row(server, db, org, n, 200) for n in teams]
    print(f"\n## {db.kind}\n")
    print("| rows | CSV | evaluate_csv (core, in-process) | submit to score (HTTP) | GET /health |")
    print("|---:|---:|---:|---:|---:|")
    for r in scoring:
        print(
            f"| {r['rows']:,} | {r['megabytes']:.1f} MB | {r['core']:.1f} ms | "
            f"{r['submit']:.1f} ms | {r['health']:.1f} ms |"
        )
    print()
    print(
        "| teams | submissions | board cold (rebuilt) | after a new score | board warm "
        "| JSON gzip / plain | GET /ping |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b in boards:
        print(
            f"| {b['teams']:,} | {b['submissions']:,} | {b['cold']:.1f} ms | "
            f"{b['scored']:.1f} ms | "
            f"{b['warm']:.2f} ms | {b['gzip_kb']:.0f} / {b['plain_kb']:.0f} KB | "
            f"{b['ping']:.2f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="only the two smallest sizes")
    parser.add_argument("--teams", help="board sizes, comma-separated (default: all four)")
    parser.add_argument("--boards-only", action="store_true", help="skip the scoring table")
    args = parser.parse_args()
    rows = () if args.boards_only else ROWS[:2] if args.quick else ROWS
    teams = TEAMS[:2] if args.quick else TEAMS
    if args.teams:
        teams = tuple(int(n) for n in args.teams.split(","))
    print(f"machine: {machine()}")
    print("medians; submit to score: 5 submissions (3 at 10^6 rows) after a warm-up one;")
    print(
        "board: 5 cold requests, 5 after a new score, 200 warm ones, one at a time, "
        "Accept-Encoding: gzip"
    )
    for name in args.databases.split(","):
        run(name.strip() == "postgres", rows, teams)


if __name__ == "__main__":
    main()
