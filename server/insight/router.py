"""Routes: the shake-up (API and page) and the organizers' webhook settings."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from server.challenges import access
from server.challenges import service as challenges
from server.challenges.router import ManagedChallenge, VisibleChallenge
from server.deps import OptionalUser, SessionDep, SettingsDep
from server.exceptions import Conflict, Forbidden
from server.insight import notify
from server.insight.schemas import ShakeUp, Webhooks, WebhooksTestRead
from server.insight.shakeup import shake_up
from server.leaderboard.service import private_visible
from server.models import Challenge, ChallengeState
from server.web.context import PageDep, PageRoute

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["insight"])
pages = APIRouter(include_in_schema=False, route_class=PageRoute)

NOT_YET = "the shake-up is revealed when the challenge is finalized (it needs the private board)"


@router.get("/shake-up", response_model=ShakeUp)
def get_shake_up(challenge: VisibleChallenge, session: SessionDep, viewer: OptionalUser) -> object:
    """Public against private rank and score for every team, once finalized.

    Organizers may look before (it shows private ranks); everyone else gets 403.
    """
    if not private_visible(challenge, access.can_manage(session, viewer, challenge)):
        raise Forbidden(NOT_YET)
    return shake_up(session, challenge)


@router.get("/webhooks", response_model=Webhooks)
def get_webhooks(challenge: ManagedChallenge) -> object:
    """Organizers: the challenge's Discord and Slack webhook URLs (set them with PATCH)."""
    return Webhooks.model_validate(notify.configured(challenge.webhooks))


@router.post("/webhooks/test", response_model=WebhooksTestRead)
def test_webhooks(challenge: ManagedChallenge, settings: SettingsDep) -> object:
    """Organizers: send a test message to the configured webhooks (delivered in the background)."""
    if not notify.configured(challenge.webhooks):
        raise Conflict('no webhook is set: PATCH the challenge with {"webhooks": {...}} first')
    return WebhooksTestRead(queued=notify.send_test_message(challenge, settings))


def _chart_points(board: ShakeUp) -> list[dict[str, object]]:
    return [
        {"team": e.team, "x": e.public_rank, "y": e.private_rank, "move": e.move}
        for e in board.entries
        if e.public_rank is not None and e.private_rank is not None
    ]


@pages.get("/c/{slug}/shake-up", response_class=HTMLResponse)
def shake_up_page(slug: str, page: PageDep) -> Response:
    challenge: Challenge = challenges.get_challenge(page.session, slug, page.user)
    # Pages show private ranks only after finalization, even to organizers (projectors).
    if challenge.state != ChallengeState.finalized:
        raise Forbidden(NOT_YET)
    board = shake_up(page.session, challenge)
    teams = len(board.entries)
    return page.render(
        "shakeup.html",
        challenge=challenge,
        board=board,
        chart={
            "points": _chart_points(board),
            "teams": max(teams, 1),
            "metric": challenge.metric,
        },
        movers=sorted(
            (e for e in board.entries if e.move), key=lambda e: abs(e.move or 0), reverse=True
        )[:3],
    )
