"""Leaderboards: best public score per team; the private board after finalization.

Boards are cached per process, with their JSON, and keyed on the challenge's
``board_version``, which every scoring, selection, rename or finalization bumps
in the database. A process reads that number at most once per
``leaderboard_cache_seconds`` (and at once after its own commits that bump it),
so a board served by any of several server processes is never staler than that
plus ``REFRESH_GRACE_SECONDS``, and most requests need no database at all.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from server.config import get_settings
from server.db import get_engine
from server.leaderboard import incremental
from server.leaderboard.board import compute
from server.leaderboard.bump import BUMPED_BOARDS, bump_board, note_bump
from server.leaderboard.incremental import PublicBoard
from server.leaderboard.tracks import BoardTrack, declared
from server.models import (
    Challenge,
    ChallengeState,
    Visibility,
    utcnow,
)

from .schemas import Leaderboard

# How long past leaderboard_cache_seconds a board may still be served while one
# request re-reads the version: the bound on staleness is the sum of the two.
CACHE_SIZE = 64
REFRESH_GRACE_SECONDS = 0.5
T = TypeVar("T")
GZIP_LEVEL = 6
# Bodies over LARGE_BODY (10,000 teams: 3.4 MB) are gzipped at level 1: 19 ms of CPU
# instead of 42 ms, for 272 KB instead of 217 KB (docs/benchmarks.md).
LARGE_BODY = 1 << 20
LARGE_GZIP_LEVEL = 1

__all__ = ["CachedBoard", "bump_board", "cached_board", "get_board", "get_cached", "note_bump"]


class CachedBoard:
    """A computed board with its JSON body, ready to send as is.

    The ``Leaderboard`` object itself is built on first use (a page, an export): a
    large public board's body is joined from kept fragments without it.
    """

    def __init__(
        self,
        board: Leaderboard | Callable[[], Leaderboard],
        body: bytes,
        gzip_body: bytes,
        etag: str,
    ) -> None:
        self._board = board if isinstance(board, Leaderboard) else None
        self._make = None if isinstance(board, Leaderboard) else board
        self._lock = threading.Lock()
        self.body = body
        self.gzip_body = gzip_body  # sent to the clients that accept it: browsers, the CLI
        self.etag = etag
        self.renderings: dict[Hashable, object] = {}

    @property
    def board(self) -> Leaderboard:
        if self._board is None:
            with self._lock:
                if self._board is None:
                    assert self._make is not None
                    self._board, self._make = self._make(), None
        return self._board

    def rendered(self, key: Hashable, render: Callable[[], T]) -> T:
        """Another rendering of this board (the page's HTML table), made once per version."""
        if key not in self.renderings:
            self.renderings[key] = render()
        return cast(T, self.renderings[key])


@dataclass(frozen=True)
class _Head:
    """What a board request needs to know of its challenge, read at most once per TTL."""

    engine: Engine
    challenge_id: int
    created_at: datetime
    state: str
    closes_at: datetime | None
    version: int
    read_at: float
    visibility: str = Visibility.public
    tracks: tuple[BoardTrack, ...] = ()

    def key(self, board: str, now: datetime) -> tuple[int, str, str, int, str]:
        # The state in the key follows the deadline (a board shows whether it is closed).
        state = self.state
        if state == ChallengeState.open and self.closes_at is not None and now >= self.closes_at:
            state = ChallengeState.closed
        # created_at tells apart a challenge re-created under the same id in a new database.
        return (self.challenge_id, self.created_at.isoformat(), board, self.version, state)


_cache: OrderedDict[tuple[int, str, str, int, str], CachedBoard] = OrderedDict()
_heads: dict[tuple[int, str], _Head] = {}
_forgotten: dict[int, int] = {}  # challenge id -> how many times forget() dropped it
_computing: dict[tuple[int, str, str, int, str], threading.Lock] = {}
_refreshing: dict[tuple[int, str], float] = {}  # head key -> when a request went to re-read it
_cache_lock = threading.Lock()
# The newest public board ranking per challenge, which the next version moves (incremental).
_rankings: OrderedDict[tuple[int, str], PublicBoard] = OrderedDict()


def _ttl() -> float:
    return get_settings().leaderboard_cache_seconds


def _fresh_head(engine: Engine, slug: str, share_refresh: bool = False) -> _Head | None:
    """What this process read of the challenge, if recent enough to trust.

    With ``share_refresh`` (the no-database path), once it expires one request is
    sent to read it again while the others keep using it for at most
    ``REFRESH_GRACE_SECONDS`` more: without that, every request in flight at
    that moment took the slow path at once, several times a second (p99).
    """
    key = (id(engine), slug)
    head = _heads.get(key)
    # Compare the engine itself: its id could be reused once a test disposes of it.
    if head is None or head.engine is not engine:
        return None
    now = time.monotonic()
    ttl = _ttl()
    age = now - head.read_at
    if age <= ttl:
        return head
    if not share_refresh or ttl == 0 or age > ttl + REFRESH_GRACE_SECONDS:
        return None
    with _cache_lock:
        claimed = _refreshing.get(key)
        if claimed is None or now - claimed > REFRESH_GRACE_SECONDS:
            _refreshing[key] = now
            return None  # this request reads it again
    return head


def _read_head(session: Session, slug: str) -> _Head | None:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _cache_lock:
        generations = dict(_forgotten)
    started = time.monotonic()
    row = session.execute(
        select(
            Challenge.id,
            Challenge.created_at,
            Challenge.state,
            Challenge.closes_at,
            Challenge.board_version,
            Challenge.visibility,
            Challenge.tracks,
        ).where(Challenge.slug == slug)
    ).one_or_none()
    if row is None:
        return None
    head = _Head(
        engine,
        row[0],
        row[1],
        row[2],
        row[3],
        int(row[4] or 0),
        started,
        row[5],
        tuple(declared(row[6])),
    )
    with _cache_lock:
        # A commit in this process that bumped the board while we read: do not keep
        # what we read (it may predate the commit); the next request reads again.
        if _forgotten.get(head.challenge_id) == generations.get(head.challenge_id):
            _heads[(id(engine), slug)] = head
        _refreshing.pop((id(engine), slug), None)
    return head


def _remember(
    key: tuple[int, str, str, int, str],
    board: Leaderboard | Callable[[], Leaderboard],
    body: bytes | None = None,
) -> CachedBoard:
    """Cache the board with its body (serialized here when not given), gzipped once."""
    etag = 'W/"' + "-".join(str(part) for part in key).replace(":", "").replace(" ", "") + '"'
    if body is None:
        assert isinstance(board, Leaderboard)
        body = board.model_dump_json(by_alias=True).encode()
    level = LARGE_GZIP_LEVEL if len(body) > LARGE_BODY else GZIP_LEVEL
    cached = CachedBoard(board, body, gzip.compress(body, level, mtime=0), etag)
    with _cache_lock:
        _cache[key] = cached
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return cached


def _lookup(key: tuple[int, str, str, int, str]) -> CachedBoard | None:
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
        return cached


def _board_key(board: str, track: BoardTrack | None) -> str:
    return board if track is None else f"{board}.track.{track.key}"


def cached_board(slug: str, board: str, track: str | None = None) -> CachedBoard | None:
    """A board anyone may see, from this process's memory alone (no database), or None.

    None when the challenge's version was not read within ``leaderboard_cache_seconds``,
    the board is not cached, or it is not for everyone (drafts; private before finalize);
    also for a track the challenge does not declare (the checked path says so).
    """
    head = _fresh_head(get_engine(), slug, share_refresh=True)
    # Private challenges: every request goes through the viewer check (server.challenges.access).
    if head is None or head.state == ChallengeState.draft or head.visibility == Visibility.private:
        return None
    if board == "private" and head.state != ChallengeState.finalized:
        return None
    found = None
    if track is not None:
        found = next((t for t in head.tracks if t.name == track), None)
        if found is None:
            return None
    return _lookup(head.key(_board_key(board, found), utcnow()))


def get_cached(
    session: Session, challenge: Challenge, board: str, track: BoardTrack | None = None
) -> CachedBoard:
    """The board with its JSON, from the cache when the challenge's version matches.

    The version is read from the database at most once per ``leaderboard_cache_seconds``
    per process (every scoring, selection, rename or finalization bumps it, and a
    commit in this process drops what this process knew at once), so other
    processes serve a new board within that time. A track's board (``track``, from
    ``leaderboard.tracks.find_track``) is cached beside the full one, keyed on its budget.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    head = _fresh_head(engine, challenge.slug)
    if head is None or head.challenge_id != challenge.id:
        head = _read_head(session, challenge.slug)
    assert head is not None
    key = head.key(_board_key(board, track), utcnow())
    cached = _lookup(key)
    if cached is not None:
        return cached
    # One computation per new version: the requests that arrive meanwhile wait for it
    # instead of each computing the same board (1,000 teams: ~0.1 s of CPU each).
    with _cache_lock:
        computing = _computing.setdefault(key, threading.Lock())
    with computing:
        cached = _lookup(key)
        if cached is None:
            made = _compute(session, challenge, board, track, key)
            if isinstance(made, Leaderboard):
                cached = _remember(key, made)
            else:
                body, make = made
                cached = _remember(key, make, body)
        with _cache_lock:
            _computing.pop(key, None)
        return cached


def _compute(
    session: Session,
    challenge: Challenge,
    board: str,
    track: BoardTrack | None,
    key: tuple[int, str, str, int, str],
) -> Leaderboard | tuple[bytes, Callable[[], Leaderboard]]:
    """The board at ``key``'s version: moved from this process's last ranking when it can be,
    then as its body joined from the ranking's fragments and how to build the object."""
    if track is not None or not incremental.supports(challenge, board):
        return compute(session, challenge, board, track)
    ranking_key = (key[0], key[1])  # the challenge (id, created_at)
    with _cache_lock:
        base = _rankings.get(ranking_key)
    ranking = incremental.advance(session, challenge, base) if base else None
    if ranking is None:
        ranking = incremental.build(session, challenge)
    with _cache_lock:
        newest = _rankings.get(ranking_key)
        if newest is None or newest.version <= ranking.version:
            _rankings[ranking_key] = ranking
            _rankings.move_to_end(ranking_key)
        while len(_rankings) > CACHE_SIZE:
            _rankings.popitem(last=False)
    return incremental.serve(session, challenge, ranking)


def get_board(
    session: Session, challenge: Challenge, board: str, track: BoardTrack | None = None
) -> Leaderboard:
    """The board, from the per-process cache when the challenge's version matches."""
    return get_cached(session, challenge, board, track).board


def forget(challenge_ids: set[int]) -> None:
    with _cache_lock:
        for challenge_id in challenge_ids:
            _forgotten[challenge_id] = _forgotten.get(challenge_id, 0) + 1
        for key in [k for k, head in _heads.items() if head.challenge_id in challenge_ids]:
            del _heads[key]


@event.listens_for(Session, "after_commit")
def _forget_bumped_boards(session: Session) -> None:
    bumped = session.info.pop(BUMPED_BOARDS, None)
    if bumped:
        forget(bumped)


@event.listens_for(Session, "after_rollback")
def _discard_bumped_boards(session: Session) -> None:
    session.info.pop(BUMPED_BOARDS, None)


def private_visible(challenge: Challenge, manages: bool) -> bool:
    """The private board: for the challenge's managers before finalization, everyone after."""
    return manages or challenge.state == ChallengeState.finalized
