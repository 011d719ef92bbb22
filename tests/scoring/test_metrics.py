"""Every metric agrees with sklearn, end to end, and has the right direction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from server.scoring import METRICS, evaluate_csv, get_metric, parse_solution
from tests.scoring.helpers import csv_bytes, solution_csv

REQUIRED = {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc", "rmse", "mae", "r2"}

IDS = list(range(100, 112))
USAGE = ["public", "private"] * 6
PUBLIC = np.array([u == "public" for u in USAGE])
LABELS = np.array([0, 1, 2, 2, 1, 0, 2, 1, 0, 1, 2, 0])
GUESSES = np.array([0, 2, 2, 2, 1, 1, 2, 0, 0, 1, 1, 0])
BINARY = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1])
SCORES = np.array([0.1, 0.8, 0.3, 0.4, 0.9, 0.2, 0.6, 0.7, 0.55, 0.05, 0.45, 0.95])
VALUES = np.array([1.5, -2.0, 3.25, 0.0, 10.0, 4.5, -1.0, 2.0, 7.5, 3.0, 0.5, 6.0])
ESTIMATES = VALUES + np.array([0.5, -1.0, 0.25, 2.0, -3.0, 0.0, 1.0, 0.5, -0.5, 1.5, 0.0, -2.0])
RNG = np.random.default_rng(7)
PROBABILITIES = RNG.random((12, 3)) * 0.9 + 0.05  # rows deliberately not normalised


def both_parts(function, y_true, y_pred):
    return function(y_true[PUBLIC], y_pred[PUBLIC]), function(y_true[~PUBLIC], y_pred[~PUBLIC])


def test_registry_has_the_required_metrics_with_directions() -> None:
    assert set(METRICS) >= REQUIRED
    lower_is_better = {"log_loss", "rmse", "mae", "mse"}
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.greater_is_better == (name not in lower_is_better), name
        assert metric.prediction_format in ("label", "probability", "value")
        assert metric.description


def test_get_metric_unknown_names_the_known_ones() -> None:
    assert get_metric("accuracy") is METRICS["accuracy"]
    with pytest.raises(ValueError) as error:
        get_metric("acc")
    message = str(error.value)
    assert "'acc'" in message
    for name in REQUIRED:
        assert name in message


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("accuracy", skm.accuracy_score),
        ("balanced_accuracy", skm.balanced_accuracy_score),
        ("f1_macro", lambda t, p: skm.f1_score(t, p, average="macro")),
        ("f1_weighted", lambda t, p: skm.f1_score(t, p, average="weighted")),
    ],
)
def test_label_metrics_match_sklearn(name, reference) -> None:
    # String classes: the core encodes them, sklearn sees the raw strings.
    names = np.array(["ant", "bee", "cat"])
    solution = parse_solution(solution_csv(IDS, names[LABELS], USAGE), name)
    scores = evaluate_csv(
        csv_bytes("id,label", zip(IDS, names[GUESSES], strict=True)), solution, name
    )
    expected = both_parts(reference, names[LABELS], names[GUESSES])
    assert (scores.public, scores.private) == pytest.approx(expected)
    # The metric object itself, on raw labels.
    assert get_metric(name).compute(
        names[LABELS], names[GUESSES], ["ant", "bee", "cat"]
    ) == pytest.approx(reference(names[LABELS], names[GUESSES]))


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("rmse", skm.root_mean_squared_error),
        ("mse", skm.mean_squared_error),
        ("mae", skm.mean_absolute_error),
        ("r2", skm.r2_score),
    ],
)
def test_value_metrics_match_sklearn(name, reference) -> None:
    solution = parse_solution(solution_csv(IDS, VALUES, USAGE, target="price"), name)
    scores = evaluate_csv(csv_bytes("id,price", zip(IDS, ESTIMATES, strict=True)), solution, name)
    expected = both_parts(reference, VALUES, ESTIMATES)
    assert (scores.public, scores.private) == pytest.approx(expected)


def test_binary_roc_auc_and_log_loss_match_sklearn() -> None:
    classes = np.array(["no", "yes"])  # positive class: the larger, "yes"
    for name, reference in (
        ("roc_auc", skm.roc_auc_score),
        ("log_loss", lambda t, p: skm.log_loss(t, p, labels=["no", "yes"])),
    ):
        solution = parse_solution(solution_csv(IDS, classes[BINARY], USAGE, "sick"), name)
        scores = evaluate_csv(csv_bytes("id,sick", zip(IDS, SCORES, strict=True)), solution, name)
        if name == "roc_auc":
            expected = both_parts(reference, BINARY, SCORES)
        else:
            expected = both_parts(reference, classes[BINARY], SCORES)
        assert (scores.public, scores.private) == pytest.approx(expected), name


def test_multiclass_roc_auc_and_log_loss_match_sklearn_on_normalised_rows() -> None:
    normalised = PROBABILITIES / PROBABILITIES.sum(axis=1, keepdims=True)
    # Columns in a different order than the classes: matched by name.
    header = "id,2,0,1"
    rows = [(i, p[2], p[0], p[1]) for i, p in zip(IDS, PROBABILITIES, strict=True)]
    for name, reference in (
        (
            "roc_auc",
            lambda t, p: skm.roc_auc_score(t, p, multi_class="ovr", labels=[0, 1, 2]),
        ),
        ("log_loss", lambda t, p: skm.log_loss(t, p, labels=[0, 1, 2])),
    ):
        solution = parse_solution(solution_csv(IDS, LABELS, USAGE), name)
        scores = evaluate_csv(csv_bytes(header, rows), solution, name)
        expected = both_parts(reference, LABELS, normalised)
        assert (scores.public, scores.private) == pytest.approx(expected), name


def test_direction_perfect_beats_poor() -> None:
    for name, metric in METRICS.items():
        if metric.prediction_format == "value":
            solution = parse_solution(solution_csv(IDS, VALUES, USAGE), name)
            perfect, poor = VALUES, VALUES[::-1] + 5
            header = "id,label"
        elif metric.prediction_format == "label":
            solution = parse_solution(solution_csv(IDS, LABELS, USAGE), name)
            perfect, poor = LABELS, (LABELS + 1) % 3
            header = "id,label"
        else:
            solution = parse_solution(solution_csv(IDS, BINARY, USAGE), name)
            perfect, poor = np.where(BINARY == 1, 0.9, 0.1), np.where(BINARY == 1, 0.2, 0.7)
            header = "id,label"
        good = evaluate_csv(csv_bytes(header, zip(IDS, perfect, strict=True)), solution, name)
        bad = evaluate_csv(csv_bytes(header, zip(IDS, poor, strict=True)), solution, name)
        for better, worse in ((good.public, bad.public), (good.private, bad.private)):
            assert (better > worse) if metric.greater_is_better else (better < worse), name


def test_balanced_accuracy_when_a_predicted_class_is_absent_from_a_part() -> None:
    # Class 2 never occurs among the public rows but is predicted there.
    labels = [0, 2, 1, 2, 0, 2, 1, 2]
    guesses = [2, 2, 1, 0, 0, 2, 2, 2]
    usage = ["public", "private"] * 4
    solution = parse_solution(solution_csv(range(8), labels, usage), "balanced_accuracy")
    rows = csv_bytes("id,label", enumerate(guesses))
    scores = evaluate_csv(rows, solution, "balanced_accuracy")  # no warning escapes
    public = np.array(usage) == "public"
    y, p = np.array(labels), np.array(guesses)
    for part, score in ((public, scores.public), (~public, scores.private)):
        with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
            expected = skm.balanced_accuracy_score(y[part], p[part])
        assert score == pytest.approx(expected)
