"""Who may see, manage and take part in a challenge: the rules in one place.

API routes, pages and services all ask these functions, so that a page never
shows what the API refuses (and the organizer console can reuse them).

- An admin manages every challenge. Its creator and its hosts manage it.
- Managers see a challenge in every state and visibility; nobody else sees drafts.
- ``public`` and ``unlisted`` challenges are visible to everyone (only public ones
  are listed); a ``private`` one only to its managers, users invited by name or
  through its invite link, users whose email (set by an organizer) is in one of
  its ``allowed_email_domains``, and its team members. To everyone else it does
  not exist: 404, with the same answer as a slug that was never created.
- Managers may not take part (they see the hidden scores). With
  ``join_requires_approval`` a participant needs a host's approval (or an
  invitation by name) before joining, submitting or downloading files.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.exceptions import Forbidden
from server.models import (
    AccessStatus,
    Challenge,
    ChallengeAccess,
    ChallengeHost,
    ChallengeState,
    Team,
    TeamMember,
    User,
    Visibility,
)

APPROVAL_NEEDED = (
    "this challenge admits participants after a host's approval: ask to join "
    "(POST /api/v1/challenges/{slug}/join) and wait until a host approves you"
)


def is_host(session: Session, user: User | None, challenge: Challenge) -> bool:
    """The creator or a host of this challenge (admins are not hosts unless added)."""
    if user is None:
        return False
    if challenge.created_by_id == user.id:
        return True
    return (
        session.scalar(
            select(ChallengeHost.id).where(
                ChallengeHost.challenge_id == challenge.id, ChallengeHost.user_id == user.id
            )
        )
        is not None
    )


def can_manage(session: Session, user: User | None, challenge: Challenge) -> bool:
    """Files, solution, open/close, rescore, finalize, export, hosts, invitations, moderation."""
    if user is None or user.disabled:
        return False
    return user.is_admin or is_host(session, user, challenge)


def managed_ids(session: Session, user: User) -> list[int] | None:
    """Ids of the challenges the user manages; None for an admin (all of them)."""
    if user.is_admin:
        return None
    created = session.scalars(select(Challenge.id).where(Challenge.created_by_id == user.id))
    hosted = session.scalars(
        select(ChallengeHost.challenge_id).where(ChallengeHost.user_id == user.id)
    )
    return sorted({*created, *hosted})


def access_of(session: Session, user: User, challenge: Challenge) -> ChallengeAccess | None:
    return session.scalar(
        select(ChallengeAccess).where(
            ChallengeAccess.challenge_id == challenge.id, ChallengeAccess.user_id == user.id
        )
    )


def email_allowed(user: User, challenge: Challenge) -> bool:
    """The account's email (set by an organizer) is in one of the allowed domains."""
    if not user.email or not challenge.allowed_email_domains:
        return False
    domain = user.email.rsplit("@", 1)[-1].lower()
    return domain in {d.lower() for d in challenge.allowed_email_domains}


def is_member(session: Session, user: User, challenge: Challenge) -> bool:
    return (
        session.scalar(
            select(TeamMember.id).where(
                TeamMember.challenge_id == challenge.id, TeamMember.user_id == user.id
            )
        )
        is not None
    )


def can_view(session: Session, user: User | None, challenge: Challenge) -> bool:
    """Whether the challenge exists for this user (else every route answers 404)."""
    if challenge.state != ChallengeState.draft and challenge.visibility != Visibility.private:
        return True
    if user is None or user.disabled:
        return False
    if can_manage(session, user, challenge):
        return True
    if challenge.state == ChallengeState.draft:
        return False
    return invited(session, user, challenge)


def invited(session: Session, user: User, challenge: Challenge) -> bool:
    """Let into a private challenge: by name, by link, by email domain, or a member."""
    access = access_of(session, user, challenge)
    if access is not None and access.status != AccessStatus.rejected:
        return True
    return email_allowed(user, challenge) or is_member(session, user, challenge)


def is_listed(session: Session, user: User | None, challenge: Challenge) -> bool:
    """Shown on / and in GET /challenges: unlisted ones only to their managers."""
    if challenge.visibility == Visibility.unlisted and challenge.state != ChallengeState.draft:
        return can_manage(session, user, challenge)
    return can_view(session, user, challenge)


def standing(
    session: Session, user: User | None, challenge: Challenge, team: Team | None
) -> dict[str, Any]:
    """What a page says of the viewer: ``manages``, ``join_status`` (a request without a
    team: pending, rejected...), ``my_team_disqualified`` (the reason)."""
    # A request to join matters only to a viewer without a team: no query for the others.
    request = access_of(session, user, challenge) if user is not None and team is None else None
    return {
        "manages": can_manage(session, user, challenge),
        "join_status": request.status if request is not None and team is None else None,
        "my_team_disqualified": team.disqualified_reason if team and team.disqualified_at else None,
    }


def page_standing(session: Session, user: User, challenge: Challenge) -> dict[str, Any]:
    """``standing`` and ``my_team`` (the team's name) for a signed-in page, in one statement.

    The challenge page reads this per view (``server.web.router``): the viewer's team,
    host row and access request as scalar subqueries of one SELECT, the same answers
    as ``teams.team_of``, ``can_manage`` and ``standing`` (tests/web/test_page_cache.py).
    """

    def team_column(column: Any) -> Any:
        return (
            select(column)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.challenge_id == challenge.id, TeamMember.user_id == user.id)
            .limit(1)
            .scalar_subquery()
        )

    host = (
        select(ChallengeHost.id)
        .where(ChallengeHost.challenge_id == challenge.id, ChallengeHost.user_id == user.id)
        .limit(1)
        .scalar_subquery()
    )
    request = (
        select(ChallengeAccess.status)
        .where(ChallengeAccess.challenge_id == challenge.id, ChallengeAccess.user_id == user.id)
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(
        select(
            team_column(Team.name),
            team_column(Team.disqualified_at),
            team_column(Team.disqualified_reason),
            host,
            request,
        )
    ).one()
    team_name, disqualified_at, reason, host_id, request_status = row
    hosts = challenge.created_by_id == user.id or host_id is not None
    return {
        "my_team": team_name,
        "manages": not user.disabled and (user.is_admin or hosts),
        "join_status": request_status if team_name is None else None,
        "my_team_disqualified": reason if team_name is not None and disqualified_at else None,
    }


def approved(session: Session, user: User, challenge: Challenge) -> bool:
    """May take part in a challenge that requires approval."""
    if is_member(session, user, challenge):
        return True
    access = access_of(session, user, challenge)
    return access is not None and access.status == AccessStatus.approved


def check_may_take_part(session: Session, user: User, challenge: Challenge) -> None:
    """Refuse managers (they see hidden scores) and, where approval is needed, the unapproved."""
    if can_manage(session, user, challenge):
        raise Forbidden(
            "you manage this challenge (creator, host or admin): managers cannot take part in it"
        )
    if challenge.join_requires_approval and not approved(session, user, challenge):
        access = access_of(session, user, challenge)
        if access is not None and access.status == AccessStatus.rejected:
            raise Forbidden("a host of this challenge declined your request to join it")
        raise Forbidden(APPROVAL_NEEDED.format(slug=challenge.slug))


def check_may_download(session: Session, user: User, challenge: Challenge) -> None:
    """Files of a challenge that requires approval are for approved participants."""
    if not challenge.join_requires_approval or can_manage(session, user, challenge):
        return
    if not approved(session, user, challenge):
        raise Forbidden(APPROVAL_NEEDED.format(slug=challenge.slug))
