"""Scoring a job's files, shared by the embedded path and remote workers.

Both transports end here with plain file paths: the embedded path takes them
from the server's blob store, a worker from its sha256-verified cache. What
happened becomes an :class:`Outcome`, which either side records the same way.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from server.config import get_settings
from server.scoring.predictions import PredictionError, Scores, evaluate_csv
from server.scoring.solution import load_solution

log = logging.getLogger(__name__)

# Test-only: seconds every scoring run sleeps first, so that tests can kill or
# freeze a process mid-job deterministically. Honoured only with
# PODIUM_ENV=test, so a production deployment cannot be slowed by it.
TEST_SCORING_DELAY_ENV = "PODIUM_TEST_SCORING_DELAY"

# Checkpoint figures a result may carry (columns of Submission).
CHECKPOINT_METRICS = ("parameter_count", "inference_seconds_per_1k", "peak_memory_mb")


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: scores, a participant-visible error, or a platform error."""

    scores: Scores | None = None
    error: str | None = None
    platform_error: bool = False
    metrics: dict[str, float | int] = field(default_factory=dict)
    # The public score on each bootstrap resample (server.insight.bootstrap), when the
    # runner computed it: only it holds a checkpoint's predictions. NaN: undefined.
    public_bootstrap: tuple[float, ...] | None = None

    @classmethod
    def platform_failure(cls) -> Outcome:
        return cls(platform_error=True)


def apply_test_scoring_delay() -> None:
    """Sleep ``$PODIUM_TEST_SCORING_DELAY`` seconds, in the test environment only."""
    raw = os.environ.get(TEST_SCORING_DELAY_ENV)
    if not raw or get_settings().env != "test":
        return
    delay = float(raw)
    if delay > 0:
        log.info("test-only scoring delay: sleeping %.1f s", delay)
        time.sleep(delay)


def score_csv_file(
    predictions: Path, solution_path: Path, solution_sha256: str, metric: str
) -> Scores:
    """Public and private scores of a predictions file (raises PredictionError)."""
    apply_test_scoring_delay()
    solution = load_solution(solution_path, metric, solution_sha256)
    return evaluate_csv(predictions, solution, metric)


def csv_outcome(
    predictions: Path, solution_path: Path, solution_sha256: str, metric: str
) -> Outcome:
    """Score a predictions file; a bad file is the participant's error, anything else ours."""
    try:
        return Outcome(scores=score_csv_file(predictions, solution_path, solution_sha256, metric))
    except PredictionError as error:
        return Outcome(error=str(error))
    except Exception:
        log.exception("scoring %s failed", predictions.name)
        return Outcome.platform_failure()
