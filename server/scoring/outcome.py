"""How one scoring attempt ended, whatever the transport and the kind of submission.

Every path ends with plain file paths and one :class:`Outcome`: the embedded
scorer takes the paths from the server's blob store, a worker from its
sha256-verified cache; a CSV is scored by :func:`csv_outcome`, a checkpoint by
``server.checkpoints.runner.checkpoint_outcome``. ``server.queue.state.record``
writes an Outcome, on either side, the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from server.scoring.bootstrap import public_bootstrap
from server.scoring.predictions import (
    ParsedPredictions,
    PredictionError,
    Scores,
    parse_predictions,
)
from server.scoring.solution import Solution, load_solution

log = logging.getLogger(__name__)

PLATFORM_ERROR_MESSAGE = "scoring failed because of a platform error; it does not count"

# Checkpoint figures a result may carry (columns of Submission).
CHECKPOINT_METRICS = ("parameter_count", "inference_seconds_per_1k", "peak_memory_mb")


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: scores, a participant-visible error, or a platform error.

    - ``scores``: the public and the private score;
    - ``metrics``: efficiency figures (checkpoints), Submission columns;
    - ``public_bootstrap``: the public score on each bootstrap resample (NaN or
      None where undefined), when it was computed where the predictions were
      aligned (checkpoints, CSV files on a worker);
    - ``aligned``: the aligned predictions themselves, kept in memory only, so
      that the embedded scorer's bootstrap needs no second parse; never stored
      or sent.
    """

    scores: Scores | None = None
    error: str | None = None
    # A program's own error text (checkpoints): organizers only (Submission.error_detail).
    error_detail: str | None = None
    platform_error: bool = False
    metrics: dict[str, float | int] = field(default_factory=dict)
    public_bootstrap: Sequence[float | None] | None = None
    aligned: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def platform_failure(cls) -> Outcome:
        return cls(platform_error=True)

    @property
    def category(self) -> Literal["scored", "invalid", "platform"]:
        """Scored; the submission's fault (it counts); or ours (it does not)."""
        if self.scores is not None:
            return "scored"
        return "invalid" if self.error is not None and not self.platform_error else "platform"


def csv_outcome(
    predictions: Path,
    solution_path: Path,
    solution_sha256: str,
    metric: str,
    extra_metrics: Sequence[str] = (),
    with_bootstrap: bool = False,
    parsed: ParsedPredictions | None = None,
) -> Outcome:
    """Score a predictions file, parsed once; a bad file is the participant's error.

    ``with_bootstrap``: also compute the bootstrap from the aligned predictions
    (a worker does, off the server); else they ride along in ``aligned``.
    ``parsed``: this very file as the upload's validation parsed it (the
    embedded path, in the request that created the submission); used when it
    was parsed against this solution for this metric, else the file is read.
    """
    try:
        solution = load_solution(solution_path, metric, solution_sha256)
        if parsed is None or not parsed_for(parsed, solution, metric):
            parsed = parse_predictions(predictions, solution, metric)
        scores = parsed.scores(extra_metrics)
    except PredictionError as error:
        return Outcome(error=str(error))
    except Exception:
        log.exception("scoring %s failed", predictions.name)
        return Outcome.platform_failure()
    aligned = parsed.aligned()
    if not with_bootstrap:
        return Outcome(scores=scores, aligned=aligned)
    bootstrap = safe_bootstrap(aligned, solution, metric, solution_sha256)
    return Outcome(scores=scores, public_bootstrap=bootstrap)


def parsed_for(parsed: ParsedPredictions, solution: Solution, metric: str) -> bool:
    """Whether ``parsed`` was made against ``solution`` (the same object: the same
    file, cached) for ``metric``; a solution replaced since is read again."""
    return parsed.solution is solution and parsed.scorer.name == metric


def safe_bootstrap(
    aligned: np.ndarray, solution: Solution, metric: str, solution_sha256: str
) -> tuple[float, ...] | None:
    """The bootstrap of aligned predictions (None if it fails: the score stands)."""
    try:
        scores = public_bootstrap(aligned, solution, metric, solution_sha256)
    except Exception:
        log.exception("bootstrap of the aligned predictions failed")
        return None
    return tuple(scores.tolist())
