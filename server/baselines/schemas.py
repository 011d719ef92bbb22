from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

BASELINE_PREFIX = "Baseline · "


def label(name: str) -> str:
    """How a baseline is shown next to teams: "Baseline · CNN (course)"."""
    return f"{BASELINE_PREFIX}{name}"


class BaselineRead(BaseModel):
    name: str
    label: str = Field(description='How boards show it, e.g. "Baseline · CNN (course)"')
    description: str
    kind: str
    status: str
    public_score: float | None
    private_score: float | None = Field(
        default=None, description="null unless the caller may see it (hosts, or finalized)"
    )
    error: str | None
    created_at: datetime
    submission_id: int | None = Field(default=None, description="Hosts only")


class BaselineEntry(BaseModel):
    """A baseline row of a leaderboard: its score on that board, no rank."""

    name: str
    label: str
    description: str
    score: float
