"""The boards' contents: each team's best submission on the public board, its
selected ones on the private board, in the order of ``server.leaderboard.ranking``.

Pure reads of the database; the board cache (``server.leaderboard.service``)
decides when to call :func:`compute`. A parameter-budget track's board
(``server.leaderboard.tracks``) is this same computation on the submissions
whose measured parameter count fits the budget: every query below takes the
same filter, so the track board is exactly the full board of the challenge as
if the other submissions did not exist. Whether two neighbours on the public
board are tied comes from their stored bootstraps (``server.scoring.bootstrap``);
computing those is not the board's business.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from server.baselines.schemas import BaselineEntry, label
from server.models import (
    Baseline,
    Challenge,
    Submission,
    SubmissionStatus,
    Team,
    utcnow,
)
from server.scoring import bootstrap

from .ranking import ROW_COLUMNS, Order, Row, best_per_team, private_candidates
from .schemas import Leaderboard, LeaderboardEntry
from .tracks import BoardTrack


def fits(max_parameters: int | None) -> list[ColumnElement[bool]]:
    """The filter of a track's board: checkpoints whose measured size fits (None: all)."""
    if max_parameters is None:
        return []
    return [
        Submission.kind == "checkpoint",
        Submission.parameter_count.is_not(None),
        Submission.parameter_count <= max_parameters,
    ]


def _scored_rows(session: Session, challenge_id: int, budget: int | None = None) -> list[Row]:
    rows = session.execute(
        select(*ROW_COLUMNS).where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            Submission.team_id.is_not(None),  # baseline rows never rank
            Submission.late.is_(False),
            *fits(budget),
        )
    ).all()
    return [Row(*row) for row in rows]


def public_best_rows(
    session: Session, challenge_id: int, greater_is_better: bool, budget: int | None = None
) -> list[Row]:
    """Each team's best public submission, best first, chosen by the database.

    The same order as :func:`ranking.best_per_team` (score, then the earliest, then the
    lowest id), but only one row per team comes back: at 200,000 submissions that
    is 10x less time than loading them all into Python.
    """
    score = Submission.public_score.desc() if greater_is_better else Submission.public_score.asc()
    order = (score, Submission.created_at.asc(), Submission.id.asc())
    ranked = (
        select(
            *ROW_COLUMNS,
            func.row_number().over(partition_by=Submission.team_id, order_by=order).label("place"),
        )
        .where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            Submission.late.is_(False),
            Submission.public_score.is_not(None),
            Submission.team_id.is_not(None),  # baseline rows never rank
            *fits(budget),
        )
        .subquery()
    )
    columns = [ranked.c[column.key] for column in ROW_COLUMNS]
    score_column = (
        ranked.c.public_score.desc() if greater_is_better else ranked.c.public_score.asc()
    )
    rows = session.execute(
        select(*columns)
        .where(ranked.c.place == 1)
        .order_by(score_column, ranked.c.created_at.asc(), ranked.c.id.asc())
    ).all()
    return [Row(*row) for row in rows]


def team_stats(
    session: Session, challenge_id: int, budget: int | None = None
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
            Submission.team_id.is_not(None),
            Submission.late.is_(False),
            *fits(budget),
        )
        .group_by(Submission.team_id)
    ).all()
    counts = {team_id: count for team_id, count, _ in stats if team_id is not None}
    last = {team_id: latest for team_id, _, latest in stats if team_id is not None}
    return names, counts, last


def compute(
    session: Session, challenge: Challenge, board: str, track: BoardTrack | None = None
) -> Leaderboard:
    """The board; with a track, the same board among the submissions that fit its budget."""
    budget = track.max_parameters if track is not None else None
    order = Order.of(challenge)
    greater = order.greater
    names, counts, last = team_stats(session, challenge.id, budget)
    # Disqualified teams leave every board (their submissions stay, for the hosts).
    gone = set(
        session.scalars(
            select(Team.id).where(
                Team.challenge_id == challenge.id, Team.disqualified_at.is_not(None)
            )
        )
    )
    if board == "public" and not order.tie_breakers:
        best = public_best = [
            r
            for r in public_best_rows(session, challenge.id, greater, budget)
            if r.team_id not in gone
        ]
    else:  # the private board, or ties broken by other metrics: in Python
        rows = [r for r in _scored_rows(session, challenge.id, budget) if r.team_id not in gone]
        public_best = best_per_team(rows, "public", order)
        best = public_best
        if board != "public":
            candidates = private_candidates(rows, challenge.final_selection_count, order)
            best = best_per_team(candidates, "private", order)
    public_rank = {row.team_id: rank for rank, row in enumerate(public_best, start=1)}
    tied: list[bool | None] = [None] * len(best)
    if board == "public":
        tied = list(tied_marks(session, [r.id for r in best]))
    entries = []
    # Every field goes to the constructor: setting them afterwards costs pydantic
    # far more (a third of the board's time at 10,000 teams).
    for rank, (row, tied_with_next) in enumerate(zip(best, tied, strict=True), start=1):
        score = row.public if board == "public" else row.private
        assert score is not None
        extra: dict[str, object] = {}
        if order.tie_breakers:
            extra["extra_scores"] = row.extra_values(board, order.names)
        if board == "public":
            extra |= {"ci_halfwidth": row.ci, "tied_with_next": tied_with_next}
        else:
            was = public_rank.get(row.team_id)
            extra |= {"public_rank": was, "move": (was - rank) if was is not None else None}
        entries.append(
            LeaderboardEntry(
                rank=rank,
                team=names.get(row.team_id, "?"),
                score=score,
                submissions=counts.get(row.team_id, 0),
                last_submission_at=last.get(row.team_id),
                best_submission_at=row.created_at,
                parameter_count=row.params,
                inference_seconds_per_1k=row.infer,
                peak_memory_mb=row.memory,
                **extra,
            )
        )
    return Leaderboard(
        board="public" if board == "public" else "private",
        challenge=challenge.slug,
        metric=challenge.metric,
        metrics=[challenge.metric, *order.names],
        greater_is_better=greater,
        state=challenge.state,
        generated_at=utcnow(),
        entries=entries,
        baselines=baseline_rows(session, challenge.id, board, budget),
        track=track.name if track is not None else None,
        max_parameters=budget,
    )


def baseline_rows(
    session: Session, challenge_id: int, board: str, budget: int | None = None
) -> list[BaselineEntry]:
    """The scored baselines with their score on ``board`` (the caller gates the board);
    on a track's board, those whose measured size fits its budget."""
    score = Submission.public_score if board == "public" else Submission.private_score
    rows = session.execute(
        select(Baseline.name, Baseline.description, score)
        .join(Submission, Submission.id == Baseline.submission_id)
        .where(
            Baseline.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            score.is_not(None),
            *fits(budget),
        )
        .order_by(Baseline.id)
    ).tuples()
    return [
        BaselineEntry(name=name, label=label(name), description=description, score=value)
        for name, description, value in rows
    ]


def tied_marks(session: Session, submission_ids: list[int]) -> list[bool | None]:
    """For a public board's best submissions in rank order: is each tied with the next?

    The last entry gets None (there is no next one), and so does a pair lacking a
    bootstrap (still being computed).
    """
    if len(submission_ids) < 2:
        return [None] * len(submission_ids)
    blobs = dict(
        session.execute(
            select(Submission.id, Submission.public_bootstrap).where(
                Submission.id.in_(submission_ids)
            )
        )
        .tuples()
        .all()
    )
    scores = [bootstrap.decode(blobs.get(i)) for i in submission_ids]
    marks: list[bool | None] = []
    for first, second in zip(scores, scores[1:], strict=False):
        marks.append(None if first is None or second is None else bootstrap.tied(first, second))
    return marks + [None]
