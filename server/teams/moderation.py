"""Moderation: a disqualified team leaves every board; its submissions and the reason stay."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Conflict, Invalid, NotFound
from server.leaderboard.bump import bump_board
from server.models import Challenge, Team, utcnow


def team_named(session: Session, challenge: Challenge, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.challenge_id == challenge.id, Team.name == name))
    if team is None:
        raise NotFound.of(f"team '{name}'")
    return team


def disqualify(session: Session, challenge: Challenge, name: str, reason: str) -> Team:
    """Take a team off the public and private boards, the exports' ranking and the webhooks."""
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("give a reason: the team and the hosts see it")
    team = team_named(session, challenge, name)
    if team.disqualified_at is None:
        team.disqualified_at = utcnow()
    team.disqualified_reason = reason
    bump_board(session, challenge.id)
    return team


def reinstate(session: Session, challenge: Challenge, name: str) -> Team:
    team = team_named(session, challenge, name)
    if team.disqualified_at is None:
        raise Conflict(f"team '{name}' is not disqualified")
    team.disqualified_at = None
    team.disqualified_reason = ""
    bump_board(session, challenge.id)
    return team


def disqualified_ids(session: Session, challenge_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Team.id).where(
                Team.challenge_id == challenge_id, Team.disqualified_at.is_not(None)
            )
        )
    )
