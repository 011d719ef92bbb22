"""Leaderboards: best public score per team; the private board after finalization.

Boards are cached per process and keyed on the challenge's ``board_version``,
which every scoring, selection, rename or finalization bumps in the database:
each request pays one indexed read of that number, so several server processes
never serve a stale board.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import Challenge, ChallengeState, Submission, SubmissionStatus, Team, utcnow
from server.scoring.metrics import get_metric

from .schemas import Leaderboard, LeaderboardEntry

CACHE_SIZE = 64


@dataclass(frozen=True)
class _Row:
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


def _scored_rows(session: Session, challenge_id: int) -> list[_Row]:
    rows = session.execute(
        select(
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
        ).where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
        )
    ).all()
    return [_Row(*row) for row in rows]  # type: ignore[call-arg]


def _ordered(rows: list[_Row], key: str, greater_is_better: bool) -> list[_Row]:
    """Best first; ties go to the earliest submission. Missing scores never rank."""
    sign = -1.0 if greater_is_better else 1.0
    present = [r for r in rows if getattr(r, key) is not None]
    return sorted(present, key=lambda r: (sign * getattr(r, key), r.created_at, r.id))


def _best_per_team(rows: list[_Row], key: str, greater_is_better: bool) -> list[_Row]:
    seen: set[int] = set()
    best = []
    for row in _ordered(rows, key, greater_is_better):
        if row.team_id not in seen:
            seen.add(row.team_id)
            best.append(row)
    return best


def _team_stats(
    session: Session, challenge_id: int
) -> tuple[dict[int, str], dict[int, int], dict[int, datetime]]:
    names = dict(
        session.execute(select(Team.id, Team.name).where(Team.challenge_id == challenge_id))
        .tuples()
        .all()
    )
    stats = session.execute(
        select(Submission.team_id, func.count(Submission.id), func.max(Submission.created_at))
        .where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
        )
        .group_by(Submission.team_id)
    ).all()
    counts = {team_id: count for team_id, count, _ in stats}
    last = {team_id: latest for team_id, _, latest in stats}
    return names, counts, last


def _private_candidates(rows: list[_Row], final_count: int, greater: bool) -> list[_Row]:
    """Per team: its selected submissions, or its best public ones when it chose none."""
    by_team: dict[int, list[_Row]] = {}
    for row in rows:
        by_team.setdefault(row.team_id, []).append(row)
    candidates: list[_Row] = []
    for team_rows in by_team.values():
        selected = [r for r in team_rows if r.selected]
        candidates += selected or _ordered(team_rows, "public", greater)[:final_count]
    return candidates


def compute(session: Session, challenge: Challenge, board: str) -> Leaderboard:
    greater = get_metric(challenge.metric).greater_is_better
    rows = _scored_rows(session, challenge.id)
    names, counts, last = _team_stats(session, challenge.id)
    public_best = _best_per_team(rows, "public", greater)
    public_rank = {row.team_id: rank for rank, row in enumerate(public_best, start=1)}
    if board == "public":
        best = public_best
    else:
        candidates = _private_candidates(rows, challenge.final_selection_count, greater)
        best = _best_per_team(candidates, "private", greater)
    entries = []
    for rank, row in enumerate(best, start=1):
        score = row.public if board == "public" else row.private
        assert score is not None
        entry = LeaderboardEntry(
            rank=rank,
            team=names.get(row.team_id, "?"),
            score=score,
            submissions=counts.get(row.team_id, 0),
            last_submission_at=last.get(row.team_id),
            best_submission_at=row.created_at,
            parameter_count=row.params,
            inference_seconds_per_1k=row.infer,
            peak_memory_mb=row.memory,
        )
        if board == "public":
            entry.ci_halfwidth = row.ci
        else:
            entry.public_rank = public_rank.get(row.team_id)
            entry.move = (entry.public_rank - rank) if entry.public_rank is not None else None
        entries.append(entry)
    return Leaderboard(
        board="public" if board == "public" else "private",
        challenge=challenge.slug,
        metric=challenge.metric,
        greater_is_better=greater,
        state=challenge.state,
        generated_at=utcnow(),
        entries=entries,
    )


_cache: OrderedDict[tuple[int, str, str, int], Leaderboard] = OrderedDict()
_cache_lock = threading.Lock()


def get_board(session: Session, challenge: Challenge, board: str) -> Leaderboard:
    """The board, from the per-process cache when the challenge's version matches."""
    version = session.scalar(select(Challenge.board_version).where(Challenge.id == challenge.id))
    # created_at tells apart a challenge re-created under the same id in a new database.
    key = (challenge.id, challenge.created_at.isoformat(), board, int(version or 0))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    result = compute(session, challenge, board)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def private_visible(challenge: Challenge, is_organizer: bool) -> bool:
    return is_organizer or challenge.state == ChallengeState.finalized
