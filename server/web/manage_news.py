"""The console's Announcements, Baselines and Exports pages.

Announcements are previewed with the challenge page's sanitizing Markdown renderer
(``rendering.render_markdown``, the template filter ``markdown``) and posted through
the API route's steps: ``announcements.service.post``, the webhook message queued in
the outbox in the same transaction, the commit, the deliverer woken. Baselines go
through ``baselines.service.add_baseline`` as POST .../baselines does. The exports
are the API's own download routes, which accept the browser's session cookie; the
participants list gets a CSV here (the API answers JSON).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from server.announcements import service as announcements
from server.announcements.schemas import MAX_BODY_LENGTH, AnnouncementCreate, AnnouncementRead
from server.baselines import service as baselines
from server.baselines.router import MAX_DESCRIPTION_LENGTH
from server.challenges import people
from server.exceptions import Invalid, PodiumError
from server.insight.notify import notifier, queue_announcement
from server.models import Challenge, ChallengeState
from server.models.base import RowId
from server.queue.dispatch import dispatch
from server.storage import get_blob_store
from server.submissions.router import _safe_name as safe_name
from server.uploads import before_body
from server.web.console import CsrfField, csv_text, hosted_challenge, manager_gate, posted
from server.web.context import Page, PageDep, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PARTICIPANT_COLUMNS = (
    "username",
    "display_name",
    "email",
    "student_id",
    "status",
    "team",
    "submissions",
    "best_public_score",
    "public_rank",
    "private_score",
    "private_rank",
    "disqualified_reason",
    "joined_at",
)


# ---- announcements ---------------------------------------------------------------------


def announcements_page(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
    draft: tuple[str, str] = ("", ""),
    preview: bool = False,
) -> Response:
    return page.render(
        "manage/announcements.html",
        status_code=status_code,
        challenge=challenge,
        announcements=announcements.newest_first(page.session, challenge),
        error=error,
        notice=notice,
        title=draft[0],
        body=draft[1],
        preview=preview,
        max_body=MAX_BODY_LENGTH,
    )


@router.get("/manage/{slug}/announcements", response_class=HTMLResponse)
def announcements_view(
    slug: str, page: PageDep, done: Literal["posted", "deleted"] | None = None
) -> Response:
    challenge = hosted_challenge(page, slug)
    notice = {"posted": "The announcement is posted.", "deleted": "The announcement is deleted."}
    return announcements_page(page, challenge, notice=notice[done] if done else None)


@router.post("/manage/{slug}/announcements", response_class=HTMLResponse)
def post_announcement(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    intent: Annotated[Literal["preview", "post"], Form()] = "post",
) -> Response:
    """Preview (nothing stored) or post: the browser's POST .../announcements."""
    challenge = posted(page, slug, csrf)
    user = page.require_user()
    try:
        create = AnnouncementCreate(title=title, body=body)
    except ValidationError as invalid:
        reasons = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in invalid.errors())
        return announcements_page(page, challenge, 422, error=reasons, draft=(title, body))
    if intent == "preview":
        return announcements_page(page, challenge, draft=(create.title, create.body), preview=True)
    announcement = announcements.post(page.session, challenge, user, create)
    read = AnnouncementRead.model_validate(announcement)
    # Queued in the outbox in the same transaction: stored and sent, or neither.
    queue_announcement(page.session, challenge, read.id, read.title, read.body, page.settings)
    page.session.commit()
    notifier.wake()
    return page.redirect(f"/manage/{challenge.slug}/announcements?done=posted")


@router.post("/manage/{slug}/announcements/delete", response_class=HTMLResponse)
def delete_announcement(
    slug: str, page: PageDep, announcement_id: Annotated[RowId, Form()], csrf: CsrfField = ""
) -> Response:
    challenge = posted(page, slug, csrf)
    try:
        announcements.delete(page.session, challenge, announcement_id)
    except PodiumError as refused:
        page.session.rollback()
        return announcements_page(page, challenge, refused.status, error=str(refused.detail))
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/announcements?done=deleted")


# ---- baselines -------------------------------------------------------------------------


def baselines_page(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    rows = baselines.list_baselines(page.session, challenge)
    return page.render(
        "manage/baselines.html",
        status_code=status_code,
        challenge=challenge,
        # Hosts see a failure's message; private scores wait for finalization, as on pages.
        baselines=[baselines.to_read(b, challenge, True) for b in rows],
        revealed=challenge.state == ChallengeState.finalized,
        error=error,
        notice=notice,
        max_name=baselines.MAX_NAME_LENGTH,
        max_description=MAX_DESCRIPTION_LENGTH,
    )


@router.get("/manage/{slug}/baselines", response_class=HTMLResponse)
def baselines_view(
    slug: str, page: PageDep, done: Literal["added", "deleted"] | None = None
) -> Response:
    challenge = hosted_challenge(page, slug)
    notice = {
        "added": "The baseline is added; it shows on the boards once scored.",
        "deleted": "The baseline is deleted.",
    }
    return baselines_page(page, challenge, notice=notice[done] if done else None)


@router.post("/manage/{slug}/baselines", response_class=HTMLResponse)
@before_body(manager_gate)
def add_baseline(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    kind: Annotated[Literal["csv", "checkpoint"], Form()] = "csv",
    file: Annotated[UploadFile | None, File()] = None,
    config: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The browser's POST /api/v1/challenges/{slug}/baselines."""
    challenge = posted(page, slug, csrf)
    user = page.require_user()
    try:
        if file is None or not file.filename:
            raise Invalid("choose the baseline's file")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise Invalid(f"the description is over {MAX_DESCRIPTION_LENGTH} characters")
        baseline = baselines.add_baseline(
            page.session,
            challenge,
            user,
            name,
            description,
            file.file,
            safe_name(file.filename, "predictions.csv" if kind == "csv" else "model"),
            kind,
            config.file if config is not None and config.filename else None,
            get_blob_store(),
        )
    except PodiumError as refused:
        page.session.rollback()
        return baselines_page(page, challenge, refused.status, error=str(refused.detail))
    submission_id = baseline.submission_id
    page.session.commit()
    dispatch([submission_id])
    return page.redirect(f"/manage/{challenge.slug}/baselines?done=added")


@router.post("/manage/{slug}/baselines/delete", response_class=HTMLResponse)
def delete_baseline(
    slug: str, page: PageDep, name: Annotated[str, Form()], csrf: CsrfField = ""
) -> Response:
    challenge = posted(page, slug, csrf)
    try:
        baselines.delete_baseline(page.session, challenge, name)
    except PodiumError as refused:
        page.session.rollback()
        return baselines_page(page, challenge, refused.status, error=str(refused.detail))
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/baselines?done=deleted")


# ---- exports ---------------------------------------------------------------------------


@router.get("/manage/{slug}/exports", response_class=HTMLResponse)
def exports_view(slug: str, page: PageDep) -> Response:
    challenge = hosted_challenge(page, slug)
    return page.render(
        "manage/exports.html",
        challenge=challenge,
        finalized=challenge.state == ChallengeState.finalized,
    )


@router.get("/manage/{slug}/exports/participants.csv")
def participants_csv(slug: str, page: PageDep) -> Response:
    """GET .../participants as a CSV (the same rows: private columns once finalized)."""
    challenge = hosted_challenge(page, slug)
    rows = people.participants(page.session, challenge)
    text = csv_text(
        PARTICIPANT_COLUMNS,
        (
            [getattr(r, c) for c in PARTICIPANT_COLUMNS[:-1]] + [r.joined_at.isoformat()]
            for r in rows
        ),
    )
    name = f"{challenge.slug}-participants.csv"
    return page.finish(
        Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )
