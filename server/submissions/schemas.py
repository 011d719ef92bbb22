from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from server.models.base import RowId


class LimitLeft(BaseModel):
    """Where a team stands under one submission limit."""

    kind: str = Field(description="per_day, per_window, total or min_interval_seconds")
    label: str = Field(examples=["per day (midnight Europe/Paris)", "per 60 minutes"])
    limit: int
    used: int
    remaining: int
    next_at: datetime | None = Field(
        default=None, description="When one more becomes possible, if none is left now"
    )


class SubmissionRead(BaseModel):
    id: int
    challenge: str
    team: str
    user: str | None
    kind: str
    file_name: str
    file_size: int
    message: str
    status: str
    public_score: float | None
    public_ci_halfwidth: float | None = None
    private_score: float | None = Field(
        default=None, description="null unless the caller may see it (organizer, or finalized)"
    )
    public_scores: dict[str, float | None] | None = Field(
        default=None, description="Every metric of the challenge on the public rows"
    )
    private_scores: dict[str, float | None] | None = Field(
        default=None, description="Every metric on the private rows; null like private_score"
    )
    error: str | None
    error_detail: str | None = Field(
        default=None,
        description="What a failing checkpoint program said (organizers only; teams get "
        "the platform's line in error unless the challenge shows program errors)",
    )
    attempts: int
    created_at: datetime
    started_at: datetime | None
    scored_at: datetime | None
    selected_for_final: bool
    late: bool = Field(default=False, description="Made after closes_at: scored, never ranked")
    parameter_count: int | None = None
    inference_seconds_per_1k: float | None = None
    peak_memory_mb: float | None = None
    metadata: dict[str, Any] | None = Field(
        default=None, description="The fact sheet sent with the submission (JSON object)"
    )
    remaining_today: int | None = Field(
        default=None, description="Submissions your team has left today (on creation)"
    )
    limits_left: list[LimitLeft] | None = Field(
        default=None, description="Where your team stands under every limit (on creation)"
    )
    queue_position: int | None = Field(
        default=None, description="Place in the scoring queue while queued (organizers)"
    )


class SelectionUpdate(BaseModel):
    submission_ids: list[RowId] = Field(max_length=20)


class SelectionRead(BaseModel):
    selected: list[int]
    final_selection_count: int
