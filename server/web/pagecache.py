"""Anonymous challenge pages served from memory, once per board version.

An anonymous view of ``/c/{slug}`` carries nothing of its viewer (no CSRF token,
no team, no sign-out form), so the HTML is the same for every anonymous reader.
It is kept on the cached board it was rendered from (``CachedBoard.renderings``),
encoded and gzipped once, so a new score, selection, rename, finalization or
deadline (any new board version or state) drops it at once in this process. What
else the page shows and a board version does not follow (title, description,
announcements, files, team and submission counts, the countdown) is re-read at
most once per ``leaderboard_cache_seconds``: the same bound on staleness as the
JSON board's. A re-read that renders the same HTML keeps the bytes it had.

A cached view costs no database query and no thread hop: :func:`anonymous_hit`
runs on the event loop before the route's dependencies (``PageRoute``), for
requests without a session cookie, and the board's version itself comes from the
process's memory (``leaderboard.service.cached_board``). Only pages rendered for
a viewer with no account reach this cache (a private challenge answers them 404,
so it is never stored), and signed-in viewers never read it.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from server.config import Settings, get_settings
from server.deps import SESSION_COOKIE
from server.leaderboard import service as leaderboards
from server.leaderboard.router import accepts_gzip
from server.leaderboard.service import GZIP_LEVEL, REFRESH_GRACE_SECONDS, CachedBoard
from server.models import utcnow
from server.web.context import PROJECTOR_VALUES, Page
from server.web.rendering import environment

_lock = threading.Lock()
MEDIA_TYPE = "text/html; charset=utf-8"
BOARDS = (None, "public", "private")


@dataclass
class _Entry:
    html: str
    body: bytes  # html, encoded once
    gzip_body: bytes  # and gzipped once: browsers accept it
    made_at: float
    refreshing_since: float | None = None


def _key(board: str | None, projector: bool, allow_signup: bool, track: str | None) -> Hashable:
    return ("anonymous-page", board, projector, allow_signup, track)


def _candidates(slug: str, board: str | None, track: str | None) -> list[CachedBoard]:
    # The board a page shows: private once finalized (when asked or by default), else public.
    names = ["public"] if board == "public" else ["private", "public"]
    found = (leaderboards.cached_board(slug, name, track) for name in names)
    return [cached for cached in found if cached is not None]


def _cached_entry(
    slug: str, board: str | None, projector: bool, track: str | None, settings: Settings
) -> _Entry | None:
    key = _key(board, projector, settings.allow_signup, track)
    ttl = settings.leaderboard_cache_seconds
    now = time.monotonic()
    for cached in _candidates(slug, board, track):
        entry = cached.renderings.get(key)
        if not isinstance(entry, _Entry):
            continue
        age = now - entry.made_at
        if age <= ttl:
            return entry
        if ttl == 0 or age > ttl + REFRESH_GRACE_SECONDS:
            return None
        # Expired: one request renders it again; the others keep it a moment (p99).
        with _lock:
            since = entry.refreshing_since
            if since is None or now - since > REFRESH_GRACE_SECONDS:
                entry.refreshing_since = now
                return None
        return entry
    return None


def anonymous_hit(request: Request) -> Response | None:
    """The anonymous page from memory (no database, no thread), or None to render it.

    Runs on the event loop before any dependency: a request with a session cookie
    (signed in, or a stale cookie the page will check) and a query the route would
    refuse (``?board=other``: 422) take the route's own path.
    """
    if SESSION_COOKIE in request.cookies:
        return None
    query = request.query_params
    board = query.get("board")
    if board not in BOARDS:
        return None
    projector = query.get("projector", "").lower() in PROJECTOR_VALUES
    track = query.get("track")
    entry = _cached_entry(request.path_params["slug"], board, projector, track, get_settings())
    if entry is None:
        return None
    return _respond(entry, accepts_gzip(request.headers.get("accept-encoding", "")))


def render(
    page: Page,
    cached: CachedBoard,
    board: str | None,
    context: dict[str, Any],
    track: str | None = None,
) -> Response:
    """The challenge page; for a viewer with no account, also kept on its board."""
    if page.user is not None:
        return page.render("challenge.html", **context)
    projector, allow_signup = page.projector, page.settings.allow_signup
    html = (
        environment()
        .get_template("challenge.html")
        .render(
            viewer=None,
            csrf="",  # nothing on the anonymous page posts a form
            projector=projector,
            now=utcnow(),
            path=page.request.url.path,
            allow_signup=allow_signup,
            **context,
        )
    )
    key = _key(board, projector, allow_signup, track)
    before = cached.renderings.get(key)
    if isinstance(before, _Entry) and before.html == html:
        entry = _Entry(html, before.body, before.gzip_body, time.monotonic())
    else:
        body = html.encode()
        entry = _Entry(html, body, gzip.compress(body, GZIP_LEVEL, mtime=0), time.monotonic())
    cached.renderings[key] = entry
    return _respond(entry, accepts_gzip(page.request.headers.get("accept-encoding", "")))


def _respond(entry: _Entry, gzipped: bool) -> Response:
    # Same headers as every page: no shared caches (the signed-in page differs).
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gzip_body, media_type=MEDIA_TYPE, headers=headers)
    return Response(entry.body, media_type=MEDIA_TYPE, headers=headers)
