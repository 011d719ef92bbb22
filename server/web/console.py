"""What the organizer console's page groups share (people, submissions, news).

The per-challenge check is the API's ``ManagedChallenge`` for pages: a signed-in
viewer, then ``challenges.get_managed`` (404 where the challenge is hidden from the
viewer, 403 where it is seen but not managed). Each form posts the CSRF token and
is refused (403) without it, before anything is read or changed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request

from server.accounts.sessions import CSRF_FIELD
from server.challenges import service as challenges
from server.config import Settings
from server.db import session_scope
from server.deps import SESSION_COOKIE, user_for_token
from server.leaderboard.router import spreadsheet_safe
from server.models import Challenge
from server.web.context import LoginRequired, Page

CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]


def hosted_challenge(page: Page, slug: str) -> Challenge:
    """The challenge as the API's ``ManagedChallenge`` finds it for this viewer."""
    user = page.require_user()
    return challenges.get_managed(page.session, slug, user)


def posted(page: Page, slug: str, csrf: str) -> Challenge:
    """A console form: signed in, the CSRF token first, then the management check."""
    page.require_user()
    page.check_csrf(csrf)
    return hosted_challenge(page, slug)


def manager_gate(request: Request, settings: Settings) -> None:
    """Console uploads: the viewer manages the challenge, checked before the body is read
    (``server.uploads.before_body``), with the statuses the route gives later."""
    token = request.cookies.get(SESSION_COOKIE)
    with session_scope(settings) as session:
        user = user_for_token(session, token) if token else None
        if user is None:
            raise LoginRequired
        challenges.get_managed(session, request.path_params["slug"], user)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV that spreadsheets open as text (no formula runs from a cell)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe("" if v is None else v) for v in row])
    return out.getvalue()


def csv_data_url(text: str) -> str:
    """A ``data:`` link holding a CSV: downloaded by the browser, never stored here."""
    return "data:text/csv;charset=utf-8," + quote(text, safe="")
