from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from server.challenges import people
from server.challenges.access import APPROVAL_NEEDED
from server.challenges.router import VisibleChallenge
from server.challenges.service import get_challenge
from server.deps import CurrentUser, SessionDep
from server.teams import service
from server.teams.schemas import InviteRead, JoinPending, TeamJoin, TeamRead, TeamRename

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["teams"])


@router.post(
    "/join",
    response_model=TeamRead,
    responses={202: {"model": JoinPending, "description": "Waiting for a host's approval"}},
)
def join(
    slug: str,
    user: CurrentUser,
    session: SessionDep,
    code: Annotated[
        str | None, Query(max_length=64, description="The code of a challenge's invite link")
    ] = None,
) -> object:
    """Accept the challenge's rules and become a team of one (idempotent).

    Where the challenge requires approval, this asks to join (202, pending) until a
    host approves. ``code`` is the code of an invite link (/c/{slug}/join/{code}).
    """
    if code is not None:
        challenge = people.redeem_invite(session, slug, user, code)
    challenge = get_challenge(session, slug, user)
    pending = people.request_join(session, challenge, user)
    if pending is not None:
        body = JoinPending(
            challenge=challenge.slug,
            status=pending.status,
            detail=APPROVAL_NEEDED.format(slug=challenge.slug),
        )
        return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED)
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
