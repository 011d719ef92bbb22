"""Browser pages: challenges, leaderboards, team history, web submission, /docs.

Signing in, up and out, and one's own account: :mod:`server.web.account`.

Pages are thin, like the API routes: they call the same services. Two rules
are stricter here than in the API, because a page may be on a projector:
private scores and the private board appear only after finalization, even for
organizers (they have the API and exports before that).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.accounts.sessions import CSRF_FIELD
from server.announcements import service as announcements
from server.challenges import access
from server.challenges import service as challenges
from server.challenges.service import is_accepting
from server.config import get_settings
from server.db import get_sessionmaker
from server.deps import SESSION_COOKIE, StoreDep, user_for_token
from server.deps import _gate as session_gate
from server.exceptions import NotFound, PodiumError
from server.leaderboard import service as leaderboards
from server.leaderboard.service import CachedBoard
from server.leaderboard.tracks import find_track
from server.models import Challenge, ChallengeFile, ChallengeState, Team, utcnow
from server.models.base import RowId
from server.scoring.metrics import get_metric
from server.submissions import service as submissions
from server.submissions.gate import page_submission_gate, receive_submission
from server.submissions.router import MAX_MESSAGE_LENGTH, _safe_name
from server.teaching import milestones
from server.teaching.meter import team_meter
from server.teams import service as teams
from server.uploads import before_body
from server.web import pagecache
from server.web.context import (
    LoginRequired,
    Page,
    PageDep,
    PageRoute,
)
from server.web.history import chart_data, interleaved, public_points, team_history
from server.web.rendering import STATIC_DIR, STATIC_URL, environment, time_left

router = APIRouter(include_in_schema=False, route_class=PageRoute)

CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]
# How often the leaderboard page asks the JSON API for changes.
LEADERBOARD_REFRESH_SECONDS = 5
# The newest announcements on the challenge page (all of them: GET .../announcements).
ANNOUNCEMENTS_SHOWN = 20
# How stale the page's team and submission counts may be between board versions.
COUNTS_SECONDS = LEADERBOARD_REFRESH_SECONDS


def install_web(app: FastAPI) -> None:
    """Mount the static assets and the pages on the app."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)


def _private_revealed(challenge: Challenge) -> bool:
    # Pages pass no manager: before finalize nobody sees private scores here (projectors).
    return submissions.may_see_private(challenge, False)


@dataclass(frozen=True)
class ChallengeRow:
    challenge: Challenge
    teams: int
    submissions: int
    accepting: bool
    time_left: str


@router.get("/", response_class=HTMLResponse)
def index(page: PageDep) -> Response:
    found = challenges.list_challenges(page.session, page.user)
    counts = challenges.counts(page.session, [c.id for c in found])
    now = utcnow()
    rows = [
        ChallengeRow(
            challenge=c,
            teams=counts[c.id][0],
            submissions=counts[c.id][1],
            accepting=is_accepting(c, now),
            time_left=time_left(c.closes_at, now) if c.state == ChallengeState.open else "",
        )
        for c in found
    ]
    return page.render("index.html", challenges=rows)


@router.get("/c/{slug}", response_class=HTMLResponse)
def challenge_page(
    slug: str,
    page: PageDep,
    board: Literal["public", "private"] | None = None,
    track: str | None = None,
) -> Response:
    if page.user is not None:
        return _signed_in_view(page, slug, board, track)
    session = page.session
    challenge = challenges.get_challenge(session, slug, None)
    found_track = find_track(challenge.tracks, challenge.slug, track)
    revealed = _private_revealed(challenge)
    board_name = (board or "private") if revealed else "public"
    cached_board = leaderboards.get_cached(session, challenge, board_name, found_track)
    context = _shared_context(session, challenge, cached_board, revealed)
    context.update(
        my_team=None,
        **access.standing(session, None, challenge, None),
        accepting=is_accepting(challenge, utcnow()),
    )
    return pagecache.render(page, cached_board, board, context, track)


def _signed_in_view(page: Page, slug: str, board: str | None, track: str | None) -> Response:
    """The page all signed-in viewers share, with this viewer's parts spliced in."""
    session, user = page.session, page.require_user()
    challenge = challenges.get_challenge(session, slug, user)
    found_track = find_track(challenge.tracks, challenge.slug, track)
    revealed = _private_revealed(challenge)
    board_name = (board or "private") if revealed else "public"
    cached_board = leaderboards.get_cached(session, challenge, board_name, found_track)
    shell = pagecache.shell(page, cached_board, board, track)
    if shell is None:
        context = _shared_context(session, challenge, cached_board, revealed)
        shell = pagecache.render_shell(page, cached_board, board, context, track)
    # The viewer's team, host row and access request: one statement.
    viewer = access.page_standing(session, user, challenge)
    return pagecache.signed_in(
        page, shell, challenge, **viewer, accepting=is_accepting(challenge, utcnow())
    )


def _signed_in_from_memory(
    request: Request, slug: str, board: str | None, track: str | None
) -> Response | None:
    """The signed-in page in one thread hop and one session, or None for the route.

    The same checks and the same code as the route; what the route answers with
    another page (a stale cookie: the anonymous page; a 404) is left to it.
    """
    secret = request.cookies[SESSION_COOKIE]
    with get_sessionmaker()() as session:
        user = user_for_token(session, secret)
        if user is None:
            return None
        page = Page(request, session, get_settings(), user, secret)
        try:
            return _signed_in_view(page, slug, board, track)
        except PodiumError:
            return None


async def signed_in_hit(request: Request, slug: str) -> Response | None:
    """For ``pagecache.ChallengePages``: a signed-in view without routing or dependencies."""
    board = request.query_params.get("board")
    if board not in pagecache.BOARDS:
        return None  # the route refuses it (422)
    track = request.query_params.get("track")
    async with session_gate():
        return await run_in_threadpool(_signed_in_from_memory, request, slug, board, track)


def _counts(session: Session, challenge: Challenge, cached_board: CachedBoard) -> tuple[int, int]:
    """Teams and submissions: read again with each board version, else every few seconds.

    The count over all the challenge's submissions (20,000: the page refresh's main
    cost) is kept on the board; a submission that changes no board (queued, refused,
    failed) shows in the count within ``COUNTS_SECONDS``.
    """
    now = time.monotonic()
    kept = cached_board.renderings.get(("counts", challenge.id))
    if isinstance(kept, tuple) and now - kept[0] <= COUNTS_SECONDS:
        return cast(tuple[int, int], kept[1])
    found = challenges.counts(session, [challenge.id])[challenge.id]
    cached_board.renderings[("counts", challenge.id)] = (now, found)
    return found


def _shared_context(
    session: Session, challenge: Challenge, cached_board: CachedBoard, revealed: bool
) -> dict[str, Any]:
    """What the challenge page shows everyone alike (not the viewer's parts)."""
    leaderboard = cached_board.board
    files = session.scalars(
        select(ChallengeFile)
        .where(ChallengeFile.challenge_id == challenge.id)
        .order_by(ChallengeFile.name)
    ).all()
    teams_count, submissions_count = _counts(session, challenge, cached_board)
    now = utcnow()
    live = challenge.state != ChallengeState.finalized
    show_efficiency = any(e.parameter_count is not None for e in leaderboard.entries)
    table = {
        "board": leaderboard,
        "rows": interleaved(leaderboard),
        "challenge": challenge,
        "refresh_seconds": LEADERBOARD_REFRESH_SECONDS,
        "live": live,
        "show_efficiency": show_efficiency,
    }
    # The table (1,000 teams: ~20 ms of escaping) depends on nobody: once per board version.
    board_html = cached_board.rendered(
        ("html", challenge.slug, challenge.title, live, show_efficiency),
        lambda: Markup(environment().get_template("_leaderboard.html").render(**table)),
    )
    return dict(
        board_html=board_html,
        challenge=challenge,
        metric=get_metric(challenge.metric),
        description=challenge.description,
        announcements=announcements.newest_first(session, challenge, limit=ANNOUNCEMENTS_SHOWN),
        files=files,
        board=leaderboard,
        revealed=revealed,
        limit_rules=submissions.quota.in_words(challenge),
        time_left=time_left(challenge.closes_at, now),
        teams_count=teams_count,
        submissions_count=submissions_count,
        refresh_seconds=LEADERBOARD_REFRESH_SECONDS,
        live=live,
        show_efficiency=show_efficiency,
    )


@router.get("/c/{slug}/teams/{team:path}", response_class=HTMLResponse)
def team_page(slug: str, team: str, page: PageDep) -> Response:
    session = page.session
    challenge = challenges.get_challenge(session, slug, page.user)
    found = session.scalar(select(Team).where(Team.challenge_id == challenge.id, Team.name == team))
    if found is None:
        raise NotFound.of(f"team '{team}'")
    mine = teams.team_of(session, challenge, page.user) if page.user else None
    is_member = mine is not None and mine.id == found.id
    with_details = is_member or access.can_manage(session, page.user, challenge)
    if found.disqualified_at is not None and not with_details:
        # Gone from the pages: only the team itself and the hosts still see it.
        raise NotFound.of(f"team '{team}'")
    greater = get_metric(challenge.metric).greater_is_better
    revealed = _private_revealed(challenge)
    history = team_history(session, found, greater, with_details, with_private=revealed)
    public_board = leaderboards.get_board(session, challenge, "public")
    entry = next((e for e in public_board.entries if e.team == found.name), None)
    leader_name = public_board.entries[0].team if public_board.entries else None
    leader = None
    if leader_name is not None and leader_name != found.name:
        leader_team = session.scalar(
            select(Team).where(Team.challenge_id == challenge.id, Team.name == leader_name)
        )
        if leader_team is not None:
            leader = (leader_name, public_points(session, leader_team.id))
    chart = chart_data(
        challenge,
        greater,
        (found.name, public_points(session, found.id)),
        leader,
        utcnow(),
        baselines=[(b.label, b.score) for b in public_board.baselines],
    )
    info = teams.to_read(session, challenge, found, for_member=is_member)
    return page.render(
        "team.html",
        challenge=challenge,
        team=info,
        entry=entry,
        history=history,
        with_details=with_details,
        is_member=is_member,
        revealed=revealed,
        chart=chart,
        leader_name=leader_name,
        milestones=milestones.for_entry(entry, public_board),
        meter=team_meter(session, challenge, found, with_details),
    )


def _submissions_page(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    user = page.require_user()
    session = page.session
    team = teams.team_of(session, challenge, user)
    rows = submissions.list_for(session, challenge, user)
    return page.render(
        "submissions.html",
        status_code=status_code,
        challenge=challenge,
        team=teams.to_read(session, challenge, team, for_member=True) if team else None,
        submissions=rows,
        revealed=_private_revealed(challenge),
        accepting=is_accepting(challenge),
        late_only=submissions.accepts_late(challenge, utcnow()),
        error=error,
        notice=notice,
        max_message_length=MAX_MESSAGE_LENGTH,
        can_select=team is not None and challenge.state != ChallengeState.finalized,
        manages=access.can_manage(session, user, challenge),
    )


@router.post("/c/{slug}/submissions", response_class=HTMLResponse)
@before_body(partial(page_submission_gate, login_required=LoginRequired))
def upload(
    slug: str,
    page: PageDep,
    store: StoreDep,
    csrf: CsrfField = "",
    file: Annotated[UploadFile | None, File()] = None,
    message: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "csv",
    config: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The browser's version of POST /api/v1/challenges/{slug}/submissions."""
    user = page.require_user()
    page.check_csrf(csrf)
    session = page.session
    challenge = challenges.get_challenge(session, slug, user)
    if file is None or not file.filename:
        return _submissions_page(page, challenge, 422, error="choose a file to submit")
    if len(message) > MAX_MESSAGE_LENGTH:
        return _submissions_page(
            page, challenge, 422, error=f"the message is over {MAX_MESSAGE_LENGTH} characters"
        )
    kind = kind if kind in ("csv", "checkpoint") else "csv"
    has_config = config is not None and bool(config.filename)
    try:
        accepted = receive_submission(
            session,
            challenge,
            user,
            file.file,
            _safe_name(file.filename, "predictions.csv" if kind == "csv" else "model"),
            message,
            kind,
            config.file if config is not None and has_config else None,
            store,
            page.settings,
        )
    except PodiumError as refused:
        session.rollback()
        return _submissions_page(page, challenge, refused.status, error=str(refused.detail))
    # The job goes out only once the row is committed: a worker must find it.
    submission = accepted.submission
    session.commit()
    accepted.send(page.settings)
    return page.redirect(f"/c/{challenge.slug}/submissions?submitted={submission.id}")


@router.post("/c/{slug}/selection", response_class=HTMLResponse)
def select_final(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    submission_ids: Annotated[list[RowId] | None, Form()] = None,
) -> Response:
    user = page.require_user()
    page.check_csrf(csrf)
    challenge = challenges.get_challenge(page.session, slug, user)
    try:
        submissions.select_final(page.session, challenge, user, submission_ids or [])
    except PodiumError as refused:
        page.session.rollback()
        return _submissions_page(page, challenge, refused.status, error=str(refused.detail))
    return page.redirect(f"/c/{challenge.slug}/submissions?selected=1")


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> Response:
    """Swagger UI from our own static files: works offline, no inline script (CSP)."""
    html = environment().get_template("docs.html").render(openapi_url="/openapi.json")
    return HTMLResponse(html)
