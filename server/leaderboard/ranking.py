"""The order of a board: the ranking metric, then each other metric of the challenge in
order, then the earliest submission, then the lowest id. Missing scores never rank."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.models import Challenge, Submission
from server.scoring.metrics import get_metric


@dataclass(frozen=True)
class Row:
    id: int
    team_id: int
    public: float | None
    private: float | None
    created_at: datetime
    selected: bool
    ci: float | None
    params: int | None
    infer: float | None
    memory: float | None
    extra: dict[str, Any] | None = None  # Submission.extra_scores

    def extra_values(self, part: str, names: list[str]) -> dict[str, float | None]:
        """The other metrics' values on ``part`` (public or private)."""
        values = (self.extra or {}).get(part) or {}
        return {name: values.get(name) for name in names}


ROW_COLUMNS = (
    Submission.id,
    Submission.team_id,
    Submission.public_score,
    Submission.private_score,
    Submission.created_at,
    Submission.selected_for_final,
    Submission.public_ci_halfwidth,
    Submission.parameter_count,
    Submission.inference_seconds_per_1k,
    Submission.peak_memory_mb,
    Submission.extra_scores,
)


@dataclass(frozen=True)
class Order:
    greater: bool
    tie_breakers: tuple[tuple[str, bool], ...] = ()  # (metric, greater is better)

    @classmethod
    def of(cls, challenge: Challenge) -> Order:
        extra = tuple((m, get_metric(m).greater_is_better) for m in challenge.extra_metrics or [])
        return cls(get_metric(challenge.metric).greater_is_better, extra)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.tie_breakers]

    def key(self, row: Row, part: str) -> tuple[Any, ...]:
        score = getattr(row, part)
        values = (row.extra or {}).get(part) or {}
        ties = []
        for name, greater in self.tie_breakers:
            value = values.get(name)
            ties.append(math.inf if value is None else (-value if greater else value))
        return (-score if self.greater else score, *ties, row.created_at, row.id)


def ordered(rows: list[Row], part: str, order: Order) -> list[Row]:
    """Best first on ``part``; ties go to the other metrics in order, then the earliest."""
    present = [r for r in rows if getattr(r, part) is not None]
    return sorted(present, key=lambda r: order.key(r, part))


def best_per_team(rows: list[Row], part: str, order: Order) -> list[Row]:
    seen: set[int] = set()
    best = []
    for row in ordered(rows, part, order):
        if row.team_id not in seen:
            seen.add(row.team_id)
            best.append(row)
    return best


def private_candidates(rows: list[Row], final_count: int, order: Order) -> list[Row]:
    """Per team: its selected submissions, or its best public ones when it chose none."""
    by_team: dict[int, list[Row]] = {}
    for row in rows:
        by_team.setdefault(row.team_id, []).append(row)
    candidates: list[Row] = []
    for team_rows in by_team.values():
        selected = [r for r in team_rows if r.selected]  # never more than final_count:
        candidates += ordered(selected or team_rows, "public", order)[:final_count]
    return candidates
