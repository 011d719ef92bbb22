"""The scale-out benchmark's rows, sizes and results table (``scale_out.py``)."""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from dataclasses import dataclass

from wrk_runner import WrkResult

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
