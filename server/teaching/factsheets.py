"""Fact sheets on the pages: a submission's metadata as rows of text, and its curve as data.

Values reach the page only as text (autoescaped) or inside a JSON data block
that the chart script reads, so nothing a team sends is executed or rendered
as HTML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jinja2 import Environment

from server.models import Submission
from server.submissions.metadata import CURVE_KEYS, documented, extra

LABELS = {
    "model": "Model",
    "hidden_sizes": "Hidden layers",
    "activation": "Activation",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "dropout": "Dropout",
    "weight_decay": "Weight decay",
    "seed": "Seed",
    "val_metric": "Validation score",
}


def _text(key: str, value: Any) -> str:
    if key == "hidden_sizes" and isinstance(value, list):
        return " × ".join(str(size) for size in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return value if isinstance(value, str) else json.dumps(value)


def fact_rows(submission: Submission) -> list[tuple[str, str]]:
    """(label, text) for every fact the submission's sheet holds, documented keys first."""
    metadata = submission.run_metadata
    rows = [(LABELS[key], _text(key, value)) for key, value in documented(metadata)]
    if submission.parameter_count is not None:
        rows.append(("Parameters (measured)", f"{submission.parameter_count:,}"))
    return rows + extra(metadata)


def curve(submission: Submission) -> list[dict[str, Any]]:
    """The per-epoch curve, only the documented fields (numbers or null)."""
    points = (submission.run_metadata or {}).get("curve") or []
    return [{key: point.get(key) for key in CURVE_KEYS} for point in points]


def curves(submissions: Iterable[Submission]) -> dict[str, list[dict[str, Any]]]:
    """Curves by submission id, for the page's JSON data block."""
    return {str(s.id): points for s in submissions if (points := curve(s))}


def install(env: Environment) -> None:
    """Make the fact-sheet helpers available to the templates."""
    env.globals.update(fact_rows=fact_rows, submission_curves=curves)
