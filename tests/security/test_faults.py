"""The fault-injection run of issue #18, small: ``benchmarks/faults.py`` with 40 jobs.

A real server, Celery workers and a Redis server of the run's own (restarted
by the run: never the machine's shared one). While the jobs are submitted a
worker is killed mid-job, the broker is flushed, Redis is restarted and the
database refuses claims. Every job must end scored exactly once, none stuck.
The 500-job run and its figures: docs/benchmarks.md.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from faults import run  # noqa: E402

pytestmark = [pytest.mark.redis, pytest.mark.slow]

JOBS = 40


def test_jobs_survive_every_fault_and_are_scored_exactly_once() -> None:
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server not found (apt-get install redis-server)")
    report = run(jobs=JOBS, workers=2, log=False)
    summary = "\n".join(report.lines())
    assert [name for name, _ in report.faults] == [
        "kill a worker mid-job",
        "flush the broker",
        "restart Redis",
        "lock the database past the busy timeout",
    ]
    assert report.stuck == 0, summary
    assert report.scored == JOBS, summary
    assert report.duplicates == 0, summary
    assert max(report.attempts) >= 2, summary  # the killed worker's job ran again
