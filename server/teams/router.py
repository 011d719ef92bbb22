from __future__ import annotations

from fastapi import APIRouter

from server.challenges.router import VisibleChallenge
from server.deps import CurrentUser, SessionDep
from server.teams import service
from server.teams.schemas import InviteRead, TeamJoin, TeamRead, TeamRename

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["teams"])


@router.post("/join", response_model=TeamRead)
def join(challenge: VisibleChallenge, user: CurrentUser, session: SessionDep) -> object:
    """Accept the challenge's rules and become a team of one (idempotent)."""
    team = service.join_challenge(session, challenge, user)
    return service.to_read(session, challenge, team, for_member=True)


@router.get("/team", response_model=TeamRead)
def my_team(challenge: VisibleChallenge, user: CurrentUser, session: SessionDep) -> object:
    team = service.require_team(session, challenge, user)
    return service.to_read(session, challenge, team, for_member=True)


@router.patch("/team", response_model=TeamRead)
def rename_team(
    body: TeamRename, challenge: VisibleChallenge, user: CurrentUser, session: SessionDep
) -> object:
    team = service.rename(session, challenge, user, body.name)
    return service.to_read(session, challenge, team, for_member=True)


@router.post("/team/invite", response_model=InviteRead)
def invite(
    challenge: VisibleChallenge, user: CurrentUser, session: SessionDep, rotate: bool = False
) -> object:
    """An invite code for your team (the same one until ``rotate=true``)."""
    return InviteRead(code=service.invite(session, challenge, user, rotate))


@router.post("/team/join", response_model=TeamRead)
def join_team(
    body: TeamJoin, challenge: VisibleChallenge, user: CurrentUser, session: SessionDep
) -> object:
    """Join the team whose invite code you were given (see the merge rule in the docs)."""
    team = service.join_team(session, challenge, user, body.code)
    return service.to_read(session, challenge, team, for_member=True)
