"""A team's own submissions page (``/c/{slug}/submissions``) and its cancel button.

The page's forms (upload, final selection) are in ``server.web.router``. The cancel
form calls the service behind ``POST /api/v1/submissions/{id}/cancel``, so the
page refuses what the API refuses, with the same status: another team's submission
is a 404, a manager who is not in the team gets 403, a finished one 409.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from server.challenges import service as challenges
from server.exceptions import NotFound, PodiumError
from server.models.base import RowId
from server.submissions import service as submissions
from server.web.context import PageDep, PageRoute
from server.web.router import CsrfField, _submissions_page

pages = APIRouter(include_in_schema=False, route_class=PageRoute)


@pages.get("/c/{slug}/submissions", response_class=HTMLResponse)
def my_submissions(
    slug: str,
    page: PageDep,
    submitted: int | None = None,
    selected: int | None = None,
    cancelled: int | None = None,
) -> Response:
    page.require_user()
    challenge = challenges.get_challenge(page.session, slug, page.user)
    notice = None
    if submitted is not None:
        notice = f"Submission #{submitted} received."
    elif selected is not None:
        notice = "Final selection saved."
    elif cancelled is not None:
        notice = f"Submission #{cancelled} cancelled: it uses no quota."
    return _submissions_page(page, challenge, notice=notice)


@pages.post("/c/{slug}/submissions/{submission_id}/cancel", response_class=HTMLResponse)
def cancel(slug: str, submission_id: RowId, page: PageDep, csrf: CsrfField = "") -> Response:
    """The cancel button of a queued or running submission of the viewer's team."""
    user = page.require_user()
    page.check_csrf(csrf)
    session = page.session
    challenge = challenges.get_challenge(session, slug, user)
    try:
        found = submissions.visible_submission(session, submission_id, user)
        if found.challenge_id != challenge.id:
            raise NotFound.of("submission")
        submissions.cancel(session, submission_id, user)
    except PodiumError as refused:
        session.rollback()
        return _submissions_page(page, challenge, refused.status, error=str(refused.detail))
    session.commit()
    return page.redirect(f"/c/{challenge.slug}/submissions?cancelled={submission_id}")
