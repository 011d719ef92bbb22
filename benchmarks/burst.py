"""Burst: 1,000 submissions from 100 concurrent clients, embedded jobs.

    .venv/bin/python benchmarks/burst.py [--clients 100] [--per-client 10] [--rows 10000]
        [--workers 1] [--postgres]

Starts ``podium-server serve`` on a temporary data directory with a 10,000-row
challenge whose daily limit is ``--per-client``. Each of ``--clients`` teams
(one client each, its own connection) sends ``--per-client`` + 1 different
prediction files back to back, all clients at once: ``clients x per-client``
submissions must be accepted and scored, and exactly one per team must get the
daily limit's 429 (the intended ones). Reported: the time from the first request
until every accepted submission is scored, status codes, and the per-request
latency. The reference, measured in the same run just before the burst, is one
client submitting alone: its median submit-to-score time x the number of
submissions is what the burst would take done one after another.

Target (issue #20, round two; was 30 s): all scored within 10 s, no 5xx, only
the intended 429s.

With ``PODIUM_BENCH_PROFILE=FILE`` the server runs under py-spy (on ``PATH``)
and the script ends with where its time went, by category
(``profile_categories``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from figures import Latency, machine
from harness import (
    create_challenge,
    database,
    organizer,
    predictions_csv,
    running_server,
    seed_users,
)
from profile_categories import profile_table

SLUG = "burst"
TARGET_SECONDS = 10.0
CONNECTION_ERROR = 0  # counted as a status code


async def client_run(
    server_url: str, token: str, files: list[bytes], started: float
) -> list[tuple[int, float, int | None]]:
    """Send the files one after another; (status, latency ms, submission id) each."""
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers, timeout=120) as client:
        for content in files:
            start = time.perf_counter()
            try:
                response = await client.post(
                    f"/api/v1/challenges/{SLUG}/submissions",
                    files={"file": ("predictions.csv", content, "text/csv")},
                )
            except httpx.HTTPError as error:
                print(f"  connection error: {error!r}")
                results.append((CONNECTION_ERROR, (time.perf_counter() - start) * 1000, None))
                continue
            elapsed = (time.perf_counter() - start) * 1000
            submission_id = response.json().get("id") if response.status_code == 201 else None
            results.append((response.status_code, elapsed, submission_id))
    return results


async def burst(server_url: str, tokens: list[str], files: list[list[bytes]]) -> tuple:
    started = time.perf_counter()
    runs = await asyncio.gather(
        *(client_run(server_url, t, f, started) for t, f in zip(tokens, files, strict=True))
    )
    return runs, started


def wait_all_scored(server_url: str, organizer_token: str, expected: int) -> tuple[float, Counter]:
    """Poll the organizer's list until every accepted submission is finished."""
    headers = {"Authorization": f"Bearer {organizer_token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=120) as client:
        while True:
            listed = client.get(f"/api/v1/challenges/{SLUG}/submissions").json()
            statuses = Counter(s["status"] for s in listed)
            if len(listed) >= expected and not statuses["queued"] and not statuses["running"]:
                return time.perf_counter(), statuses
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--per-client", type=int, default=10, help="= the daily limit")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with database(args.postgres) as db:
        org = organizer(db)
        tokens = seed_users(db, args.clients + 1, "burst-")
        solo, tokens = tokens[0], tokens[1:]
        with running_server(db, workers=args.workers) as server:
            limit = args.per_client
            labels = create_challenge(server, org, SLUG, args.rows, daily_submission_limit=limit)
            rng = np.random.default_rng(0)
            files = [
                [
                    predictions_csv(labels, float(rng.uniform(0.6, 0.99)), c * 1000 + i)
                    for i in range(limit + 1)
                ]
                for c in range(args.clients)
            ]
            # Reference: one client alone (its own team, same challenge, same server).
            solo_ms = []
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {solo}"}, timeout=60
            ) as client:
                for content in files[0][:limit]:
                    start = time.perf_counter()
                    response = client.post(
                        f"/api/v1/challenges/{SLUG}/submissions",
                        files={"file": ("predictions.csv", content, "text/csv")},
                    )
                    assert response.status_code == 201 and response.json()["status"] == "scored"
                    solo_ms.append((time.perf_counter() - start) * 1000)
            runs, started = asyncio.run(burst(server.url, tokens, files))
            posted = time.perf_counter()
            accepted = sum(1 for run in runs for status, _, _ in run if status == 201)
            finished, statuses = wait_all_scored(server.url, org, accepted + limit)

    codes = Counter(status for run in runs for status, _, _ in run)
    per_team_429 = [sum(1 for status, _, _ in run if status == 429) for run in runs]
    latencies = [ms for run in runs for _, ms, _ in run]
    total = args.clients * (limit + 1)
    elapsed = finished - started
    solo_median = statistics.median(solo_ms)
    serial_estimate = solo_median * accepted / 1000
    print(
        f"database: {db.kind}; serve --workers {args.workers}; {args.rows:,}-row CSV; "
        f"{args.clients} clients x {limit + 1} submissions (daily limit {limit})"
    )
    print(f"  requests: {total}; status codes: {dict(sorted(codes.items()))}")
    print(
        f"  429s: {codes[429]} (intended {args.clients}: one per team); "
        f"teams with exactly one 429: {sum(1 for n in per_team_429 if n == 1)}"
    )
    print(f"  submissions finished: {dict(statuses)} (incl. {limit} from the solo reference)")
    print(f"  all POSTs answered after {posted - started:.1f} s")
    print(f"  all {accepted} accepted submissions scored after {elapsed:.1f} s")
    print(f"  per request: {Latency.of(latencies).line()}")
    print(
        f"  reference: one client alone, submit to score median {solo_median:.1f} ms; "
        f"{accepted} of them one after another: {serial_estimate:.1f} s; "
        f"burst / serial: {elapsed / serial_estimate:.2f}"
    )
    server_errors = sum(n for code, n in codes.items() if code >= 500)
    unexpected = {c: n for c, n in codes.items() if c not in (201, 429)}
    ok = (
        elapsed <= TARGET_SECONDS
        and server_errors == 0
        and not unexpected
        and all(n == 1 for n in per_team_429)
        and statuses.get("scored", 0) == accepted + limit
    )
    print(
        f"  target all scored <= {TARGET_SECONDS:.0f} s, no 5xx, only the intended 429s: "
        f"{'met' if ok else 'NOT met'}"
    )
    profile = os.environ.get("PODIUM_BENCH_PROFILE")
    if profile and Path(profile).is_file():
        print(f"where the server's time went (py-spy, {profile}):")
        print(profile_table(Path(profile)))


if __name__ == "__main__":
    main()
