"""The overfitting meter: a team's own validation score against its public score.

A submission is marked when its public score beats its validation score by more
than the public score's bootstrap interval (95% half-width): either it was tuned
to the public board, or the team's validation split leaks. Private scores join
only once the challenge is finalized.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Challenge, ChallengeState, Submission, SubmissionStatus, Team
from server.scoring.metrics import get_metric
from server.submissions.metadata import is_number

MARK = "probably tuned to the public board, or the validation split leaks"


@dataclass(frozen=True)
class MeterPoint:
    id: int
    val_metric: float
    public_score: float
    public_ci_halfwidth: float | None
    private_score: float | None
    gap: float  # how much public beats validation (positive: public is better)
    marked: bool
    reading: str


def meter(challenge: Challenge, submissions: Iterable[Submission]) -> list[MeterPoint]:
    """Every scored submission with a validation score, oldest first."""
    greater = get_metric(challenge.metric).greater_is_better
    revealed = challenge.state == ChallengeState.finalized
    points = []
    for s in sorted(submissions, key=lambda s: (s.created_at, s.id)):
        raw = (s.run_metadata or {}).get("val_metric")
        if s.status != SubmissionStatus.scored or s.public_score is None or not is_number(raw):
            continue
        val = float(raw)  # type: ignore[arg-type]  # is_number checked it
        gap = (s.public_score - val) if greater else (val - s.public_score)
        ci = s.public_ci_halfwidth or 0.0
        marked = gap > ci
        interval = "no interval yet" if s.public_ci_halfwidth is None else f"interval ±{ci:.2g}"
        if marked:
            reading = f"public beats validation by {gap:.4g} ({interval}): {MARK}"
        elif gap < -ci:
            reading = f"public is {-gap:.4g} below validation: the model may overfit its split"
        else:
            reading = "public agrees with validation within the interval"
        points.append(
            MeterPoint(
                id=s.id,
                val_metric=val,
                public_score=s.public_score,
                public_ci_halfwidth=s.public_ci_halfwidth,
                private_score=s.private_score if revealed else None,
                gap=gap,
                marked=marked,
                reading=reading,
            )
        )
    return points


def meter_data(challenge: Challenge, submissions: Iterable[Submission]) -> list[dict[str, Any]]:
    return [asdict(point) for point in meter(challenge, submissions)]


def team_meter(
    session: Session, challenge: Challenge, team: Team, with_details: bool
) -> list[dict[str, Any]]:
    """The meter of a team's page: its scored submissions, late ones only for the team
    itself and the hosts (a public page leaves them out, as its history does)."""
    query = select(Submission).where(
        Submission.team_id == team.id, Submission.status == SubmissionStatus.scored
    )
    if not with_details:
        query = query.where(Submission.late.is_(False))
    return meter_data(challenge, session.scalars(query))


def install(env: Environment) -> None:
    env.globals.update(overfitting_meter=meter_data)
