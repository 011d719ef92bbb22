"""uvicorn settings compared: HTTP parser, event loop, access log, worker processes.

    .venv/bin/python benchmarks/server_settings.py [--seconds 10] [--teams 1000]

Seeds one challenge with ``--teams`` teams x 20 scored submissions, then serves
the same data directory with uvicorn under several settings in turn and runs wrk
(1 thread, 32 connections) against ``GET /api/v1/ping`` and the leaderboard JSON
(``Accept-Encoding: gzip``). The first row is what ``podium-server serve`` runs
(h11 with a request-head deadline, see server/http.py; uvloop; access log on);
each other row changes one thing. Each row's ping is the reference for its own
board figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import httpx
from figures import machine
from harness import (
    ROOT,
    Database,
    create_challenge,
    database,
    free_port,
    organizer,
    running_server,
    seed_board,
)
from wrk_runner import wrk

SLUG = "settings"
# What ``podium-server serve`` passes to uvicorn.run (server/cli.py).
SERVE = {
    "http": "server.http:HeadDeadlineH11Protocol",
    "h11_max_incomplete_event_size": 64 * 1024,
    "timeout_keep_alive": 5,
    "proxy_headers": True,
}
VARIANTS: dict[str, dict[str, object]] = {
    "serve (h11 + head deadline, uvloop, access log)": SERVE,
    "serve, httptools instead of h11": {**SERVE, "http": "httptools"},
    "serve, asyncio loop instead of uvloop": {**SERVE, "loop": "asyncio"},
    "serve, no access log": {**SERVE, "access_log": False},
    "serve, 2 worker processes": {**SERVE, "workers": 2},
}
LAUNCH = "import json, sys, uvicorn; uvicorn.run('server.asgi:app', **json.loads(sys.argv[1]))"


def serve(db: Database, options: dict[str, object]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, **db.env()}
    command = [sys.executable, "-c", LAUNCH, json.dumps({**options, "port": port})]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"uvicorn {options} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--teams", type=int, default=1_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    rows = []
    with database() as db:
        org = organizer(db)
        with running_server(db) as server:
            create_challenge(server, org, SLUG, 100)
        seed_board(db, SLUG, args.teams, 20, max_score=0.9)
        for name, options in VARIANTS.items():
            process, url = serve(db, options)
            try:
                board = f"{url}/api/v1/challenges/{SLUG}/leaderboard"
                gzip = {"Accept-Encoding": "gzip"}
                wrk(board, 32, 2, 1, headers=gzip)  # warm
                ping = wrk(f"{url}/api/v1/ping", 32, args.seconds, 1)
                board_result = wrk(board, 32, args.seconds, 1, headers=gzip)
                rows.append((name, ping, board_result))
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"\n{args.teams:,} teams; wrk -t1 -c32 -d{args.seconds}s; board with gzip\n")
    print("| uvicorn | ping req/s | ping p99 | board req/s | board p99 | board / ping |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ping, board_result in rows:
        print(
            f"| {name} | {ping.requests_per_second:.0f} | {ping.p99_ms:.1f} ms "
            f"| {board_result.requests_per_second:.0f} | {board_result.p99_ms:.1f} ms "
            f"| {board_result.requests_per_second / ping.requests_per_second:.0%} |"
        )


if __name__ == "__main__":
    main()
