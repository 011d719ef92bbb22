"""The benchmark helpers that turn raw measurements into the figures we publish."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from figures import Latency, percentile  # noqa: E402
from wrk_runner import parse_wrk  # noqa: E402

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/api/v1/ping
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.12ms    1.02ms  31.40ms   90.12%
    Req/Sec     3.91k   210.33     4.30k    71.00%
  Latency Distribution
     50%    3.95ms
     75%    4.40ms
     90%    5.01ms
     99%  812.00us
  77812 requests in 10.00s, 11.21MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:   7780.12
Transfer/sec:      1.12MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    result = parse_wrk(WRK_OUTPUT, "http://x")
    assert result.requests_per_second == pytest.approx(7780.12)
    assert result.p50_ms == pytest.approx(3.95)
    assert result.p99_ms == pytest.approx(0.812)
    assert result.requests == 77812
    assert result.non_2xx == 5
    assert result.socket_errors == 3


def test_parse_wrk_understands_seconds_and_missing_error_lines() -> None:
    text = WRK_OUTPUT.replace("3.95ms", "1.20s").split("  Socket errors")[0]
    text += "Requests/sec:   12.50\n"
    result = parse_wrk(text)
    assert result.p50_ms == pytest.approx(1200.0)
    assert result.non_2xx == 0 and result.socket_errors == 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    summary = Latency.of([3.0, 1.0, 2.0])
    assert (summary.p50, summary.max, summary.count) == (2.0, 3.0, 3)
