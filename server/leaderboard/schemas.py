from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from server.baselines.schemas import BaselineEntry


class LeaderboardEntry(BaseModel):
    rank: int
    team: str
    score: float
    submissions: int = Field(description="Scored submissions of the team")
    last_submission_at: datetime | None
    best_submission_at: datetime
    ci_halfwidth: float | None = Field(
        default=None, description="Half-width of the bootstrap 95% interval (public board)"
    )
    tied_with_next: bool | None = Field(
        default=None, description="The gap to the next entry is not significant (bootstrap)"
    )
    parameter_count: int | None = None
    inference_seconds_per_1k: float | None = None
    peak_memory_mb: float | None = None
    extra_scores: dict[str, float | None] | None = Field(
        default=None,
        description="The challenge's other metrics on this board's rows (they break ties)",
    )
    public_rank: int | None = Field(default=None, description="Private board only")
    move: int | None = Field(default=None, description="public_rank - rank (private board only)")


class Leaderboard(BaseModel):
    board: Literal["public", "private"]
    challenge: str
    metric: str
    metrics: list[str] = Field(default_factory=list, description="metric, then the tie-breakers")
    greater_is_better: bool
    state: str
    generated_at: datetime
    entries: list[LeaderboardEntry]
    baselines: list[BaselineEntry] = Field(
        default=[],
        description="The hosts' reference rows with their score on this board: no rank, no team",
    )
    track: str | None = Field(
        default=None,
        description="A parameter-budget track's board: only the checkpoint submissions whose "
        "measured parameter count is at most max_parameters (null: the full board)",
    )
    max_parameters: int | None = Field(default=None, description="The track's budget")
