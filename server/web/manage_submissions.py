"""The console's Submissions and Queue pages, and the requeue of platform failures.

Hosts see every submission of the challenge (as GET .../submissions answers them),
with the full reason of a failure (``error`` and ``error_detail``, which the API
shows to managers only). Scores follow the pages' rule: public scores, and private
ones only once the challenge is finalized (a console can be on a projector too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from server.exceptions import Invalid, PodiumError
from server.models import Challenge, ChallengeState, Submission, SubmissionStatus, Team
from server.models.base import RowId
from server.submissions.requeue import platform_failures, requeue_failed
from server.submissions.service import BASELINE_TEAM
from server.web.console import CsrfField, hosted_challenge, posted
from server.web.context import Page, PageDep, PageRoute
from server.workers.service import queue_summary

router = APIRouter(include_in_schema=False, route_class=PageRoute)

# Rows shown at once; the filters narrow a long history down.
SHOWN = 500
STATUSES = tuple(s.value for s in SubmissionStatus)
KINDS = ("csv", "checkpoint")


@dataclass(frozen=True)
class Filters:
    team: str = ""
    status: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{name}' must be a date such as 2026-11-28") from None


def parse_filters(team: str, status: str, kind: str, since: str, until: str) -> Filters:
    """The filters as typed in the form: empty means any; a wrong value is a 422."""
    if status and status not in STATUSES:
        raise Invalid(f"status is one of {', '.join(STATUSES)}")
    if kind and kind not in KINDS:
        raise Invalid(f"kind is one of {', '.join(KINDS)}")
    return Filters(team.strip(), status, kind, _day(since, "since"), _day(until, "until"))


def filtered(session: Session, challenge: Challenge, filters: Filters) -> list[Submission]:
    """The challenge's submissions that pass the filters, newest first (dates: UTC days)."""
    query = (
        select(Submission)
        .options(joinedload(Submission.team), joinedload(Submission.user))
        .where(Submission.challenge_id == challenge.id)
    )
    if filters.team == BASELINE_TEAM:
        query = query.where(Submission.team_id.is_(None))
    elif filters.team:
        query = query.join(Team, Team.id == Submission.team_id).where(Team.name == filters.team)
    if filters.status:
        query = query.where(Submission.status == filters.status)
    if filters.kind:
        query = query.where(Submission.kind == filters.kind)
    if filters.since:
        query = query.where(Submission.created_at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC)
        query = query.where(Submission.created_at < end)
    query = query.order_by(Submission.created_at.desc(), Submission.id.desc()).limit(SHOWN + 1)
    return list(session.scalars(query).unique())


def team_names(session: Session, challenge: Challenge) -> list[str]:
    return list(
        session.scalars(
            select(Team.name).where(Team.challenge_id == challenge.id).order_by(Team.name)
        )
    )


@router.get("/manage/{slug}/submissions", response_class=HTMLResponse)
def submissions_view(
    slug: str,
    page: PageDep,
    team: str = "",
    status: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    challenge = hosted_challenge(page, slug)
    error = None
    try:
        filters = parse_filters(team, status, kind, since, until)
    except PodiumError as refused:
        filters, error = Filters(), str(refused.detail)
    rows = filtered(page.session, challenge, filters)
    return page.render(
        "manage/submissions.html",
        status_code=422 if error else 200,
        challenge=challenge,
        rows=rows[:SHOWN],
        more=len(rows) > SHOWN,
        shown=SHOWN,
        filters=filters,
        teams=team_names(page.session, challenge),
        statuses=STATUSES,
        kinds=KINDS,
        baseline_team=BASELINE_TEAM,
        revealed=challenge.state == ChallengeState.finalized,
        error=error,
    )


def queue_page(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    session = page.session
    return page.render(
        "manage/queue.html",
        status_code=status_code,
        challenge=challenge,
        queue=queue_summary(session, challenge),
        failures=platform_failures(session, challenge),
        baseline_team=BASELINE_TEAM,
        finalized=challenge.state == ChallengeState.finalized,
        error=error,
        notice=notice,
    )


@router.get("/manage/{slug}/queue", response_class=HTMLResponse)
def queue_view(slug: str, page: PageDep, requeued: int | None = None) -> Response:
    challenge = hosted_challenge(page, slug)
    notice = None
    if requeued is not None:
        notice = f"{requeued} submission{'' if requeued == 1 else 's'} queued again."
    return queue_page(page, challenge, notice=notice)


@router.post("/manage/{slug}/queue/requeue", response_class=HTMLResponse)
def requeue(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    submission_ids: Annotated[list[RowId] | None, Form()] = None,
    every: Annotated[str, Form()] = "",
) -> Response:
    """The browser's POST /api/v1/challenges/{slug}/queue/requeue."""
    challenge = posted(page, slug, csrf)
    try:
        if every != "yes" and not submission_ids:
            raise Invalid("tick the submissions to queue again")
        ids = requeue_failed(page.session, challenge, None if every == "yes" else submission_ids)
    except PodiumError as refused:
        page.session.rollback()
        return queue_page(page, challenge, refused.status, error=str(refused.detail))
    return page.redirect(f"/manage/{challenge.slug}/queue?requeued={len(ids)}")
