"""Bootstrap intervals: time to compute one submission's resamples, per metric.

    .venv/bin/python benchmarks/bootstrap.py [--rows 10000] [--public 0.3] [--repeat 3]

A solution of ``--rows`` rows (MNIST's test set size by default; 30% public, as
in the demo) and predictions that are right 95% of the time; for each metric,
the median wall time of ``server.scoring.bootstrap.public_bootstrap`` over
``--repeat`` runs (B = 1000 resamples for accuracy/MAE/MSE/RMSE, vectorised;
B = 200 sklearn calls for the others). The reference is the textbook loop (one
sklearn call per resample) for accuracy with the same B = 1000. This work runs
on the insight thread after the commit, never on a request's time.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import numpy as np
from sklearn import metrics as skm

from server.scoring import bootstrap
from server.scoring.predictions import read_predictions
from server.scoring.solution import parse_solution

SHA = "be" * 32
CLASSES = 10


def solution_bytes(y: np.ndarray, public: np.ndarray, target: str) -> bytes:
    out = io.StringIO()
    out.write(f"id,{target},usage\n")
    out.writelines(
        f"{i},{v},{'public' if p else 'private'}\n"
        for i, (v, p) in enumerate(zip(y, public, strict=True))
    )
    return out.getvalue().encode()


def predictions_bytes(header: list[str], rows: np.ndarray) -> bytes:
    out = io.StringIO()
    out.write(",".join(["id", *header]) + "\n")
    for i, row in enumerate(rows):
        values = row if np.ndim(row) else [row]
        out.write(f"{i}," + ",".join(str(v) for v in values) + "\n")
    return out.getvalue().encode()


def median_seconds(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--public", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.rows
    public = rng.random(n) < args.public
    labels = rng.integers(0, CLASSES, n)
    guessed = np.where(rng.random(n) < 0.95, labels, (labels + 1) % CLASSES)
    values = np.round(rng.normal(size=n), 4)
    estimates = np.round(values + rng.normal(scale=0.2, size=n), 4)
    logits = rng.normal(size=(n, CLASSES))
    logits[np.arange(n), labels] += 3
    probabilities = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 6)
    binary = labels % 2
    cases = {
        "accuracy": (labels, "label", ["label"], guessed),
        "mae": (values, "value", ["value"], estimates),
        "rmse": (values, "value", ["value"], estimates),
        "f1_macro": (labels, "label", ["label"], guessed),
        "balanced_accuracy": (labels, "label", ["label"], guessed),
        "log_loss": (labels, "label", [str(c) for c in range(CLASSES)], probabilities),
        "roc_auc": (binary, "label", ["label"], np.round(rng.random(n) * 0.5 + binary * 0.4, 4)),
        "r2": (values, "value", ["value"], estimates),
    }
    print(f"rows {n}, public {int(public.sum())}, CPU threads {os.cpu_count()}")
    print(f"{'metric':<18} {'B':>5} {'seconds':>8}")
    for metric, (y, target, header, predicted) in cases.items():
        solution = parse_solution(solution_bytes(y, public, target), metric)
        aligned = read_predictions(predictions_bytes(header, predicted), solution, metric)
        seconds = median_seconds(
            lambda a=aligned, s=solution, m=metric: bootstrap.public_bootstrap(a, s, m, SHA),
            args.repeat,
        )
        print(f"{metric:<18} {bootstrap.resample_count(metric):>5} {seconds:>8.3f}")

    y_pub, p_pub = labels[public], guessed[public]
    draws = np.random.default_rng(0).integers(0, len(y_pub), size=(1000, len(y_pub)))

    def textbook() -> None:
        for row in draws:
            skm.accuracy_score(y_pub[row], p_pub[row])

    seconds = median_seconds(textbook, args.repeat)
    print(f"{'reference: accuracy as a loop of 1000 sklearn calls':<18} {seconds:>8.3f}")


if __name__ == "__main__":
    main()
