"""The people of a challenge: its hosts, invitations, join requests and participants."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.challenges import access
from server.challenges.people_schemas import HostRead, ParticipantRead
from server.exceptions import Conflict, Forbidden, Invalid, NotFound
from server.leaderboard.service import get_board
from server.models import (
    AccessStatus,
    Challenge,
    ChallengeAccess,
    ChallengeHost,
    ChallengeState,
    Submission,
    SubmissionStatus,
    Team,
    TeamMember,
    User,
    utcnow,
)
from server.scoring.metrics import get_metric
from server.teams.service import join_challenge

MAX_INVITES = 5000


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound.of(f"user '{username}'")
    return user


# ---- hosts -----------------------------------------------------------------------------


def hosts(session: Session, challenge: Challenge) -> list[HostRead]:
    """The creator first, then the hosts in the order they were added."""
    rows: list[HostRead] = []
    if challenge.created_by_id is not None:
        creator = session.get(User, challenge.created_by_id)
        if creator is not None:
            rows.append(
                HostRead(
                    username=creator.username,
                    display_name=creator.display_name,
                    creator=True,
                    added_at=challenge.created_at,
                )
            )
    for host in session.scalars(
        select(ChallengeHost)
        .where(ChallengeHost.challenge_id == challenge.id)
        .order_by(ChallengeHost.id)
    ):
        if host.user_id != challenge.created_by_id:
            rows.append(
                HostRead(
                    username=host.user.username,
                    display_name=host.user.display_name,
                    creator=False,
                    added_at=host.created_at,
                )
            )
    return rows


def add_host(session: Session, challenge: Challenge, username: str) -> list[HostRead]:
    """Make ``username`` a host: it manages the challenge as its creator does."""
    user = _user(session, username)
    if user.disabled:
        raise Conflict(f"'{user.username}' is disabled")
    if access.is_member(session, user, challenge):
        raise Conflict(
            f"'{user.username}' takes part in this challenge; a participant cannot host it"
        )
    if not access.is_host(session, user, challenge):
        session.add(ChallengeHost(challenge_id=challenge.id, user_id=user.id))
        session.flush()
    return hosts(session, challenge)


def remove_host(session: Session, challenge: Challenge, username: str) -> None:
    user = _user(session, username)
    if challenge.created_by_id == user.id:
        raise Conflict("the creator of a challenge is always one of its hosts")
    host = session.scalar(
        select(ChallengeHost).where(
            ChallengeHost.challenge_id == challenge.id, ChallengeHost.user_id == user.id
        )
    )
    if host is None:
        raise NotFound.of(f"host '{username}' of this challenge")
    session.delete(host)


# ---- invitations and requests ----------------------------------------------------------


def _set_access(session: Session, challenge: Challenge, user: User, status: str) -> ChallengeAccess:
    row = access.access_of(session, user, challenge)
    if row is None:
        row = ChallengeAccess(challenge_id=challenge.id, user_id=user.id, status=status)
        session.add(row)
    else:
        row.status = status
    if status in (AccessStatus.approved, AccessStatus.rejected):
        row.decided_at = utcnow()
    session.flush()
    return row


def invite_users(session: Session, challenge: Challenge, usernames: list[str]) -> list[str]:
    """Invite accounts by name (they may see the challenge and join it without approval)."""
    wanted = list(dict.fromkeys(u.strip() for u in usernames if u.strip()))
    if not wanted or len(wanted) > MAX_INVITES:
        raise Invalid(f"give between 1 and {MAX_INVITES} usernames")
    found = {
        u.username.lower(): u
        for u in session.scalars(
            select(User).where(func.lower(User.username).in_([w.lower() for w in wanted]))
        )
    }
    missing = [w for w in wanted if w.lower() not in found]
    if missing:
        raise Invalid(f"no such users (nobody was invited): {', '.join(missing[:50])}")
    invited = []
    for name in wanted:
        user = found[name.lower()]
        if access.is_host(session, user, challenge):
            continue
        _set_access(session, challenge, user, AccessStatus.approved)
        invited.append(user.username)
    return invited


def invite_link(session: Session, challenge: Challenge, rotate: bool = False) -> str:
    """The code of /c/{slug}/join/{code} (the same until rotated; rotating voids the old)."""
    if challenge.invite_code is None or rotate:
        challenge.invite_code = secrets.token_urlsafe(12)
        session.flush()
    return challenge.invite_code


def invited_challenge(session: Session, slug: str, code: str) -> Challenge:
    """The challenge whose invite link holds ``code``; 404 (as for no such slug) otherwise."""
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
    if (
        challenge is None
        or challenge.invite_code is None
        or not secrets.compare_digest(challenge.invite_code.encode(), code.encode()[:64])
        or challenge.state == ChallengeState.draft
    ):
        raise NotFound.of(f"challenge '{slug}'")
    return challenge


def redeem_invite(session: Session, slug: str, user: User, code: str) -> Challenge:
    """Let ``user`` into the challenge whose invite link holds ``code`` (404 otherwise)."""
    challenge = invited_challenge(session, slug, code)
    row = access.access_of(session, user, challenge)
    if row is not None and row.status == AccessStatus.rejected:
        raise Forbidden("a host of this challenge declined your request to join it")
    if row is None and not access.can_manage(session, user, challenge):
        _set_access(session, challenge, user, AccessStatus.invited)
    return challenge


def request_join(session: Session, challenge: Challenge, user: User) -> ChallengeAccess | None:
    """Where approval is needed and not yet given: record a pending request (else None)."""
    if not challenge.join_requires_approval or access.can_manage(session, user, challenge):
        return None
    if access.approved(session, user, challenge):
        return None
    row = access.access_of(session, user, challenge)
    if row is not None and row.status == AccessStatus.rejected:
        raise Forbidden("a host of this challenge declined your request to join it")
    if challenge.state in (ChallengeState.closed, ChallengeState.finalized):
        raise Conflict("the challenge is closed; it no longer takes new teams")
    return _set_access(session, challenge, user, AccessStatus.pending)


def decide(session: Session, challenge: Challenge, username: str, approve: bool) -> str:
    """Approve (the user becomes a team of one) or reject a request to join."""
    user = _user(session, username)
    if access.is_member(session, user, challenge):
        if approve:
            return "active"
        raise Conflict(
            f"'{user.username}' already takes part; disqualify the team instead of rejecting"
        )
    if access.can_manage(session, user, challenge):
        raise Conflict(f"'{user.username}' manages this challenge")
    row = access.access_of(session, user, challenge)
    if row is None:
        raise NotFound.of(f"a request to join from '{user.username}'")
    _set_access(
        session, challenge, user, AccessStatus.approved if approve else AccessStatus.rejected
    )
    if approve and challenge.state == ChallengeState.open and row.status == AccessStatus.approved:
        join_challenge(session, challenge, user)
        return "active"
    return str(row.status)


# ---- participants ----------------------------------------------------------------------


@dataclass
class _TeamFacts:
    name: str
    disqualified_reason: str | None
    submissions: int
    best_public: float | None


def _team_facts(session: Session, challenge: Challenge) -> dict[int, _TeamFacts]:
    greater = get_metric(challenge.metric).greater_is_better
    best = func.max(Submission.public_score) if greater else func.min(Submission.public_score)
    counts = dict(
        session.execute(
            select(Submission.team_id, func.count(Submission.id))
            .where(Submission.challenge_id == challenge.id)
            .group_by(Submission.team_id)
        )
        .tuples()
        .all()
    )
    scores = dict(
        session.execute(
            select(Submission.team_id, best)
            .where(
                Submission.challenge_id == challenge.id,
                Submission.status == SubmissionStatus.scored,
            )
            .group_by(Submission.team_id)
        )
        .tuples()
        .all()
    )
    return {
        team.id: _TeamFacts(
            team.name,
            team.disqualified_reason if team.disqualified_at else None,
            counts.get(team.id, 0),
            scores.get(team.id),
        )
        for team in session.scalars(select(Team).where(Team.challenge_id == challenge.id))
    }


def participants(
    session: Session, challenge: Challenge, status: str | None = None
) -> list[ParticipantRead]:
    """Every member (with its team's numbers) and every invitation or request without a team.

    The private score and rank appear once the challenge is finalized.
    """
    facts = _team_facts(session, challenge)
    public_rank = {e.team: e.rank for e in get_board(session, challenge, "public").entries}
    private: dict[str, tuple[int, float]] = {}
    if challenge.state == ChallengeState.finalized:
        board = get_board(session, challenge, "private")
        private = {e.team: (e.rank, e.score) for e in board.entries}
    rows: list[ParticipantRead] = []
    members = session.execute(
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.challenge_id == challenge.id)
        .order_by(TeamMember.team_id, TeamMember.joined_at)
    ).tuples()
    seen: set[int] = set()
    for member, user in members:
        seen.add(user.id)
        team = facts[member.team_id]
        rank, score = private.get(team.name, (None, None))
        rows.append(
            ParticipantRead(
                username=user.username,
                display_name=user.display_name,
                email=user.email,
                student_id=user.student_id,
                status="disqualified" if team.disqualified_reason is not None else "active",
                team=team.name,
                submissions=team.submissions,
                best_public_score=team.best_public,
                public_rank=public_rank.get(team.name),
                private_score=score,
                private_rank=rank,
                disqualified_reason=team.disqualified_reason,
                joined_at=member.joined_at,
            )
        )
    requests = session.execute(
        select(ChallengeAccess, User)
        .join(User, User.id == ChallengeAccess.user_id)
        .where(ChallengeAccess.challenge_id == challenge.id)
        .order_by(ChallengeAccess.id)
    ).tuples()
    for row, user in requests:
        if user.id in seen:
            continue
        rows.append(
            ParticipantRead(
                username=user.username,
                display_name=user.display_name,
                email=user.email,
                student_id=user.student_id,
                status="invited" if row.status == AccessStatus.approved else row.status,
                joined_at=row.created_at,
            )
        )
    if status is not None:
        rows = [r for r in rows if r.status == status]
    return rows
