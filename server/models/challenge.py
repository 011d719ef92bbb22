from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow


class Visibility(StrEnum):
    public = "public"  # listed on / and in GET /challenges
    unlisted = "unlisted"  # not listed; reachable by its URL
    private = "private"  # only admins, its hosts and invited users; 404 for everyone else


class AtlasVisibility(StrEnum):
    live = "live"  # participants see the class atlas while the challenge runs
    after_finalize = "after_finalize"  # hosts only until finalize, then everyone


class ChallengeState(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    finalized = "finalized"


class Challenge(Base):
    __tablename__ = "challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    metric: Mapped[str] = mapped_column(String(32))
    opens_at: Mapped[datetime | None] = mapped_column(default=None)
    closes_at: Mapped[datetime | None] = mapped_column(default=None)
    # The per-day limit (``limits.per_day`` in the API; the API defaults it to 5); None: none.
    daily_submission_limit: Mapped[int | None] = mapped_column(default=None)
    # The other limits: per_window {count, minutes}, total, min_interval_seconds.
    submission_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # IANA name; a day (for per_day) starts at midnight there.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Accept (score, never rank) submissions after the deadline.
    late_submissions: Mapped[bool] = mapped_column(default=False)
    # Metrics computed besides ``metric`` (which ranks); they break ties in order.
    extra_metrics: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Parameter-budget tracks: [{"name": "tiny", "max_parameters": 10000}, ...]; each is a
    # board of its own among the checkpoints whose measured parameter count fits.
    tracks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    max_team_size: Mapped[int] = mapped_column(default=4)
    final_selection_count: Mapped[int] = mapped_column(default=2)
    submission_kinds: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["csv"])
    # Checkpoint evaluation: shape of one input row, dtype, batch size and limits.
    checkpoint_spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=ChallengeState.draft)
    solution_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    solution_target: Mapped[str | None] = mapped_column(String(64), default=None)
    solution_rows: Mapped[int | None] = mapped_column(default=None)
    hidden_inputs_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    webhooks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notified: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped whenever anything a leaderboard shows may have changed (cache key).
    board_version: Mapped[int] = mapped_column(Integer, default=0)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.public)
    # The code of the invite link /c/{slug}/join/{code} (private challenges); rotatable.
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    allowed_email_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    join_requires_approval: Mapped[bool] = mapped_column(default=False)
    # Who sees the class atlas before finalize (server.teaching.atlas.check_visible).
    atlas_visibility: Mapped[str] = mapped_column(String(16), default=AtlasVisibility.live)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finalized_at: Mapped[datetime | None] = mapped_column(default=None)

    files: Mapped[list[ChallengeFile]] = relationship(
        back_populates="challenge", order_by="ChallengeFile.name"
    )

    @property
    def metrics(self) -> list[str]:
        """Every metric: the one that ranks, then the tie-breakers in order."""
        return [self.metric, *(self.extra_metrics or [])]

    @property
    def limits(self) -> dict[str, Any]:
        """The submission limits as the API (and a bundle) gives them; unset ones absent."""
        limits: dict[str, Any] = {}
        if self.daily_submission_limit is not None:
            limits["per_day"] = self.daily_submission_limit
        for key, value in (self.submission_limits or {}).items():
            if value is not None:
                limits[key] = value
        return limits


class ChallengeFile(Base):
    """A public file of a challenge, stored by content hash."""

    __tablename__ = "challenge_file"
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="files")
