"""Fault injection: jobs through Celery while the worker dies, the broker forgets, Redis
restarts and the database refuses claims; every job must end scored exactly once.

Runs a real ``podium-server serve`` (SQLite), ``podium-server worker`` processes
and a Redis server of its own (``redis-server`` on a free port, no persistence:
this script restarts it, never the machine's shared one). It submits ``--jobs``
CSV submissions in five batches and, between them:

1. SIGKILLs a worker in the middle of a job (a slow one: the test-only scoring
   delay holds it there) and starts a replacement;
2. flushes the broker's database (every message waiting in Redis is lost);
3. kills Redis and starts it again on the same port (messages lost, connections cut);
4. holds an exclusive lock on the SQLite database past the server's busy timeout,
   so that the claims the workers send meanwhile are refused (HTTP 500).

Then it waits until nothing is queued or running and checks: every job scored,
none stuck or failed, each result recorded exactly once (the workers' logs),
and reports how long the last job took to recover after the last fault.

    .venv/bin/python benchmarks/faults.py --jobs 500

``tests/security/test_faults.py`` runs the same with 40 jobs.
"""

from __future__ import annotations

import argparse
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_cluster import Cluster, redis_command  # noqa: E402
from figures import machine  # noqa: E402
from harness import (  # noqa: E402
    Database,
    create_challenge,
    database,
    organizer,
    predictions_csv,
    seed_users,
)

SLUG = "faults"
ROWS = 200
TEAMS = 10
LOCK_SECONDS = 3.0
RESULT_LINE = re.compile(r"result submission=(\d+) attempt=\S+ recorded=True")
REFUSED_CLAIM = re.compile(r"cannot claim submission \d+")
DEADLINE_SECONDS = 900.0


@dataclass
class Report:
    jobs: int
    statuses: Counter[str]
    recorded: Counter[int]
    attempts: Counter[int]
    refused_claims: int
    faults: list[tuple[str, float]] = field(default_factory=list)
    recovery_seconds: float = 0.0
    worst_latency_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def scored(self) -> int:
        return self.statuses["scored"]

    @property
    def stuck(self) -> int:
        return self.statuses["queued"] + self.statuses["running"]

    @property
    def scored_once(self) -> int:
        """Scored, and never recorded twice (a worker killed right after the server
        recorded its result has no log line for it: the database still has it once)."""
        return self.scored - self.duplicates

    @property
    def duplicates(self) -> int:
        return sum(1 for count in self.recorded.values() if count > 1)

    def lines(self) -> list[str]:
        attempts = ", ".join(f"{n} attempt(s): {c}" for n, c in sorted(self.attempts.items()))
        return [
            f"jobs {self.jobs}: scored {self.scored}, stuck {self.stuck}, "
            f"failed {self.statuses['failed']}",
            f"scored exactly once: {self.scored_once}; results recorded twice: {self.duplicates}",
            f"claims refused by the database: {self.refused_claims}; {attempts}",
            "faults: " + ", ".join(f"{name} at {at:.1f} s" for name, at in self.faults),
            f"last job scored {self.recovery_seconds:.1f} s after the last fault ended; "
            f"worst submit-to-scored {self.worst_latency_seconds:.1f} s; "
            f"whole run {self.total_seconds:.1f} s",
        ]


def lock_database(path: Path, seconds: float) -> None:
    """Hold SQLite's write lock for ``seconds``: every writer past its busy timeout fails."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _submit_batch(url: str, tokens: list[str], files: list[bytes]) -> list[int]:
    def one(index: int) -> int:
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        for _ in range(20):  # an upload refused by a fault is sent again, as a client does
            try:
                response = httpx.post(
                    f"{url}/api/v1/challenges/{SLUG}/submissions",
                    files={"file": ("predictions.csv", files[index], "text/csv")},
                    headers=headers,
                    timeout=60,
                )
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            if response.status_code == 201:
                return int(response.json()["id"])
            if response.status_code < 500:
                raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
            time.sleep(0.5)
        raise RuntimeError("an upload failed 20 times")

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(len(files))))


def _statuses(url: str, token: str) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{url}/api/v1/challenges/{SLUG}/submissions", headers=headers, timeout=60)
    response.raise_for_status()
    return list(response.json())


def run(jobs: int = 500, workers: int = 2, log: bool = True) -> Report:
    """One fault-injection run; returns what happened (the caller checks it)."""
    say = print if log else (lambda *_: None)
    with database() as db, tempfile.TemporaryDirectory(prefix="podium-faults-") as tmp:
        folder = Path(tmp)
        org = organizer(db)
        tokens = seed_users(db, TEAMS, "fault-")
        cluster = Cluster(db, folder)
        try:
            cluster.start(workers)
            server = SimpleNamespace(url=cluster.url)
            labels = create_challenge(server, org, SLUG, ROWS, daily_submission_limit=1000)
            rng = np.random.default_rng(0)
            files = [predictions_csv(labels, float(rng.uniform(0.5, 0.99)), i) for i in range(jobs)]
            batches = np.array_split(np.arange(jobs), 5)
            started = time.monotonic()
            faults: list[tuple[str, float]] = []
            ids: list[int] = []
            last_fault_end = started

            def submit(batch: np.ndarray) -> None:
                ids.extend(_submit_batch(cluster.url, tokens, [files[i] for i in batch]))

            def fault(name: str) -> None:
                at = time.monotonic() - started
                faults.append((name, at))
                say(f"  {at:6.1f} s  {name}")

            submit(batches[0])
            victim = cluster.workers[0]
            victim.wait_for("claimed submission=", 60)
            fault("kill a worker mid-job")
            victim.kill()
            cluster.start_worker()
            last_fault_end = time.monotonic()
            submit(batches[1])
            fault("flush the broker")
            redis_command(cluster.redis.port, "FLUSHDB")
            last_fault_end = time.monotonic()
            submit(batches[2])
            fault("restart Redis")
            cluster.redis.restart()
            last_fault_end = time.monotonic()
            submit(batches[3])
            fault("lock the database past the busy timeout")
            lock_database(db.data_dir / "podium.db", LOCK_SECONDS)
            last_fault_end = time.monotonic()
            submit(batches[4])

            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                listed = _statuses(cluster.url, org)
                counts = Counter(str(s["status"]) for s in listed)
                if len(listed) >= jobs and not counts["queued"] and not counts["running"]:
                    break
                if time.monotonic() > deadline:
                    say(f"  still unfinished after {DEADLINE_SECONDS:.0f} s: {dict(counts)}")
                    break
                time.sleep(0.5)
            finished = time.monotonic()
            mine = [s for s in listed if int(str(s["id"])) in set(ids)]
            recorded: Counter[int] = Counter()
            refused = 0
            for worker in cluster.workers:
                text = worker.text()
                recorded.update(int(m[1]) for m in RESULT_LINE.finditer(text))
                refused += len(REFUSED_CLAIM.findall(text))
            worst = _worst_latency(db, ids)
            return Report(
                jobs=jobs,
                statuses=Counter(str(s["status"]) for s in mine),
                recorded=recorded,
                attempts=Counter(int(str(s.get("attempts") or 0)) for s in mine),
                refused_claims=refused,
                faults=faults,
                recovery_seconds=max(0.0, finished - last_fault_end),
                worst_latency_seconds=worst,
                total_seconds=finished - started,
            )
        finally:
            cluster.shutdown()


def _worst_latency(db: Database, ids: list[int]) -> float:
    from sqlalchemy import select

    from server.models import Submission

    with db.session() as session:
        rows = session.execute(
            select(Submission.created_at, Submission.scored_at).where(Submission.id.in_(ids))
        ).all()
    spans = [(scored - created).total_seconds() for created, scored in rows if scored]
    return max(spans, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # A SIGTERM still stops the cluster this run started (the finally clause).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print(f"machine: {machine()}")
    report = run(args.jobs, args.workers)
    for line in report.lines():
        print(line)
    ok = report.scored == args.jobs and report.stuck == 0 and report.duplicates == 0
    ok = ok and report.scored_once == args.jobs
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
