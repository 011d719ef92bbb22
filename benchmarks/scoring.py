"""CSV scoring speed: ``evaluate_csv`` against a pandas reference, in the same run.

    .venv/bin/python benchmarks/scoring.py [--rows 1000000] [--repeat 5]

Generates a solution (``id,label,usage``, 10 classes, half public) and a
predictions file (``id,label``, about 90% right) in a temporary folder, then
times, after one warm-up run each:

- ``evaluate_csv`` on the file (read, validate, join on id, public and private
  accuracy); the solution is parsed once beforehand, as the server caches it;
- the same with the rows shuffled (the id join instead of the in-order path);
- a rejected file (one label ``x`` in the middle): the checked path that
  builds the 422 message;
- the reference: ``pandas.read_csv`` + ``merge`` on id + ``accuracy_score``
  on both parts (no validation at all), and the same with polars.

Then the same for 10^3 .. 10^6 rows. Figures are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.metrics import accuracy_score

from server.scoring import PredictionError, Solution, evaluate_csv, parse_solution

CLASSES = 10
METRIC = "accuracy"
SCALING_ROWS = (1_000, 10_000, 100_000, 1_000_000)


def write_files(folder: Path, rows: int, seed: int) -> tuple[Path, Path, Path, Path]:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    labels = rng.integers(0, CLASSES, rows)
    usage = np.where(rng.random(rows) < 0.5, "public", "private")
    guesses = np.where(rng.random(rows) < 0.9, labels, rng.integers(0, CLASSES, rows))
    solution = folder / "solution.csv"
    pd.DataFrame({"id": ids, "label": labels, "usage": usage}).to_csv(solution, index=False)
    predictions = folder / "predictions.csv"
    pd.DataFrame({"id": ids, "label": guesses}).to_csv(predictions, index=False)
    shuffled = folder / "shuffled.csv"
    order = rng.permutation(rows)
    pd.DataFrame({"id": ids[order], "label": guesses[order]}).to_csv(shuffled, index=False)
    rejected = folder / "rejected.csv"
    bad = pd.DataFrame({"id": ids, "label": guesses.astype(str)})
    bad.loc[rows // 2, "label"] = "x"
    bad.to_csv(rejected, index=False)
    return solution, predictions, shuffled, rejected


def rejection(path: Path, solution: Solution) -> str:
    try:
        evaluate_csv(path, solution, METRIC)
    except PredictionError as error:
        return str(error)
    raise AssertionError("the file was accepted")


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best and median wall-clock seconds of ``repeat`` runs after one warm-up."""
    best, median, _ = timed_with_cpu(function, repeat)
    return best, median


def timed_with_cpu(function: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Best and median wall-clock seconds, and median CPU seconds (all threads)."""
    function()
    times, cpu_times = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return min(times), statistics.median(times), statistics.median(cpu_times)


def pandas_reference(path: Path, solution_frame: pd.DataFrame) -> tuple[float, float]:
    submission = pd.read_csv(path)
    merged = solution_frame.merge(submission, on="id", suffixes=("_true", "_pred"))
    public = merged["usage"] == "public"
    return (
        accuracy_score(merged.loc[public, "label_true"], merged.loc[public, "label_pred"]),
        accuracy_score(merged.loc[~public, "label_true"], merged.loc[~public, "label_pred"]),
    )


def polars_reference(path: Path, solution_frame: pl.DataFrame) -> tuple[float, float]:
    submission = pl.read_csv(path)
    merged = solution_frame.join(submission, on="id", suffix="_pred")
    public = (merged["usage"] == "public").to_numpy()
    truth, guess = merged["label"].to_numpy(), merged["label_pred"].to_numpy()
    return (
        accuracy_score(truth[public], guess[public]),
        accuracy_score(truth[~public], guess[~public]),
    )


def measure(rows: int, repeat: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        solution_path, predictions, shuffled, rejected = write_files(Path(folder), rows, seed)
        start = time.perf_counter()
        solution: Solution = parse_solution(solution_path, METRIC)
        parse_seconds = time.perf_counter() - start
        solution_frame = pd.read_csv(solution_path)
        solution_polars = pl.read_csv(solution_path)

        ours = evaluate_csv(predictions, solution, METRIC)
        reference = pandas_reference(predictions, solution_frame)
        assert np.isclose(ours.public, reference[0]) and np.isclose(ours.private, reference[1])
        assert evaluate_csv(shuffled, solution, METRIC) == ours
        assert np.allclose(polars_reference(predictions, solution_polars), reference)

        best, median, cpu = timed_with_cpu(
            lambda: evaluate_csv(predictions, solution, METRIC), repeat
        )
        shuffled_best, shuffled_median = timed(
            lambda: evaluate_csv(shuffled, solution, METRIC), repeat
        )
        pandas_best, pandas_median = timed(
            lambda: pandas_reference(predictions, solution_frame), repeat
        )
        rejected_best, rejected_median = timed(lambda: rejection(rejected, solution), repeat)
        polars_best, polars_median = timed(
            lambda: polars_reference(predictions, solution_polars), repeat
        )
        return {
            "rows": rows,
            "megabytes": predictions.stat().st_size / 1e6,
            "parse_solution": parse_seconds,
            "best": best,
            "median": median,
            "cpu": cpu,
            "shuffled_best": shuffled_best,
            "shuffled_median": shuffled_median,
            "rejected_best": rejected_best,
            "rejected_median": rejected_median,
            "rejected_message": rejection(rejected, solution),
            "pandas_best": pandas_best,
            "pandas_median": pandas_median,
            "polars_best": polars_best,
            "polars_median": polars_median,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"CPUs: {os.cpu_count()}; metric: {METRIC}; best / median of {args.repeat} runs")
    print("load average before (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    headline = measure(args.rows, args.repeat, args.seed)
    print(f"\n{headline['rows']:,} rows ({headline['megabytes']:.1f} MB id,label):")
    print(f"  parse_solution (once, cached)    {headline['parse_solution']:.3f} s")
    print(
        f"  evaluate_csv, ids in order       {headline['best']:.3f} / {headline['median']:.3f} s"
        f"  (CPU {headline['cpu']:.3f} s)"
    )
    print(
        f"  evaluate_csv, ids shuffled       "
        f"{headline['shuffled_best']:.3f} / {headline['shuffled_median']:.3f} s"
    )
    print(
        f"  rejected (one bad label)         "
        f"{headline['rejected_best']:.3f} / {headline['rejected_median']:.3f} s"
        f"  -> {headline['rejected_message']!r}"
    )
    print(
        f"  pandas read_csv + merge + score  "
        f"{headline['pandas_best']:.3f} / {headline['pandas_median']:.3f} s"
    )
    print(
        f"  polars read_csv + join + score   "
        f"{headline['polars_best']:.3f} / {headline['polars_median']:.3f} s"
    )
    print(f"  pandas / ours (best vs best)     {headline['pandas_best'] / headline['best']:.1f}x")

    print("\n| rows | evaluate_csv best | median | shuffled best | pandas best | pandas / ours |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in SCALING_ROWS:
        result = headline if rows == headline["rows"] else measure(rows, args.repeat, args.seed)
        print(
            f"| {rows:,} | {result['best'] * 1000:.1f} ms | {result['median'] * 1000:.1f} ms "
            f"| {result['shuffled_best'] * 1000:.1f} ms | {result['pandas_best'] * 1000:.1f} ms "
            f"| {result['pandas_best'] / result['best']:.1f}x |"
        )
    print("load average after (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
