"""The organizer console: /manage pages (first slice of the browser console).

The pages call the same service functions as the API's management routes
(``server.challenges.service``, ``server.submissions.service``) behind the
same permission check: the organizer role (admins included), then the
challenge by slug. Every action is a POST form with the CSRF token, and
answers with a confirmation page that says what will happen until the form
comes back with ``confirmed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts.sessions import CSRF_FIELD
from server.challenges import access
from server.challenges import service as challenges
from server.challenges.schemas import ChallengeUpdate
from server.exceptions import Forbidden
from server.models import Challenge, ChallengeState, Submission, SubmissionStatus, User, utcnow
from server.models.submission import UNFINISHED
from server.submissions.quota import day_start, zone
from server.submissions.service import rescore_all
from server.web.context import Page, PageDep, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Action = Literal["open", "close", "rescore", "finalize"]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]
FAILURE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Consequence:
    title: str
    button: str
    what: str
    irreversible: bool = False


CONSEQUENCES: dict[str, Consequence] = {
    "open": Consequence(
        "Open the challenge",
        "Open it",
        "Opening lets participants join and submit until the deadline. "
        "An opened challenge cannot go back to draft.",
    ),
    "close": Consequence(
        "Close the challenge",
        "Close it now",
        "Closing stops new submissions now, before the deadline. "
        "Submissions already received are still scored; you can reopen it later "
        "if the deadline is still in the future.",
    ),
    "rescore": Consequence(
        "Rescore every submission",
        "Rescore all",
        "Rescoring queues every submission again against the current solution; "
        "scores and leaderboards are blank until the workers finish.",
    ),
    "finalize": Consequence(
        "Finalize the challenge",
        "Finalize",
        "Finalizing reveals the private leaderboard to everyone; it cannot be undone.",
        irreversible=True,
    ),
}

# What each action needs the challenge to be in, to offer its button.
OFFERED: dict[str, tuple[str, ...]] = {
    "open": (ChallengeState.draft, ChallengeState.closed),
    "close": (ChallengeState.open,),
    "rescore": (ChallengeState.open, ChallengeState.closed),
    "finalize": (ChallengeState.closed,),
}


def require_organizer(page: Page) -> User:
    """The API's management check (``server.deps.get_organizer``), for pages."""
    user = page.require_user()
    if not user.is_organizer:
        raise Forbidden("organizer role required")
    return user


def managed_challenge(page: Page, slug: str) -> Challenge:
    """The challenge as the API's ``ManagedChallenge`` finds it: any signed-in user
    who manages it (a host needs no organizer role); 404 hidden, 403 seen only."""
    user = page.require_user()
    return challenges.get_managed(page.session, slug, user)


def managed_challenges(page: Page) -> list[Challenge]:
    """Every challenge the viewer manages; 403 for one who manages none and may not create."""
    user = page.require_user()
    ids = access.managed_ids(page.session, user)  # None: an admin, who manages all
    found = [
        c for c in challenges.list_challenges(page.session, user) if ids is None or c.id in ids
    ]
    if not found and not user.is_organizer:
        raise Forbidden("organizer role required")
    return found


@dataclass(frozen=True)
class ConsoleRow:
    challenge: Challenge
    teams: int
    submissions: int
    submissions_today: int
    queued: int
    failed_last_hour: int


def _grouped(session: Session, ids: list[int], *conditions: object) -> dict[int, int]:
    query = (
        select(Submission.challenge_id, func.count(Submission.id))
        .where(Submission.challenge_id.in_(ids), *conditions)  # type: ignore[arg-type]
        .group_by(Submission.challenge_id)
    )
    return dict(session.execute(query).tuples().all())


def console_rows(session: Session, found: list[Challenge]) -> list[ConsoleRow]:
    """Per challenge: teams, submissions, today's submissions, queue, recent failures."""
    ids = [c.id for c in found]
    if not ids:
        return []
    now = utcnow()
    totals = challenges.counts(session, ids)
    # "Today" as the daily limit counts it: since midnight in the challenge's timezone.
    today = {
        c.id: _grouped(session, [c.id], Submission.created_at >= day_start(now, zone(c))).get(
            c.id, 0
        )
        for c in found
    }
    queued = _grouped(session, ids, Submission.status.in_(UNFINISHED))
    failed = _grouped(
        session,
        ids,
        Submission.status == SubmissionStatus.failed,
        func.coalesce(Submission.scored_at, Submission.created_at) >= now - FAILURE_WINDOW,
    )
    return [
        ConsoleRow(
            challenge=c,
            teams=totals[c.id][0],
            submissions=totals[c.id][1],
            submissions_today=today.get(c.id, 0),
            queued=queued.get(c.id, 0),
            failed_last_hour=failed.get(c.id, 0),
        )
        for c in found
    ]


def perform(session: Session, challenge: Challenge, action: str) -> None:
    """Run one lifecycle action through the API's own service functions."""
    if action == "open":
        challenges.update_challenge(session, challenge, ChallengeUpdate(state="open"))
    elif action == "close":
        challenges.update_challenge(session, challenge, ChallengeUpdate(state="closed"))
    elif action == "rescore":
        rescore_all(session, challenge)
    else:
        challenges.finalize(session, challenge)


@router.get("/manage", response_class=HTMLResponse)
def console(page: PageDep) -> Response:
    found = managed_challenges(page)
    return page.render("manage/index.html", rows=console_rows(page.session, found))


@router.get("/manage/{slug}", response_class=HTMLResponse)
def manage_challenge(slug: str, page: PageDep, done: Action | None = None) -> Response:
    challenge = managed_challenge(page, slug)
    (row,) = console_rows(page.session, [challenge])
    offered = [a for a, states in OFFERED.items() if challenge.state in states]
    return page.render(
        "manage/challenge.html",
        challenge=challenge,
        row=row,
        offered=offered,
        consequences=CONSEQUENCES,
        notice=_DONE.get(done) if done else None,
    )


_DONE = {
    "open": "The challenge is open.",
    "close": "The challenge is closed: no new submissions.",
    "rescore": "Every submission is queued for rescoring.",
    "finalize": "The challenge is finalized: the private leaderboard is public.",
}


@router.get("/manage/{slug}/{action}", response_class=HTMLResponse)
def confirm(slug: str, action: Action, page: PageDep) -> Response:
    """The confirmation step: what the action will do, and the form that does it."""
    challenge = managed_challenge(page, slug)
    return page.render(
        "manage/confirm.html",
        challenge=challenge,
        action=action,
        consequence=CONSEQUENCES[action],
        offered=challenge.state in OFFERED[action],
        needs=" or ".join(str(state) for state in OFFERED[action]),
    )


@router.post("/manage/{slug}/{action}", response_class=HTMLResponse)
def act(
    slug: str,
    action: Action,
    page: PageDep,
    csrf: CsrfField = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    page.require_user()
    page.check_csrf(csrf)
    challenge = managed_challenge(page, slug)
    if confirmed != "yes":
        # A form posted without the confirmation step gets the step, and nothing changes.
        return confirm(slug, action, page)
    perform(page.session, challenge, action)
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}?done={action}")
