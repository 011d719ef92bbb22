"""What an upload must pass before its body is read, and the budget for refused bytes.

FastAPI reads a multipart body before it solves any dependency, so without
this an anonymous client could make the server spool ``PODIUM_MAX_UPLOAD_MB``
to disk before being told 401. Routes marked with ``server.uploads.before_body`` run
their check first: :class:`server.uploads.GatedRoute` for the API, the pages' ``PageRoute``
for the browser form. The check repeats what the route's dependencies decide
later (same statuses): the caller's credentials, the challenge's visibility
and deadline, and the caller's budget for refused uploads.

Each refused upload (422, 429) adds its bytes to the uploader's total for the
UTC day; past ``PODIUM_REFUSED_UPLOAD_MB_PER_DAY`` the next upload is a 429
before its body is read.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.challenges.service import get_challenge, get_managed
from server.config import Settings
from server.db import session_scope
from server.deps import SESSION_COOKIE, user_for_token
from server.exceptions import Invalid, LimitReached, Unauthorized
from server.models import Challenge, RefusedUpload, User, utcnow
from server.storage import BlobStore
from server.submissions.quota import day_start, next_reset
from server.submissions.service import Accepted, check_window, create_submission


def refused_today(session: Session, user_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(RefusedUpload.size), 0)).where(
            RefusedUpload.user_id == user_id, RefusedUpload.created_at >= day_start(utcnow())
        )
    )
    return int(total or 0)


def check_refused_budget(session: Session, settings: Settings, user: User) -> None:
    budget = settings.refused_upload_mb_per_day * 1024 * 1024
    if refused_today(session, user.id) >= budget:
        now = utcnow()
        reset = next_reset(now)
        raise LimitReached(
            f"you sent {settings.refused_upload_mb_per_day} MB of refused uploads today; "
            "check your files locally (e.g. against sample_submission.csv) and try again "
            f"after {reset.isoformat()} (UTC)",
            (reset - now).total_seconds(),
        )


def record_refused(user_id: int, size: int, settings: Settings) -> None:
    """Count a refused upload's bytes (its own transaction: the request's rolls back)."""
    with session_scope(settings) as session:
        session.add(RefusedUpload(user_id=user_id, size=size))


def receive_submission(
    session: Session,
    challenge: Challenge,
    user: User,
    upload: BinaryIO,
    file_name: str,
    message: str,
    kind: str,
    config: BinaryIO | None,
    store: BlobStore,
    settings: Settings,
    metadata: dict[str, Any] | None = None,
) -> Accepted:
    """Stage the upload and create the submission (API and page); a refused file
    is deleted and its bytes count against the uploader's daily budget."""
    with store.stage_file(upload, settings.max_upload_bytes) as staged:
        try:
            return create_submission(
                session,
                challenge,
                user,
                staged,
                file_name,
                message,
                kind,
                config,
                store,
                metadata=metadata,
                settings=settings,
            )
        except (Invalid, LimitReached):
            session.rollback()  # SQLite: let go of the write lock before recording
            record_refused(user.id, staged.size, settings)
            raise


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _check_submission(
    request: Request, user: User | None, session: Session, settings: Settings
) -> User | None:
    challenge = get_challenge(session, request.path_params["slug"], user)
    if user is not None:
        check_window(challenge, utcnow())
        check_refused_budget(session, settings, user)
    return user


def _api_user(request: Request, session: Session) -> User | None:
    """The caller, as ``get_optional_user`` finds it: a bad bearer token is a 401."""
    bearer = _bearer(request)
    token = bearer or request.cookies.get(SESSION_COOKIE)
    user = user_for_token(session, token) if token else None
    if user is None and bearer is not None:
        raise Unauthorized("invalid, expired or revoked token")
    return user


def organizer_upload_gate(request: Request, settings: Settings) -> None:
    """Organizer-only form uploads (baselines): 401 or 403 before the body."""
    with session_scope(settings) as session:
        user = _api_user(request, session)
        if user is None:
            raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")
        # The challenge's managers only (404 if it is hidden from the caller, else 403).
        get_managed(session, request.path_params["slug"], user)


def api_submission_gate(request: Request, settings: Settings) -> None:
    """POST /api/v1/challenges/{slug}/submissions: the statuses its dependencies give."""
    with session_scope(settings) as session:
        user = _api_user(request, session)
        if _check_submission(request, user, session, settings) is None:
            raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'")


def page_submission_gate(
    request: Request, settings: Settings, login_required: type[Exception]
) -> None:
    """POST /c/{slug}/submissions: the session cookie, else the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    with session_scope(settings) as session:
        user = user_for_token(session, token) if token else None
        if user is None:
            raise login_required
        _check_submission(request, user, session, settings)
