"""Anonymous challenge pages served from memory, once per board version.

An anonymous view of ``/c/{slug}`` carries nothing of its viewer (no CSRF token,
no team, no sign-out form), so the HTML is the same for every anonymous reader.
It is kept on the cached board it was rendered from (``CachedBoard.renderings``),
so a new score, selection, rename, finalization or deadline (any new board
version or state) drops it at once in this process. What else the page shows and
a board version does not follow (title, description, announcements, files, team
and submission counts, the countdown) is re-read at most once per
``leaderboard_cache_seconds``: the same bound on staleness as the JSON board's.

A cached view costs no database query: the board's version itself comes from
the process's memory (``leaderboard.service.cached_board``). Only pages rendered
for a viewer with no account reach this cache (a private challenge answers them
404, so it is never stored), and signed-in viewers never read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse, Response

from server.leaderboard import service as leaderboards
from server.leaderboard.service import REFRESH_GRACE_SECONDS, CachedBoard
from server.models import utcnow
from server.web.context import Page
from server.web.rendering import environment

_lock = threading.Lock()


@dataclass
class _Entry:
    html: str
    made_at: float
    refreshing_since: float | None = None


def _key(board: str | None, projector: bool, allow_signup: bool, track: str | None) -> Hashable:
    return ("anonymous-page", board, projector, allow_signup, track)


def _candidates(slug: str, board: str | None, track: str | None) -> list[CachedBoard]:
    # The board a page shows: private once finalized (when asked or by default), else public.
    names = ["public"] if board == "public" else ["private", "public"]
    found = (leaderboards.cached_board(slug, name, track) for name in names)
    return [cached for cached in found if cached is not None]


def cached_page(
    slug: str, board: str | None, page: Page, track: str | None = None
) -> Response | None:
    """The anonymous page from memory (no database work), or None to render it."""
    key = _key(board, page.projector, page.settings.allow_signup, track)
    ttl = page.settings.leaderboard_cache_seconds
    now = time.monotonic()
    for cached in _candidates(slug, board, track):
        entry = cached.renderings.get(key)
        if not isinstance(entry, _Entry):
            continue
        age = now - entry.made_at
        if age <= ttl:
            return _respond(entry.html)
        if ttl == 0 or age > ttl + REFRESH_GRACE_SECONDS:
            return None
        # Expired: one request renders it again; the others keep it a moment (p99).
        with _lock:
            since = entry.refreshing_since
            if since is None or now - since > REFRESH_GRACE_SECONDS:
                entry.refreshing_since = now
                return None
        return _respond(entry.html)
    return None


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
    cached.renderings[key] = _Entry(html, time.monotonic())
    return _respond(html)


def _respond(html: str) -> Response:
    # Same headers as every page: no shared caches (the signed-in page differs).
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
