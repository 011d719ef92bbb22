"""Pure scoring core: metrics, hidden solutions, participant predictions."""

from server.scoring.metrics import METRICS, Metric, get_metric
from server.scoring.predictions import (
    PredictionError,
    Scores,
    evaluate_csv,
    read_predictions,
    sample_submission,
    score_predictions,
)
from server.scoring.solution import (
    Solution,
    SolutionError,
    clear_solution_cache,
    load_solution,
    parse_solution,
)

__all__ = [
    "METRICS",
    "Metric",
    "PredictionError",
    "Scores",
    "Solution",
    "SolutionError",
    "clear_solution_cache",
    "evaluate_csv",
    "get_metric",
    "load_solution",
    "parse_solution",
    "read_predictions",
    "sample_submission",
    "score_predictions",
]
