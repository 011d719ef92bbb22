"""A team's submission history and its best-public-score-over-time series.

Only public scores enter the series: it is drawn for everyone. Private scores,
and the private values of the challenge's other metrics, appear in the history
rows only when the caller says they may (after finalize).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.leaderboard.schemas import Leaderboard
from server.models import Challenge, Submission, SubmissionStatus, Team


@dataclass(frozen=True)
class HistoryRow:
    id: int
    created_at: datetime
    status: str
    public_score: float | None
    private_score: float | None
    improved: bool
    selected: bool
    late: bool  # only in the team's own view (late ones are left out of the public one)
    # The challenge's other metrics (metrics[1:]): name -> value; private ones as private_score.
    extra_public: dict[str, float | None]
    extra_private: dict[str, float | None]
    # Team-only details (None for other viewers).
    message: str | None
    error: str | None
    file_name: str | None
    user: str | None


def _better(a: float, b: float, greater_is_better: bool) -> bool:
    return a > b if greater_is_better else a < b


def best_over_time(
    points: list[tuple[datetime, float]], greater_is_better: bool
) -> list[tuple[datetime, float]]:
    """The running best, one point each time it improves (points sorted by time)."""
    steps: list[tuple[datetime, float]] = []
    for at, score in sorted(points, key=lambda p: p[0]):
        if not steps or _better(score, steps[-1][1], greater_is_better):
            steps.append((at, score))
    return steps


def public_points(session: Session, team_id: int) -> list[tuple[datetime, float]]:
    rows = session.execute(
        select(Submission.created_at, Submission.public_score)
        .where(
            Submission.team_id == team_id,
            Submission.status == SubmissionStatus.scored,
            Submission.public_score.is_not(None),
            Submission.late.is_(False),
        )
        .order_by(Submission.created_at, Submission.id)
    ).all()
    return [(at, score) for at, score in rows if score is not None]


def extra_values(submission: Submission, metrics: list[str], part: str) -> dict[str, float | None]:
    """The other metrics' values of one part ("public" or "private"), None where unscored."""
    values = (submission.extra_scores or {}).get(part) or {}
    return {m: values.get(m) for m in metrics}


def team_history(
    session: Session,
    team: Team,
    greater_is_better: bool,
    with_details: bool,
    with_private: bool,
) -> list[HistoryRow]:
    """Newest first. Without details, only scored submissions and their public scores."""
    query = select(Submission).where(Submission.team_id == team.id)
    if not with_details:
        # Late submissions are the team's own business: not on its public page.
        query = query.where(
            Submission.status == SubmissionStatus.scored, Submission.late.is_(False)
        )
    submissions = list(session.scalars(query.order_by(Submission.created_at, Submission.id)))
    challenge = session.get(Challenge, team.challenge_id)
    others = list(challenge.extra_metrics or []) if challenge is not None else []
    rows: list[HistoryRow] = []
    best: float | None = None
    for s in submissions:
        improved = (
            s.public_score is not None
            and not s.late
            and (best is None or _better(s.public_score, best, greater_is_better))
        )
        if improved:
            best = s.public_score
        rows.append(
            HistoryRow(
                id=s.id,
                created_at=s.created_at,
                status=s.status,
                public_score=s.public_score,
                private_score=s.private_score if with_private else None,
                improved=improved,
                selected=s.selected_for_final if with_details else False,
                late=s.late,
                extra_public=extra_values(s, others, "public"),
                extra_private=extra_values(s, others, "private") if with_private else {},
                message=s.message if with_details else None,
                error=s.error if with_details else None,
                file_name=s.file_name if with_details else None,
                user=(s.user.username if s.user else None) if with_details else None,
            )
        )
    rows.reverse()
    return rows


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def chart_data(
    challenge: Challenge,
    greater: bool,
    team: tuple[str, list[tuple[datetime, float]]],
    leader: tuple[str, list[tuple[datetime, float]]] | None,
    now: datetime,
    baselines: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    """What static/js/team-chart.js draws: step lines of the best public score, and
    the baseline rows as horizontal lines."""
    end = now if challenge.closes_at is None else min(now, challenge.closes_at)
    named = [("team", team)] + ([("leader", leader)] if leader is not None else [])
    series: list[dict[str, Any]] = []
    last: int | None = None
    for role, (name, points) in named:
        steps = [{"x": _millis(at), "y": score} for at, score in best_over_time(points, greater)]
        if steps:
            last = max(last or 0, int(steps[-1]["x"]))
        series.append({"role": role, "name": name, "points": steps})
    return {
        "metric": challenge.metric,
        "greater_is_better": greater,
        "end": max(_millis(end), last) if last is not None else _millis(end),
        "series": series,
        "baselines": [{"name": name, "y": score} for name, score in baselines or []],
    }


def interleaved(board: Leaderboard) -> list[tuple[str, Any]]:
    """The board's rows in display order: ("team", entry) and ("baseline", row).

    A baseline goes just above the first team it beats; on a tie it goes below the
    teams (a team that matches the baseline has reached it).
    """
    sign = 1.0 if board.greater_is_better else -1.0
    pending = sorted(board.baselines, key=lambda b: -sign * b.score)
    rows: list[tuple[str, Any]] = []
    for entry in board.entries:
        while pending and sign * pending[0].score > sign * entry.score:
            rows.append(("baseline", pending.pop(0)))
        rows.append(("team", entry))
    rows += [("baseline", b) for b in pending]
    return rows
