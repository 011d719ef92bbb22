"""benchmarks/scale_out.py's helpers: picking rows, sizes, and the markdown table."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from scale_out_rows import FULL, QUICK, Burst, Row, RowResult, parse_rows, sizes, table  # noqa: E402
from wrk_runner import WrkResult  # noqa: E402


def test_rows_default_to_all_five_in_order() -> None:
    rows = parse_rows(None)
    assert [r.name for r in rows] == ["serve-1", "serve-2", "serve-4", "celery-1", "celery-2"]
    assert [(r.serve_workers, r.celery_workers) for r in rows] == [
        (1, 0),
        (2, 0),
        (4, 0),
        (2, 1),
        (2, 2),
    ]
    assert rows[0].jobs == "embedded" and rows[4].jobs == "Celery, 2 workers"


def test_rows_only_picks_in_the_given_order_and_refuses_unknown_names() -> None:
    rows = parse_rows("celery-2, serve-1,celery-2", celery_serve_workers=1)
    assert [(r.name, r.serve_workers, r.celery_workers) for r in rows] == [
        ("celery-2", 1, 2),
        ("serve-1", 1, 0),
    ]
    with pytest.raises(ValueError, match="serve-3"):
        parse_rows("serve-3")


def _args(quick: bool, **given: int) -> argparse.Namespace:
    values: dict[str, object] = dict.fromkeys(FULL)
    values.update(given, quick=quick)
    return argparse.Namespace(**values)


def test_sizes_take_quick_or_full_defaults_and_a_given_flag_wins() -> None:
    assert sizes(_args(False)) == FULL
    assert sizes(_args(True)) == QUICK
    assert sizes(_args(True, teams=7))["teams"] == 7
    assert QUICK["submissions"] < FULL["submissions"]


def _wrk(rps: float, p99: float = 12.0) -> WrkResult:
    return WrkResult("http://x", rps, 1.0, p99, int(rps * 10), 0, 0)


def test_table_has_one_row_per_result_with_its_same_row_references() -> None:
    burst = Burst(
        accepted=200,
        codes=Counter({201: 200}),
        statuses=Counter({"scored": 200}),
        posted_seconds=4.0,
        finished_seconds=10.0,
    )
    result = RowResult(
        Row("celery-1", 2, 1),
        _wrk(4000),
        _wrk(1000, 40.0),
        [100.0, 200.0, 300.0],
        burst,
        "1.0",
        "2.0",
    )
    header, rule, line = table([result])
    assert header.count("|") == rule.count("|") == line.count("|")
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["celery-1", "2", "Celery, 1 worker"]
    assert cells[3] == "1,000 req/s (p99 40 ms)" and cells[4] == "4,000 req/s"
    assert cells[5] == "25%"
    assert cells[6] == "50.0/s" and cells[7] == "20.0/s (10.0 s)"
    assert cells[8] == "5.0/s (200 ms each)"
    assert cells[9] == "1.0 → 2.0"
