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
runs on the event loop before the app's routing (:class:`ChallengePages`), for
requests without a session cookie, and the board's version itself comes from the
process's memory (``leaderboard.service.cached_board``). Only pages rendered for
a viewer with no account reach this cache (a private challenge answers them 404,
so it is never stored), and signed-in viewers never read it.

Signed-in viewers get a page of their own, but most of it is everybody's: the
board, the rules, the files, the announcements. That part is rendered once per
board version and TTL, like the anonymous page, with a marker (``SLOTS``) where
each viewer's parts go: the CSRF token, the navigation (name, sign-out form), the
atlas link (managers) and the "Take part" card (team, join form, submit link).
Per request the web router checks the viewer (session, challenge access, team,
host; in one thread hop before routing, ``ChallengePages``) and :func:`signed_in`
renders just those parts (``_viewer.html``'s macros, the same ones a full
rendering calls) and splices them into the cached bytes, gzipped ones too
(:mod:`server.web.splice`): no request compresses or checksums the 300 KB page.
A private challenge's shared page is only ever read after that viewer check.
"""

from __future__ import annotations

import gzip
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Receive, Scope, Send

from server.config import Settings, get_settings
from server.deps import SESSION_COOKIE
from server.leaderboard import service as leaderboards
from server.leaderboard.router import accepts_gzip
from server.leaderboard.service import GZIP_LEVEL, REFRESH_GRACE_SECONDS, CachedBoard
from server.models import Challenge, utcnow
from server.web import splice
from server.web.context import PROJECTOR_VALUES, Page
from server.web.rendering import environment

_lock = threading.Lock()
MEDIA_TYPE = "text/html; charset=utf-8"
BOARDS = (None, "public", "private")
SignedInHit = Callable[[Request, str], Awaitable[Response | None]]
PAGE_PATH = re.compile(r"/c/([^/]+)")  # the route's /c/{slug}, fullmatch


# Where a signed-in viewer's parts go in the cached page; random per process, so that
# no text of the page (escaped anyway) can pose as one.
SLOT_MARK = secrets.token_hex(8)
SLOT_NAMES = ("csrf", "nav", "atlas", "take_part")
SLOTS = {name: Markup(f"<!--{SLOT_MARK}:{name}-->") for name in SLOT_NAMES}
_SLOT = re.compile(f"<!--{SLOT_MARK}:(\\w+)-->")


class SignedIn:
    """``viewer`` for the page all signed-in viewers share: true, and nothing else.

    What depends on who is looking goes through ``slots``; any other use of the
    viewer in the template fails loudly (StrictUndefined) instead of caching it.
    """

    def __bool__(self) -> bool:
        return True


@dataclass
class _Timed:
    html: str
    made_at: float
    refreshing_since: float | None


@dataclass
class _Entry(_Timed):
    body: bytes  # html, encoded once
    gzip_body: bytes  # and gzipped once: browsers accept it


@dataclass
class _Shell(_Timed):
    """The page signed-in viewers share, cut at the slots, with its gzip pieces."""

    parts: splice.Parts  # the encoded HTML between the slots: len(slots) + 1
    slots: list[str]


def _key(board: str | None, projector: bool, allow_signup: bool, track: str | None) -> Hashable:
    return ("anonymous-page", board, projector, allow_signup, track)


def _shell_key(
    board: str | None, projector: bool, allow_signup: bool, track: str | None
) -> Hashable:
    return ("signed-in-page", board, projector, allow_signup, track)


def _fresh(entry: _Timed, now: float, ttl: float) -> bool:
    """Serve it? Expired: one request renders it again, the others keep it a moment (p99)."""
    age = now - entry.made_at
    if age <= ttl:
        return True
    if ttl == 0 or age > ttl + REFRESH_GRACE_SECONDS:
        return False
    with _lock:
        since = entry.refreshing_since
        if since is None or now - since > REFRESH_GRACE_SECONDS:
            entry.refreshing_since = now
            return False
    return True


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
        return entry if _fresh(entry, now, ttl) else None
    return None


def anonymous_hit(request: Request, slug: str) -> Response | None:
    """The anonymous page from memory (no database, no thread), or None to render it.

    A request with a session cookie (signed in, or a stale cookie the page will
    check) and a query the route would refuse (``?board=other``: 422) take the
    route's own path.
    """
    if SESSION_COOKIE in request.cookies:
        return None
    query = request.query_params
    board = query.get("board")
    if board not in BOARDS:
        return None
    projector = query.get("projector", "").lower() in PROJECTOR_VALUES
    track = query.get("track")
    entry = _cached_entry(slug, board, projector, track, get_settings())
    if entry is None:
        return None
    return _respond(entry, accepts_gzip(request.headers.get("accept-encoding", "")))


def _route_path(scope: Scope) -> str:
    # The path the routes match: without the app's root_path (as Starlette's routing).
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class ChallengePages:
    """ASGI: ``GET /c/{slug}`` from memory, before any routing.

    FastAPI matches a request against every route in turn, and the pages come after
    the API: about 1.6 ms of matching for ``/c/{slug}`` on the development VM (ping:
    0.02 ms), more than the cached page itself. Anonymous views are answered on the
    event loop (:func:`anonymous_hit`); signed-in ones by ``signed_in`` (the web
    router's: one thread hop and one session for the route's own code). Installed inside the
    security headers and body limit middleware (they still apply); what neither
    answers (an anonymous miss, a stale cookie, an odd query, a 404) goes on to the route.
    """

    def __init__(self, app: ASGIApp, signed_in: SignedInHit) -> None:
        self.app = app
        self.signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = PAGE_PATH.fullmatch(_route_path(scope))
            if match is not None:
                request = Request(scope, receive)
                if SESSION_COOKIE in request.cookies:
                    hit = await self.signed_in(request, match.group(1))
                else:
                    hit = anonymous_hit(request, match.group(1))
                if hit is not None:
                    await hit(scope, receive, send)
                    return
        await self.app(scope, receive, send)


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
    key = _key(board, page.projector, page.settings.allow_signup, track)
    # nothing on the anonymous page posts a form: no CSRF token
    entry = _kept(page, cached, key, context, _Entry, _encoded, viewer=None, csrf="")
    return _respond(entry, accepts_gzip(page.request.headers.get("accept-encoding", "")))


def _respond(entry: _Entry, gzipped: bool) -> Response:
    # Same headers as every page: no shared caches (the signed-in page differs).
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(entry.gzip_body, media_type=MEDIA_TYPE, headers=headers)
    return Response(entry.body, media_type=MEDIA_TYPE, headers=headers)


def shell(page: Page, cached: CachedBoard, board: str | None, track: str | None) -> _Shell | None:
    """The page signed-in viewers share, if this board has a fresh one (see ``_fresh``)."""
    key = _shell_key(board, page.projector, page.settings.allow_signup, track)
    entry = cached.renderings.get(key)
    if not isinstance(entry, _Shell):
        return None
    ttl = page.settings.leaderboard_cache_seconds
    return entry if _fresh(entry, time.monotonic(), ttl) else None


def render_shell(
    page: Page,
    cached: CachedBoard,
    board: str | None,
    context: dict[str, Any],
    track: str | None = None,
) -> _Shell:
    """Render the page signed-in viewers share (markers for their parts) and keep it."""
    key = _shell_key(board, page.projector, page.settings.allow_signup, track)
    return _kept(page, cached, key, context, _Shell, _cut, viewer=SignedIn(), slots=SLOTS)


E = TypeVar("E", _Entry, _Shell)


def _kept(
    page: Page,
    cached: CachedBoard,
    key: Hashable,
    context: dict[str, Any],
    kind: type[E],
    make: Callable[[str, float], E],
    **viewer: Any,
) -> E:
    """Render the challenge page for ``viewer`` and keep it on the board under ``key``.

    A rendering identical to the one kept keeps its encoded bytes, with a new age.
    """
    html = (
        environment()
        .get_template("challenge.html")
        .render(
            projector=page.projector,
            now=utcnow(),
            path=page.request.url.path,
            allow_signup=page.settings.allow_signup,
            **viewer,
            **context,
        )
    )
    before = cached.renderings.get(key)
    now = time.monotonic()
    if isinstance(before, kind) and before.html == html:
        entry = replace(before, made_at=now, refreshing_since=None)
    else:
        entry = make(html, now)
    cached.renderings[key] = entry
    return entry


def _encoded(html: str, now: float) -> _Entry:
    body = html.encode()
    return _Entry(html, now, None, body, gzip.compress(body, GZIP_LEVEL, mtime=0))


def _cut(html: str, now: float) -> _Shell:
    pieces = _SLOT.split(html)
    parts = splice.prepare([piece.encode() for piece in pieces[0::2]], GZIP_LEVEL)
    return _Shell(html, now, None, parts, pieces[1::2])


def signed_in(
    page: Page,
    entry: _Shell,
    challenge: Challenge,
    **viewer: Any,
) -> Response:
    """The shared page with this viewer's parts spliced in (``_viewer.html``'s macros).

    ``viewer``: what ``take_part`` needs of the viewer: manages, my_team,
    my_team_disqualified, join_status, accepting.
    """
    macros = environment().get_template("_viewer.html").module
    csrf, path = page.csrf, page.request.url.path
    fragments: dict[str, str] = {
        "csrf": escape(csrf),
        "nav": macros.nav(page.viewer, csrf, path),  # type: ignore[attr-defined]
        "atlas": macros.atlas_link(  # type: ignore[attr-defined]
            challenge, page.projector, viewer["manages"]
        ),
        "take_part": macros.take_part(  # type: ignore[attr-defined]
            page.viewer,
            challenge,
            viewer["manages"],
            viewer["my_team"],
            viewer["my_team_disqualified"],
            viewer["join_status"],
            viewer["accepting"],
            csrf,
            path,
            page.settings.allow_signup,
        ),
    }
    own = [fragments[name].encode() for name in entry.slots]
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if not accepts_gzip(page.request.headers.get("accept-encoding", "")):
        body = splice.joined(entry.parts, own)
        return page.finish(Response(body, media_type=MEDIA_TYPE, headers=headers))
    headers["Content-Encoding"] = "gzip"
    body = splice.gzipped(entry.parts, own)
    return page.finish(Response(body, media_type=MEDIA_TYPE, headers=headers))
