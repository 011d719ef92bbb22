"""Submit to score: a 10,000-row CSV through the real HTTP API, embedded jobs.

    .venv/bin/python benchmarks/submit_latency.py [--submissions 200] [--rows 10000] [--postgres]

Starts ``podium-server serve`` on a temporary data directory, creates and opens a
challenge with a 10,000-row hidden solution, then sends ``--submissions``
different prediction files one after another from one participant (keep-alive
client, as the CLI does). Each figure is the time from the start of the POST to
the moment the submission is known to be scored: the POST's own response when
it already carries the score (embedded default), else polling
``GET /submissions/{id}``. The reference, measured in the same run and
interleaved with the submissions, is the latency of ``GET /api/v1/health``.

Target: p50 <= 100 ms, p95 <= 250 ms.
"""

from __future__ import annotations

import argparse
import time

import httpx
from figures import Latency, machine
from harness import (
    create_challenge,
    database,
    organizer,
    predictions_csv,
    running_server,
    seed_users,
)

TARGET_P50_MS = 100.0
TARGET_P95_MS = 250.0
WARMUP = 5


def submit_and_wait(client: httpx.Client, slug: str, content: bytes) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("predictions.csv", content, "text/csv")},
        data={"message": "bench"},
    )
    if response.status_code != 201:
        raise SystemExit(f"submission failed: {response.status_code} {response.text}")
    body = response.json()
    while body["status"] in ("queued", "running"):
        time.sleep(0.002)
        body = client.get(f"/api/v1/submissions/{body['id']}").json()
    elapsed = (time.perf_counter() - start) * 1000
    if body["status"] != "scored":
        raise SystemExit(f"submission not scored: {body}")
    return elapsed, body


def health(client: httpx.Client) -> float:
    start = time.perf_counter()
    client.get("/api/v1/health").raise_for_status()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with database(args.postgres) as db:
        org = organizer(db)
        (participant,) = seed_users(db, 1, "participant-")
        with running_server(db) as server:
            labels = create_challenge(server, org, "latency", args.rows)
            total = args.submissions + WARMUP
            files = [predictions_csv(labels, 0.8 + 0.15 * i / total, i) for i in range(total)]
            size_kb = len(files[0]) / 1024
            headers = {"Authorization": f"Bearer {participant}"}
            submit_ms: list[float] = []
            health_ms: list[float] = []
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                for i, content in enumerate(files):
                    elapsed, _ = submit_and_wait(client, "latency", content)
                    reference = health(client)
                    if i >= WARMUP:
                        submit_ms.append(elapsed)
                        health_ms.append(reference)
    submit = Latency.of(submit_ms)
    reference = Latency.of(health_ms)
    print(
        f"database: {db.kind}; {args.rows:,}-row CSV ({size_kb:.0f} KB); "
        f"{args.submissions} submissions after {WARMUP} warm-up"
    )
    print(f"  submit to score   {submit.line()}")
    print(f"  GET /health (ref) {reference.line()}")
    print(f"  submit p50 / health p50: {submit.p50 / reference.p50:.1f}x")
    verdict = submit.p50 <= TARGET_P50_MS and submit.p95 <= TARGET_P95_MS
    print(
        f"  target p50 <= {TARGET_P50_MS:.0f} ms, p95 <= {TARGET_P95_MS:.0f} ms: "
        f"{'met' if verdict else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
