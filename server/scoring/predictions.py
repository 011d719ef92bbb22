"""Participant predictions: parse, validate against a solution, score.

Messages of :class:`PredictionError` are shown to the participant, so they
name rows of *their* file and never anything hidden: no true labels, no hint
of which ids are public or private (ids are listed in id order, never in the
solution's order), no scores. The class list is not hidden: it is the header
of a probability submission and the vocabulary of the training data.

Speed: a valid file takes the fast path (pyarrow's multi-threaded reader with
the column types known in advance, vectorised checks, and a shortcut when the
ids come in the solution's or in sorted order). Anything unusual — an error,
or a value written in an unusual way such as ``3.0`` for class 3 — falls back
to the checked path, which re-reads every field as text and is the reference
for what is accepted; the fast path only accepts files the checked path
would accept with the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from server.scoring.csvread import (
    _EXAMPLES_SHOWN,
    _MAX_VALUE,
    _MAX_VALUE_TEXT,
    Source,
    _csv_field,
    _plural,
    _read_source,
    _show,
)
from server.scoring.metrics import Metric, get_metric
from server.scoring.reading import PredictionError, _is_multiclass, _labels_message, _parse
from server.scoring.table import Solution

__all__ = [
    "ParsedPredictions",
    "PredictionError",
    "Scores",
    "evaluate_csv",
    "parse_predictions",
    "read_predictions",
    "sample_submission",
    "score_predictions",
]


@dataclass(frozen=True)
class Scores:
    public: float
    private: float
    # The challenge's other metrics on the same predictions: name -> (public, private).
    extra: dict[str, tuple[float, float]] = field(default_factory=dict)

    def extra_columns(self) -> dict[str, dict[str, float]]:
        """``Submission.extra_scores``: {"public": {name: value}, "private": {...}}."""
        return {
            "public": {name: pair[0] for name, pair in self.extra.items()},
            "private": {name: pair[1] for name, pair in self.extra.items()},
        }


@dataclass(frozen=True, eq=False)
class ParsedPredictions:
    """A predictions file parsed and validated once: score it, align it, or both."""

    solution: Solution
    scorer: Metric
    values: np.ndarray  # class codes for label metrics, else the values, in solution order

    def scores(self, extra_metrics: Sequence[str] = ()) -> Scores:
        return _with_extra(self.values, self.solution, self.scorer, extra_metrics)

    def aligned(self) -> np.ndarray:
        """Aligned with ``solution.ids``, as :func:`read_predictions` returns them."""
        if self.scorer.prediction_format == "label":
            assert self.solution._class_array is not None
            return self.solution._class_array[self.values]
        return self.values


def parse_predictions(source: Source, solution: Solution, metric: str) -> ParsedPredictions:
    """Parse and validate a predictions CSV (raises :class:`PredictionError`)."""
    scorer = _metric_for(solution, metric)
    return ParsedPredictions(solution, scorer, _parse(_read_source(source), solution, scorer))


def read_predictions(source: Source, solution: Solution, metric: str) -> np.ndarray:
    """Parse and validate a predictions CSV; return it aligned with ``solution.ids``.

    Labels come back as class values (1-D), values and binary probabilities
    as float64 (1-D), multi-class probabilities as ``(n, n_classes)`` in the
    order of ``solution.classes``. ``source`` is a path or the file's bytes.
    """
    return parse_predictions(source, solution, metric).aligned()


def score_predictions(
    aligned: np.ndarray, solution: Solution, metric: str, extra_metrics: Sequence[str] = ()
) -> Scores:
    """Public and private scores of predictions aligned with ``solution.ids``.

    ``extra_metrics`` (of the same prediction format) are computed on the same rows."""
    scorer = _metric_for(solution, metric)
    aligned = np.asarray(aligned)
    if len(aligned) != len(solution):
        raise ValueError(f"expected {len(solution)} aligned predictions, got {len(aligned)}")
    if scorer.prediction_format == "label":
        codes, known = solution._encode_labels(aligned)
        unknown = np.flatnonzero(~known)
        if len(unknown):
            shown = unknown[:_EXAMPLES_SHOWN]
            labels = [_show(aligned[r]) for r in shown]
            places = [f"id {_show(solution.ids[r])}" for r in shown]
            raise PredictionError(_labels_message(solution, labels, places, len(unknown)))
        return _with_extra(codes, solution, scorer, extra_metrics)
    values = aligned.astype(np.float64)
    expected_ndim = 2 if _is_multiclass(solution, scorer) else 1
    if values.ndim != expected_ndim or (
        expected_ndim == 2 and values.shape[1] != len(solution.classes or ())
    ):
        raise ValueError(f"predictions for {scorer.name} have the wrong shape {values.shape}")
    if scorer.prediction_format == "probability":
        low, high, what = 0.0, 1.0, "between 0 and 1"
    else:
        low, high, what = (
            -_MAX_VALUE,
            _MAX_VALUE,
            f"between -{_MAX_VALUE_TEXT} and {_MAX_VALUE_TEXT}",
        )
    invalid = ~((values >= low) & (values <= high))  # NaN is invalid too
    if invalid.any():
        count = int(invalid.any(axis=-1).sum()) if invalid.ndim == 2 else int(invalid.sum())
        raise PredictionError(f"{_plural(count, 'prediction')} not {what}")
    if expected_ndim == 2 and (values.sum(axis=1) == 0).any():
        raise PredictionError("probabilities on a row must not all be 0")
    return _with_extra(values, solution, scorer, extra_metrics)


def evaluate_csv(
    source: Source, solution: Solution, metric: str, extra_metrics: Sequence[str] = ()
) -> Scores:
    """:func:`read_predictions` then :func:`score_predictions`, without the round trips."""
    return parse_predictions(source, solution, metric).scores(extra_metrics)


def _with_extra(
    aligned: np.ndarray, solution: Solution, scorer: Metric, extra_metrics: Sequence[str]
) -> Scores:
    """The ranking metric's scores, and every other metric's on the same predictions."""
    scores = _score(aligned, solution, scorer)
    extra = {}
    for name in extra_metrics:
        other = get_metric(name)
        if other.prediction_format != scorer.prediction_format:
            raise ValueError(f"{name} cannot score {scorer.prediction_format} predictions")
        more = _score(aligned, solution, other)
        extra[name] = (more.public, more.private)
    return Scores(scores.public, scores.private, extra)


def sample_submission(solution: Solution, metric: str) -> bytes:
    """A valid predictions CSV: the header and every id (sorted) with one constant value.

    The value carries no information about the hidden targets: the smallest
    class, 0 for values, uniform probabilities.
    """
    scorer = _metric_for(solution, metric)
    classes = solution.classes or []
    if scorer.prediction_format == "label":
        header, row_value = [solution.target], _csv_field(str(classes[0]))
    elif scorer.prediction_format == "value":
        header, row_value = [solution.target], "0"
    elif not _is_multiclass(solution, scorer):
        header, row_value = [solution.target], "0.5"
    else:
        header = [str(c) for c in classes]
        row_value = ",".join([repr(1.0 / len(classes))] * len(classes))
    if solution.ids_are_integers:
        id_strings = pa.array(solution._sorted_ids).cast(pa.string())
    else:
        id_strings = pa.array(solution._sorted_ids, type=pa.string())
        needs_quotes = pc.match_substring_regex(id_strings, r'[,"\r\n]|^\s|\s$')
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring(id_strings, '"', '""'), '"', ""
        )
        id_strings = pc.if_else(needs_quotes, quoted, id_strings)
    lines = pc.binary_join_element_wise(id_strings, row_value, ",")
    body = pc.binary_join(
        pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n"
    )
    header_line = ",".join(_csv_field(name) for name in ["id", *header])
    return (header_line + "\n" + body[0].as_py() + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# Internals. A label prediction is an array of class codes here.


def _metric_for(solution: Solution, metric: str) -> Metric:
    scorer = get_metric(metric)
    if scorer.needs_classes != (solution.classes is not None):
        kind = "classification" if solution.classes is not None else "regression"
        raise ValueError(f"this solution was parsed for a {kind} metric, not for {metric!r}")
    return scorer


def _score(aligned: np.ndarray, solution: Solution, scorer: Metric) -> Scores:
    """Score internal predictions (class codes for labels) on both parts."""
    classes = None if solution.classes is None else np.arange(len(solution.classes))
    if aligned.ndim == 2:
        aligned = aligned / aligned.sum(axis=1, keepdims=True)
    scores = []
    for index, y_true in (
        (solution._public_index, solution._y_public),
        (solution._private_index, solution._y_private),
    ):
        score = scorer.compute(y_true, aligned[index], classes)
        if not math.isfinite(score):
            if scorer.prediction_format == "value":
                # Same message whichever part overflowed: nothing about the split leaks.
                raise PredictionError("the values are too large to score: the error overflows")
            # The solution parser refuses solutions on which the metric is
            # undefined: a platform error, not the participant's.
            raise RuntimeError(f"{scorer.name} returned a non-finite score")
        scores.append(score)
    return Scores(public=scores[0], private=scores[1])
