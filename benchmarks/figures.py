"""Figures for the benchmark scripts: percentiles, latency summaries, the machine line."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank, as monitoring tools report it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, milliseconds: Sequence[float]) -> Latency:
        return cls(
            count=len(milliseconds),
            p50=percentile(milliseconds, 50),
            p95=percentile(milliseconds, 95),
            p99=percentile(milliseconds, 99),
            mean=statistics.fmean(milliseconds) if milliseconds else math.nan,
            max=max(milliseconds) if milliseconds else math.nan,
        )

    def line(self) -> str:
        return (
            f"p50 {self.p50:7.1f} ms  p95 {self.p95:7.1f} ms  p99 {self.p99:7.1f} ms  "
            f"mean {self.mean:7.1f} ms  max {self.max:7.1f} ms  (n={self.count})"
        )


def machine() -> str:
    """One line naming the machine, for the figures' provenance."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load} (1/5/15 min)"
    )
