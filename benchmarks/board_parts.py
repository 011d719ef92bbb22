"""CPU time of each part of a large board's first request after a new score, in-process.

    .venv/bin/python benchmarks/board_parts.py [--teams 10000] [--postgres]

Seeds ``--teams`` teams x 20 scored submissions (a server is started only to create
the challenge), then times in this process, with ``time.process_time`` (CPU, which
moves far less than the wall clock with the shared VM's load) and the wall clock:
the rebuild (``board.compute``), ``incremental.build``, building the entries
(``incremental.assemble``), the JSON, gzip at levels 6 and 1, the body joined
from the kept fragments instead (``incremental.serve``, what the service now
does) and the object built from it on demand, and ``incremental.advance`` after
each of three new best scores recorded as the scorer records them
(``bump_board`` naming the team), each followed by ``serve`` and gzip at the service's level:
the CPU of a first request after a new score but for the version check.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from figures import machine
from harness import create_challenge, database, organizer, running_server, seed_board
from sqlalchemy import insert, select

T = TypeVar("T")


def timed(label: str, function: Callable[[], T], repeat: int = 3) -> T:
    """Run ``function`` ``repeat`` times; print the run with the least CPU time."""
    best: tuple[float, float] | None = None
    result: T | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or cpu < best[1]:
            best = (wall, cpu)
    assert best is not None and result is not None
    print(f"  {label:40} wall {best[0] * 1000:8.1f} ms  cpu {best[1] * 1000:8.1f} ms", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with database(args.postgres) as db:
        org = organizer(db)
        with running_server(db) as server:
            create_challenge(server, org, "big", 100)
        challenge_id, _ = seed_board(db, "big", args.teams, 20, max_score=0.9)
        os.environ["PODIUM_DATA_DIR"] = str(db.data_dir)
        if db.url:
            os.environ["PODIUM_DATABASE_URL"] = db.url
        from server.db import session_scope
        from server.leaderboard import incremental
        from server.leaderboard.board import compute
        from server.leaderboard.bump import bump_board
        from server.leaderboard.service import GZIP_LEVEL, LARGE_BODY, LARGE_GZIP_LEVEL
        from server.models import Challenge, Submission, Team

        print(f"{db.kind}, {args.teams:,} teams x 20 submissions")
        with session_scope() as session:
            challenge = session.get(Challenge, challenge_id)
            assert challenge is not None
            timed(
                "rebuild as before (board.compute)",
                lambda: compute(session, challenge, "public"),
                2,
            )
            ranking = timed("incremental.build", lambda: incremental.build(session, challenge), 2)
            board = timed(
                "assemble (the entries)", lambda: incremental.assemble(session, challenge, ranking)
            )
            body = timed("model_dump_json", lambda: board.model_dump_json(by_alias=True).encode())
            for level in (6, 1):
                timed(
                    f"gzip level {level}", lambda level=level: gzip.compress(body, level, mtime=0)
                )
            joined, make = timed(
                "serve (body from fragments)",
                lambda: incremental.serve(session, challenge, ranking),
            )
            assert len(joined) == len(body), (len(joined), len(body))
            timed("  then the object on demand", make)
            team_ids = list(
                session.scalars(select(Team.id).where(Team.challenge_id == challenge_id))
            )
        rng = random.Random(0)
        for i in range(3):
            with session_scope() as session:
                team_id, now = rng.choice(team_ids), datetime.now(UTC)
                session.execute(
                    insert(Submission).values(
                        challenge_id=challenge_id,
                        team_id=team_id,
                        kind="csv",
                        file_sha256="0" * 64,
                        status="scored",
                        public_score=0.95 + i / 1000,  # a new leader: the row moves the most
                        private_score=0.9,
                        created_at=now,
                        scored_at=now,
                        attempts=1,
                    )
                )
                bump_board(session, challenge_id, team_id)
            with session_scope() as session:
                challenge = session.get(Challenge, challenge_id)
                assert challenge is not None
                base = ranking
                cpu = time.process_time()
                moved = timed(
                    f"advance after new score {i + 1}",
                    lambda s=session, c=challenge, b=base: incremental.advance(s, c, b),
                    1,
                )
                assert moved is not None
                ranking = moved
                joined, _ = timed(
                    "  serve (body from fragments)",
                    lambda s=session, c=challenge, r=ranking: incremental.serve(s, c, r),
                    1,
                )
                level = LARGE_GZIP_LEVEL if len(joined) > LARGE_BODY else GZIP_LEVEL
                timed(
                    f"  gzip level {level}",
                    lambda j=joined, v=level: gzip.compress(j, v, mtime=0),
                    1,
                )
                total = (time.process_time() - cpu) * 1000
                print(f"  {'  advance + serve + gzip':40} {'':17} cpu {total:8.1f} ms", flush=True)
        print(f"load average after: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
