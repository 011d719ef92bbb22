"""What a /manage upload form must pass before its body is read (see server.uploads).

FastAPI reads a multipart body before any dependency runs; without this check
anyone could make the server spool an upload before being told no. It repeats
the pages' own checks, with the same answers: the sign-in page, then for a
challenge ``get_managed`` (404 hidden, 403 seen but not managed), and for a new
challenge 403 for a non-organizer.
"""

from __future__ import annotations

from fastapi import Request

from server.challenges.service import get_managed
from server.config import Settings
from server.db import session_scope
from server.deps import SESSION_COOKIE, user_for_token
from server.exceptions import Forbidden
from server.web.context import LoginRequired


def organizer_page_gate(request: Request, settings: Settings) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    with session_scope(settings) as session:
        user = user_for_token(session, token) if token else None
        if user is None:
            raise LoginRequired
        slug = request.path_params.get("slug")
        if slug is not None:
            get_managed(session, slug, user)  # a host needs no organizer role
        elif not user.is_organizer:
            raise Forbidden("organizer role required")  # creating a challenge
