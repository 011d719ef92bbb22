"""Two of a team's submissions side by side: fact sheets, curves and meter readings.

Only the viewer's own team's submissions (or, for the challenge's managers,
any of the challenge's): anything else is a 404, the same answer as for a
submission that does not exist. Private scores are the caller's business:
pages show them only after finalize.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from server.challenges import access
from server.exceptions import NotFound
from server.models import Challenge, Submission, User
from server.teaching.factsheets import fact_rows
from server.teaching.meter import MeterPoint, meter
from server.teams.service import team_of


@dataclass(frozen=True)
class FactRow:
    label: str
    a: str | None
    b: str | None

    @property
    def differs(self) -> bool:
        return self.a != self.b


@dataclass(frozen=True)
class Comparison:
    a: Submission
    b: Submission
    facts: list[FactRow]
    meter: dict[int, MeterPoint]


def own_submission(
    session: Session, challenge: Challenge, viewer: User, submission_id: int
) -> Submission:
    """A submission of the viewer's team in ``challenge`` (any, for its managers); else 404."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.challenge_id != challenge.id:
        raise NotFound.of(f"submission {submission_id}")
    if access.can_manage(session, viewer, challenge):
        return submission
    team = team_of(session, challenge, viewer)
    if team is None or submission.team_id != team.id:
        raise NotFound.of(f"submission {submission_id}")
    return submission


def fact_table(a: Submission, b: Submission) -> list[FactRow]:
    """Every fact either sheet holds, in the order the sheets give them (a's first)."""
    facts_a, facts_b = dict(fact_rows(a)), dict(fact_rows(b))
    labels = list(facts_a) + [label for label in facts_b if label not in facts_a]
    return [FactRow(label, facts_a.get(label), facts_b.get(label)) for label in labels]


def compare(
    session: Session, challenge: Challenge, viewer: User, a_id: int, b_id: int
) -> Comparison:
    a = own_submission(session, challenge, viewer, a_id)
    b = own_submission(session, challenge, viewer, b_id)
    points = {point.id: point for point in meter(challenge, [a, b] if a.id != b.id else [a])}
    return Comparison(a=a, b=b, facts=fact_table(a, b), meter=points)
