"""Routes of a challenge's people: hosts, invitations, join requests, participants,
moderation. Every one is for the challenge's managers (creator, hosts, admins)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status

from server.challenges import people
from server.challenges.people_schemas import (
    HostAdd,
    HostRead,
    InvitedRead,
    InviteLinkRead,
    InviteUsers,
    ParticipantRead,
)
from server.challenges.router import ManagedChallenge
from server.deps import SessionDep, SettingsDep
from server.teams import moderation
from server.teams.schemas import Disqualify, TeamRead
from server.teams.service import to_read

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["people"])


@router.get("/hosts", response_model=list[HostRead])
def list_hosts(challenge: ManagedChallenge, session: SessionDep) -> object:
    """The creator and the hosts: each manages the challenge."""
    return people.hosts(session, challenge)


@router.post("/hosts", response_model=list[HostRead], status_code=status.HTTP_201_CREATED)
def add_host(body: HostAdd, challenge: ManagedChallenge, session: SessionDep) -> object:
    """Add a host: it manages this challenge exactly as its creator does, and may not
    take part in it."""
    return people.add_host(session, challenge, body.username)


@router.delete("/hosts/{username}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def remove_host(username: str, challenge: ManagedChallenge, session: SessionDep) -> Response:
    people.remove_host(session, challenge, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/participants", response_model=list[ParticipantRead])
def participants(
    challenge: ManagedChallenge,
    session: SessionDep,
    status: Literal["active", "pending", "invited", "rejected", "disqualified"] | None = None,
) -> object:
    """Every member (username, display name, email, student id, team, submissions, best
    public score; private score and rank once finalized), and invitations and requests."""
    return people.participants(session, challenge, status)


@router.post("/participants", response_model=InvitedRead)
def invite(body: InviteUsers, challenge: ManagedChallenge, session: SessionDep) -> object:
    """Invite accounts by username: they see the challenge (even private) and may join
    without approval. All or nothing: an unknown username is a 422."""
    return InvitedRead(invited=people.invite_users(session, challenge, body.usernames))


@router.post("/participants/{username}/approve", response_model=ParticipantRead)
def approve(username: str, challenge: ManagedChallenge, session: SessionDep) -> object:
    """Approve a request to join: the user becomes a team of one (if the challenge is open)."""
    people.decide(session, challenge, username, approve=True)
    return _row(session, challenge, username)


@router.post("/participants/{username}/reject", response_model=ParticipantRead)
def reject(username: str, challenge: ManagedChallenge, session: SessionDep) -> object:
    """Reject a request to join (the user cannot ask again)."""
    people.decide(session, challenge, username, approve=False)
    return _row(session, challenge, username)


def _row(session: SessionDep, challenge: ManagedChallenge, username: str) -> ParticipantRead:
    return next(
        r for r in people.participants(session, challenge) if r.username.lower() == username.lower()
    )


@router.post("/invite-link", response_model=InviteLinkRead)
def invite_link(
    challenge: ManagedChallenge,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    rotate: bool = False,
) -> object:
    """The invite link /c/{slug}/join/{code}: the same until ``rotate=true`` voids it."""
    code = people.invite_link(session, challenge, rotate)
    path = f"/c/{challenge.slug}/join/{code}"
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return InviteLinkRead(code=code, path=path, url=base + path)


@router.post("/teams/{team:path}/disqualify", response_model=TeamRead)
def disqualify(
    team: str, body: Disqualify, challenge: ManagedChallenge, session: SessionDep
) -> object:
    """Take a team off every board, the exports' ranking and the webhooks (its
    submissions and the reason stay; the team sees the reason)."""
    found = moderation.disqualify(session, challenge, team, body.reason)
    return to_read(session, challenge, found, for_member=False)


@router.post("/teams/{team:path}/reinstate", response_model=TeamRead)
def reinstate(team: str, challenge: ManagedChallenge, session: SessionDep) -> object:
    found = moderation.reinstate(session, challenge, team)
    return to_read(session, challenge, found, for_member=False)
