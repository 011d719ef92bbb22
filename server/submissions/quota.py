"""The daily submission limit: per team, per UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.models import Submission, SubmissionStatus, Team, utcnow


def day_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def next_reset(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


def used_today(session: Session, team_ids: list[int], now: datetime | None = None) -> int:
    """Submissions that count against the limit today: not platform failures, not cancelled."""
    now = now or utcnow()
    return (
        session.scalar(
            select(func.count(Submission.id)).where(
                Submission.team_id.in_(team_ids),
                Submission.created_at >= day_start(now),
                Submission.platform_error.is_(False),
                Submission.status != SubmissionStatus.cancelled,
            )
        )
        or 0
    )


def lock_teams(session: Session, team_ids: list[int]) -> None:
    """Serialize concurrent quota and membership changes on these teams.

    An UPDATE takes PostgreSQL's row lock and SQLite's write lock, so whatever the
    transaction counts afterwards cannot change under it until it commits.
    """
    session.execute(
        update(Team)
        .where(Team.id.in_(sorted(team_ids)))
        .values(lock_version=Team.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
