"""Teams: everyone starts as a team of one; invite codes merge teams.

Merging follows Kaggle's rule: the merged team may not have made more
submissions today than one team may make in a day. The joiner's submissions
move with them (their final selections are cleared), and their team of one
disappears. A member of a team of several cannot move to another team.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.challenges import access
from server.exceptions import Conflict, Invalid, NotFound
from server.leaderboard.bump import bump_board
from server.models import Challenge, ChallengeState, Submission, Team, TeamMember, User, utcnow
from server.submissions import quota
from server.submissions.quota import lock_teams
from server.teams.schemas import TeamRead


def team_of(session: Session, challenge: Challenge, user: User) -> Team | None:
    return session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.challenge_id == challenge.id, TeamMember.user_id == user.id)
    )


def require_team(session: Session, challenge: Challenge, user: User) -> Team:
    team = team_of(session, challenge, user)
    if team is None:
        raise NotFound.of(
            f"you have no team in '{challenge.slug}' yet: join it first "
            f"(POST /api/v1/challenges/{challenge.slug}/join)"
        )
    return team


def _free_name(session: Session, challenge: Challenge, wanted: str) -> str:
    taken = set(
        session.scalars(
            select(Team.name).where(Team.challenge_id == challenge.id, Team.name.like(f"{wanted}%"))
        )
    )
    if wanted not in taken:
        return wanted
    suffix = 2
    while f"{wanted}-{suffix}" in taken:
        suffix += 1
    return f"{wanted}-{suffix}"


def join_challenge(session: Session, challenge: Challenge, user: User) -> Team:
    """Accept the rules: become a team of one (idempotent)."""
    existing = team_of(session, challenge, user)
    if existing is not None:
        return existing
    if challenge.state in (ChallengeState.closed, ChallengeState.finalized):
        raise Conflict("the challenge is closed; it no longer takes new teams")
    access.check_may_take_part(session, user, challenge)
    # Concurrent first submissions (or joins) of one user: this write lock on the
    # user's row makes the later ones wait, then find the team the first one made.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(role=User.role)
        .execution_options(synchronize_session=False)
    )
    existing = team_of(session, challenge, user)
    if existing is not None:
        return existing
    # A concurrent join that still slips through fails on the unique (challenge, user)
    # constraint and gets a 409 asking to retry (see server.errors).
    team = Team(challenge_id=challenge.id, name=_free_name(session, challenge, user.username))
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, challenge_id=challenge.id, user_id=user.id))
    session.flush()
    return team


def invite(session: Session, challenge: Challenge, user: User, rotate: bool = False) -> str:
    team = require_team(session, challenge, user)
    if challenge.state in (ChallengeState.closed, ChallengeState.finalized):
        raise Conflict("the challenge is closed; teams can no longer change")
    if len(team.members) >= challenge.max_team_size:
        raise Conflict(f"your team is full ({challenge.max_team_size} members)")
    if team.invite_code is None or rotate:
        team.invite_code = secrets.token_urlsafe(9)
    return team.invite_code


def join_team(session: Session, challenge: Challenge, user: User, code: str) -> Team:
    if challenge.state in (ChallengeState.closed, ChallengeState.finalized):
        raise Conflict("the challenge is closed; teams can no longer change")
    target = session.scalar(
        select(Team).where(Team.invite_code == code, Team.challenge_id == challenge.id)
    )
    if target is None:
        raise NotFound.of("invite code")
    if target.disqualified_at is not None:
        raise Conflict(f"team '{target.name}' is disqualified; it takes no new members")
    current = team_of(session, challenge, user)
    if current is None:
        access.check_may_take_part(session, user, challenge)
    if current is not None and current.id == target.id:
        raise Conflict(f"you are already in team '{target.name}'")
    lock_teams(session, [target.id] + ([current.id] if current else []))
    session.refresh(target)
    members = list(session.scalars(select(TeamMember).where(TeamMember.team_id == target.id)))
    if len(members) >= challenge.max_team_size:
        raise Conflict(f"team '{target.name}' is full ({challenge.max_team_size} members)")
    if current is not None:
        current_members = session.scalars(
            select(TeamMember).where(TeamMember.team_id == current.id)
        ).all()
        if len(current_members) > 1:
            raise Conflict(
                f"you are in team '{current.name}' with others; a team of several cannot be split"
            )
        now = utcnow()
        over = [
            use
            for use in quota.usage(session, challenge, [target.id, current.id], now)
            if use.used > use.limit
        ]
        if over:
            use = over[0]
            when = f"; try again after {use.next_at.isoformat()}" if use.next_at else ""
            noun = "daily limit" if use.kind == "per_day" else "limit"
            raise Conflict(
                f"joining would give team '{target.name}' {use.used} submissions, over the "
                f"{noun} of {use.limit} {quota.label(use, challenge)}{when}"
            )
        session.execute(
            update(Submission)
            .where(Submission.team_id == current.id)
            .values(team_id=target.id, selected_for_final=False)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(TeamMember).where(TeamMember.team_id == current.id))
        session.execute(delete(Team).where(Team.id == current.id))
    session.add(TeamMember(team_id=target.id, challenge_id=challenge.id, user_id=user.id))
    session.flush()
    session.expire(target)
    bump_board(session, challenge.id)
    return target


def rename(session: Session, challenge: Challenge, user: User, name: str) -> Team:
    team = require_team(session, challenge, user)
    name = " ".join(name.split())
    if not name:
        raise Invalid("team name must not be blank")
    clash = session.scalar(
        select(Team.id).where(
            Team.challenge_id == challenge.id, Team.name == name, Team.id != team.id
        )
    )
    if clash:
        raise Conflict(f"a team named '{name}' already exists in this challenge")
    team.name = name
    bump_board(session, challenge.id)
    return team


def to_read(session: Session, challenge: Challenge, team: Team, for_member: bool) -> TeamRead:
    now = utcnow()
    uses = quota.usage(session, challenge, [team.id], now)
    members = session.scalars(
        select(User.username)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(TeamMember.joined_at)
    ).all()
    return TeamRead(
        id=team.id,
        name=team.name,
        members=list(members),
        created_at=team.created_at,
        max_team_size=challenge.max_team_size,
        submissions_today=quota.used_today(session, challenge, [team.id], now),
        daily_submission_limit=challenge.daily_submission_limit,
        remaining_today=quota.remaining_today(uses),
        quota_resets_at=quota.next_reset(now, quota.zone(challenge)),
        timezone=challenge.timezone,
        limits_left=quota.left(uses, challenge),
        invite_code=team.invite_code if for_member else None,
        disqualified=team.disqualified_at is not None,
        disqualified_reason=team.disqualified_reason if team.disqualified_at else None,
    )
