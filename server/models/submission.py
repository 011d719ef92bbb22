from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow
from server.models.team import Team
from server.models.user import User


class SubmissionStatus(StrEnum):
    queued = "queued"
    running = "running"
    scored = "scored"
    failed = "failed"
    cancelled = "cancelled"


UNFINISHED = (SubmissionStatus.queued, SubmissionStatus.running)


class Submission(Base):
    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_challenge_status", "challenge_id", "status"),
        Index("ix_submission_team_created_at", "team_id", "created_at"),
        # Covers the board query (best scored row per team): measured 5x faster on
        # 10,000 teams (docs/benchmarks.md).
        Index(
            "ix_submission_board",
            "challenge_id",
            "status",
            "team_id",
            "public_score",
            "created_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id", ondelete="CASCADE"))
    # NULL for a baseline row's submission (see server.models.extras.Baseline).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16), default="csv")
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_size: Mapped[int] = mapped_column(default=0)
    config_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.queued)
    public_score: Mapped[float | None] = mapped_column(default=None)
    private_score: Mapped[float | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # What a checkpoint program said when it failed: organizers only (the team
    # gets the platform's line in ``error``; see server.checkpoints.program_errors).
    error_detail: Mapped[str | None] = mapped_column(Text, default=None)
    # A platform failure (our fault) does not count against the daily limit.
    platform_error: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    scored_at: Mapped[datetime | None] = mapped_column(default=None)
    selected_for_final: Mapped[bool] = mapped_column(default=False)
    # Made after the deadline (late_submissions): scored, never ranked or selected.
    late: Mapped[bool] = mapped_column(default=False)
    # The challenge's extra metrics: {"public": {name: value}, "private": {name: value}}.
    extra_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Checkpoint efficiency figures.
    parameter_count: Mapped[int | None] = mapped_column(default=None)
    inference_seconds_per_1k: Mapped[float | None] = mapped_column(default=None)
    peak_memory_mb: Mapped[float | None] = mapped_column(default=None)
    # Bootstrap of the public score (half-width of the 95% interval, and the
    # resampled scores as float32 bytes for paired comparisons).
    public_ci_halfwidth: Mapped[float | None] = mapped_column(default=None)
    public_bootstrap: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # The team's fact sheet (server.teaching.metadata): data only, never executed.
    run_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    team: Mapped[Team | None] = relationship()
    user: Mapped[User | None] = relationship()
