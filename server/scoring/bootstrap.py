"""Bootstrap intervals of public scores, and paired comparisons between submissions.

Only public rows are resampled and only public-derived numbers come out, so
nothing here can reveal a private label or score.

The scheme, fixed so that a test (or a curious student) can redo it:

- ``seed = int(solution_sha256[:16], 16)``: every submission of a challenge
  shares the same resamples (paired comparisons), and a new solution gets new
  ones;
- resample ``b`` is row ``b`` of
  ``np.random.default_rng(seed).integers(0, n_public, size=(B, n_public))``,
  positions among the public rows in solution order (drawn in chunks of rows,
  which gives the same numbers as one draw);
- the score of a resample is the metric on those rows; for accuracy, MAE,
  MSE and RMSE it is computed from per-row losses for all resamples at once
  (``B = 1000``), for the other metrics by calling the metric (sklearn) on each
  resample (``B = 200``); a resample on which the metric is undefined (say,
  ROC AUC without a positive row) counts as NaN and is left out;
- the interval is the 2.5 and 97.5 percentiles (``np.nanpercentile``,
  linear); its half-width is what the leaderboard shows as ``±``;
- two submissions are *tied* when the same percentiles of the per-resample
  differences of their scores contain 0.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from server.scoring.metrics import get_metric
from server.scoring.solution import Solution

VECTORISED_RESAMPLES = 1000
LOOPED_RESAMPLES = 200
CONFIDENCE = 0.95
# Gathered values per chunk of resamples (bounds memory: 4M float64 = 32 MB).
CHUNK_VALUES = 4_000_000
# The index matrix is kept (one challenge's) up to this many indices (int64: 64 MB).
KEEP_VALUES = 8_000_000
# More undefined resamples than this and no interval is given.
MAX_UNDEFINED_FRACTION = 0.1

_PER_ROW: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "accuracy": lambda y, p: (y == p).astype(np.float64),
    "mae": lambda y, p: np.abs(y - p),
    "mse": lambda y, p: np.square(y - p),
    "rmse": lambda y, p: np.square(y - p),
}
_FINISH: dict[str, Callable[[np.ndarray], np.ndarray]] = {"rmse": np.sqrt}


def seed_for(solution_sha256: str) -> int:
    """The resampling seed of a challenge: fixed by its solution file."""
    return int(solution_sha256[:16], 16)


def resample_count(metric: str) -> int:
    """B: how many resamples a metric gets (vectorised ones get more)."""
    return VECTORISED_RESAMPLES if metric in _PER_ROW else LOOPED_RESAMPLES


def resample_chunks(n: int, resamples: int) -> list[tuple[int, int]]:
    """(first, count) of each chunk of resamples, so that a chunk gathers at most CHUNK_VALUES."""
    per_chunk = max(1, CHUNK_VALUES // max(n, 1))
    return [(start, min(per_chunk, resamples - start)) for start in range(0, resamples, per_chunk)]


_draw_lock = threading.Lock()
_last_draw: tuple[tuple[int, int, int], np.ndarray] | None = None


def _kept_draw(seed: int, n: int, resamples: int) -> np.ndarray | None:
    """The whole index matrix of a challenge's draw, drawn once and kept.

    Every submission of a challenge resamples the same rows (the seed is the
    solution's), so drawing them again for each one (more than half of a
    bootstrap's time at 10,000 rows) is wasted: the last challenge's draw is
    kept, read-only, when it has at most KEEP_VALUES indices (64 MB). One draw
    of the whole matrix gives the numbers of the chunked draws. None: too big,
    draw as you go."""
    global _last_draw
    if n * resamples > KEEP_VALUES:
        return None
    key = (seed, n, resamples)
    with _draw_lock:
        if _last_draw is not None and _last_draw[0] == key:
            return _last_draw[1]
    rows = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    rows.flags.writeable = False
    with _draw_lock:
        _last_draw = (key, rows)
    return rows


def _draws(
    rng: np.random.Generator, seed: int, n: int, resamples: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(first resample, its rows) chunk by chunk: from the kept draw, else from ``rng``."""
    kept = _kept_draw(seed, n, resamples)
    for start, count in resample_chunks(n, resamples):
        if kept is not None:
            yield start, kept[start : start + count]
        else:
            yield start, rng.integers(0, n, size=(count, n))


def public_bootstrap(
    aligned: np.ndarray, solution: Solution, metric: str, solution_sha256: str
) -> np.ndarray:
    """The public score of ``aligned`` predictions on each of the challenge's resamples.

    ``aligned`` are predictions aligned with ``solution.ids`` as
    :func:`server.scoring.predictions.read_predictions` returns them (class
    values for label metrics). Returns float64 scores, NaN where undefined.
    """
    scorer = get_metric(metric)
    public = np.flatnonzero(np.asarray(solution.public_mask, dtype=bool))
    y = np.asarray(solution.y)[public]
    predictions = np.asarray(aligned)[public]
    if predictions.ndim == 2:  # multi-class probabilities are normalised, as when scoring
        predictions = predictions / predictions.sum(axis=1, keepdims=True)
    n = len(public)
    resamples = resample_count(metric)
    seed = seed_for(solution_sha256)
    rng = np.random.default_rng(seed)
    scores = np.empty(resamples, dtype=np.float64)
    per_row = _PER_ROW.get(metric)
    if per_row is not None:
        if scorer.prediction_format == "value":
            y, predictions = y.astype(np.float64), predictions.astype(np.float64)
        losses = per_row(y, predictions)
        finish = _FINISH.get(metric, lambda values: values)
        for start, rows in _draws(rng, seed, n, resamples):
            with np.errstate(all="ignore"):
                scores[start : start + len(rows)] = finish(losses[rows].mean(axis=1))
        return scores
    classes = solution.classes
    for start, rows in _draws(rng, seed, n, resamples):
        for offset, sample in enumerate(rows):
            try:
                value = scorer.compute(y[sample], predictions[sample], classes)
            except Exception:  # noqa: BLE001
                # Undefined on this resample (a class missing, say). Warnings count
                # too: they are errors under the test suite's filters, in any thread.
                value = math.nan
            scores[start + offset] = value
    scores[~np.isfinite(scores)] = np.nan
    return scores


def _interval(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if len(values) == 0 or len(finite) < (1 - MAX_UNDEFINED_FRACTION) * len(values):
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def interval(scores: np.ndarray) -> tuple[float, float] | None:
    """The 95% percentile interval of bootstrap scores (None when too many are undefined)."""
    return _interval(np.asarray(scores, dtype=np.float64))


def halfwidth(scores: np.ndarray) -> float | None:
    """Half the width of the 95% interval: the ``±`` of the leaderboard."""
    bounds = interval(scores)
    return None if bounds is None else (bounds[1] - bounds[0]) / 2


def tied(first: np.ndarray, second: np.ndarray) -> bool | None:
    """Whether two submissions' scores differ insignificantly (paired; None: cannot say)."""
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        return None
    bounds = _interval(a - b)
    if bounds is None:
        return None
    return bounds[0] <= 0.0 <= bounds[1]


def encode(scores: np.ndarray) -> bytes:
    """Bootstrap scores as stored in ``Submission.public_bootstrap`` (float32, little-endian)."""
    return np.asarray(scores, dtype="<f4").tobytes()


def decode(blob: bytes | None) -> np.ndarray | None:
    if not blob or len(blob) % 4:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float64)


def stored_columns(scores: np.ndarray) -> dict[str, object]:
    """The Submission columns for a bootstrap: the scores and the ``±``."""
    # The half-width comes from the stored (float32) numbers, so that it can be recomputed.
    stored = decode(encode(scores))
    assert stored is not None
    return {"public_bootstrap": encode(scores), "public_ci_halfwidth": halfwidth(stored)}


def columns_for(values: Sequence[float | None] | None) -> dict[str, object]:
    """The Submission columns for bootstrap scores carried with a result ({} when none).

    ``values`` is a sequence of floats (None or NaN where undefined), as a
    checkpoint runner sends it.
    """
    if values is None:
        return {}
    scores = np.asarray(
        [math.nan if v is None else float(v) for v in values],
        dtype=np.float64,
    )
    if scores.ndim != 1 or len(scores) == 0:
        return {}
    return stored_columns(scores)
