"""Registry of competition metrics, each a thin wrapper over ``sklearn.metrics``.

A metric declares its direction and the shape of prediction it expects:

- ``label``: one class id per row;
- ``probability``: for two classes, one column holding the probability of the
  positive (larger) class; for more, one column per class;
- ``value``: one real number per row (regression).

The scoring core hands ``compute`` class *codes* (positions in the sorted
class list) rather than raw labels, which is equivalent for every metric here
because the encoding is a bijection that preserves order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

PredictionFormat = Literal["label", "probability", "value"]


@dataclass(frozen=True)
class Metric:
    """A named metric with its direction; ``compute`` delegates to sklearn."""

    name: str
    greater_is_better: bool
    prediction_format: PredictionFormat
    description: str
    _function: Callable[[np.ndarray, np.ndarray, np.ndarray | None], float] = field(
        repr=False, compare=False
    )

    @property
    def needs_classes(self) -> bool:
        """Whether the solution's target is a set of classes (not a real value)."""
        return self.prediction_format != "value"

    def compute(
        self, y_true: Any, y_pred: Any, classes: Sequence[Any] | np.ndarray | None
    ) -> float:
        """Score ``y_pred`` against ``y_true``.

        ``classes`` is the sorted list of every class of the challenge (``None``
        for value metrics); it matters when a subset of rows lacks some class
        (log loss, multi-class ROC AUC) and to pick the positive class.
        """
        class_array = None if classes is None else np.asarray(classes)
        # Huge values overflow (an infinite RMSE): the caller checks the result
        # is finite. np.errstate is thread-local, unlike warning filters.
        with np.errstate(all="ignore"):
            return float(self._function(np.asarray(y_true), np.asarray(y_pred), class_array))


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.accuracy_score(y_true, y_pred))


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    # balanced_accuracy_score is the macro recall over the classes present in
    # y_true, but it warns whenever y_pred has another class (a common, valid
    # case). Silencing that takes warnings.catch_warnings, which mutates
    # process-wide state and is not thread-safe; asking recall_score for
    # exactly those classes gives the same number without a warning.
    return float(
        skm.recall_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)
    )


def _f1_macro(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def _f1_weighted(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0))


def _log_loss(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.log_loss(y_true, y_pred, labels=classes))


def _roc_auc(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    if y_pred.ndim == 1:
        # Binary: the score is for the positive class, the larger of the two.
        positive = classes[-1] if classes is not None else np.max(y_true)
        return float(skm.roc_auc_score(y_true == positive, y_pred))
    return float(
        skm.roc_auc_score(y_true, y_pred, multi_class="ovr", average="macro", labels=classes)
    )


def _rmse(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.root_mean_squared_error(y_true, y_pred))


def _mse(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.mean_squared_error(y_true, y_pred))


def _mae(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.mean_absolute_error(y_true, y_pred))


def _r2(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None) -> float:
    return float(skm.r2_score(y_true, y_pred))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "accuracy", True, "label", "Fraction of rows whose predicted class is right.", _accuracy
        ),
        Metric(
            "balanced_accuracy",
            True,
            "label",
            "Mean recall over classes; robust to class imbalance.",
            _balanced_accuracy,
        ),
        Metric("f1_macro", True, "label", "Unweighted mean of the per-class F1 scores.", _f1_macro),
        Metric(
            "f1_weighted",
            True,
            "label",
            "Mean of the per-class F1 scores, weighted by class frequency.",
            _f1_weighted,
        ),
        Metric(
            "log_loss",
            False,
            "probability",
            "Cross-entropy of the predicted class probabilities (rows are normalised).",
            _log_loss,
        ),
        Metric(
            "roc_auc",
            True,
            "probability",
            "Area under the ROC curve; one-vs-rest macro average for more than two classes.",
            _roc_auc,
        ),
        Metric("rmse", False, "value", "Root mean squared error.", _rmse),
        Metric("mse", False, "value", "Mean squared error.", _mse),
        Metric("mae", False, "value", "Mean absolute error.", _mae),
        Metric("r2", True, "value", "Coefficient of determination (R²).", _r2),
    )
}


def get_metric(name: str) -> Metric:
    """Return the registered metric ``name``; ``ValueError`` names the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise ValueError(f"unknown metric {name!r}; known metrics: {known}") from None
