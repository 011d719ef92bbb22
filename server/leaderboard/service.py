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
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from server.baselines.schemas import BaselineEntry, label
from server.config import get_settings
from server.db import get_engine
from server.models import (
    Baseline,
    Challenge,
    ChallengeState,
    Submission,
    SubmissionStatus,
    Team,
    utcnow,
)
from server.scoring.metrics import get_metric

from .schemas import Leaderboard, LeaderboardEntry

CACHE_SIZE = 64
# How long past leaderboard_cache_seconds a board may still be served while one
# request re-reads the version: the bound on staleness is the sum of the two.
REFRESH_GRACE_SECONDS = 0.5
T = TypeVar("T")
GZIP_LEVEL = 6


@dataclass(frozen=True)
class _Row:
    id: int
    team_id: int
    public: float | None
    private: float | None
    created_at: datetime
    selected: bool
    ci: float | None
    params: int | None
    infer: float | None
    memory: float | None


_ROW_COLUMNS = (
    Submission.id,
    Submission.team_id,
    Submission.public_score,
    Submission.private_score,
    Submission.created_at,
    Submission.selected_for_final,
    Submission.public_ci_halfwidth,
    Submission.parameter_count,
    Submission.inference_seconds_per_1k,
    Submission.peak_memory_mb,
)


def _scored_rows(session: Session, challenge_id: int) -> list[_Row]:
    rows = session.execute(
        select(*_ROW_COLUMNS).where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            Submission.team_id.is_not(None),  # baseline rows never rank
            Submission.late.is_(False),
        )
    ).all()
    return [_Row(*row) for row in rows]  # type: ignore[call-arg, arg-type]


def _public_best_rows(session: Session, challenge_id: int, greater_is_better: bool) -> list[_Row]:
    """Each team's best public submission, best first, chosen by the database.

    The same order as :func:`_best_per_team` (score, then the earliest, then the
    lowest id), but only one row per team comes back: at 200,000 submissions that
    is 10x less time than loading them all into Python.
    """
    score = Submission.public_score.desc() if greater_is_better else Submission.public_score.asc()
    order = (score, Submission.created_at.asc(), Submission.id.asc())
    ranked = (
        select(
            *_ROW_COLUMNS,
            func.row_number().over(partition_by=Submission.team_id, order_by=order).label("place"),
        )
        .where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            Submission.late.is_(False),
            Submission.public_score.is_not(None),
            Submission.team_id.is_not(None),  # baseline rows never rank
        )
        .subquery()
    )
    columns = [ranked.c[column.key] for column in _ROW_COLUMNS]
    score_column = (
        ranked.c.public_score.desc() if greater_is_better else ranked.c.public_score.asc()
    )
    rows = session.execute(
        select(*columns)
        .where(ranked.c.place == 1)
        .order_by(score_column, ranked.c.created_at.asc(), ranked.c.id.asc())
    ).all()
    return [_Row(*row) for row in rows]


def _ordered(rows: list[_Row], key: str, greater_is_better: bool) -> list[_Row]:
    """Best first; ties go to the earliest submission. Missing scores never rank."""
    sign = -1.0 if greater_is_better else 1.0
    present = [r for r in rows if getattr(r, key) is not None]
    return sorted(present, key=lambda r: (sign * getattr(r, key), r.created_at, r.id))


def _best_per_team(rows: list[_Row], key: str, greater_is_better: bool) -> list[_Row]:
    seen: set[int] = set()
    best = []
    for row in _ordered(rows, key, greater_is_better):
        if row.team_id not in seen:
            seen.add(row.team_id)
            best.append(row)
    return best


def _team_stats(
    session: Session, challenge_id: int
) -> tuple[dict[int, str], dict[int, int], dict[int, datetime]]:
    names = dict(
        session.execute(select(Team.id, Team.name).where(Team.challenge_id == challenge_id))
        .tuples()
        .all()
    )
    stats = session.execute(
        select(Submission.team_id, func.count(Submission.id), func.max(Submission.created_at))
        .where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            Submission.team_id.is_not(None),
            Submission.late.is_(False),
        )
        .group_by(Submission.team_id)
    ).all()
    counts = {team_id: count for team_id, count, _ in stats if team_id is not None}
    last = {team_id: latest for team_id, _, latest in stats if team_id is not None}
    return names, counts, last


def _private_candidates(rows: list[_Row], final_count: int, greater: bool) -> list[_Row]:
    """Per team: its selected submissions, or its best public ones when it chose none."""
    by_team: dict[int, list[_Row]] = {}
    for row in rows:
        by_team.setdefault(row.team_id, []).append(row)
    candidates: list[_Row] = []
    for team_rows in by_team.values():
        selected = [r for r in team_rows if r.selected]  # never more than final_count:
        candidates += _ordered(selected or team_rows, "public", greater)[:final_count]
    return candidates


def compute(session: Session, challenge: Challenge, board: str) -> Leaderboard:
    greater = get_metric(challenge.metric).greater_is_better
    names, counts, last = _team_stats(session, challenge.id)
    if board == "public":
        best = public_best = _public_best_rows(session, challenge.id, greater)
    else:
        rows = _scored_rows(session, challenge.id)
        public_best = _best_per_team(rows, "public", greater)
        candidates = _private_candidates(rows, challenge.final_selection_count, greater)
        best = _best_per_team(candidates, "private", greater)
    public_rank = {row.team_id: rank for rank, row in enumerate(public_best, start=1)}
    tied: list[bool | None] = [None] * len(best)
    if board == "public":
        from server.insight.service import tied_marks

        tied = list(tied_marks(session, [r.id for r in best]))
    entries = []
    # Every field goes to the constructor: setting them afterwards costs pydantic
    # far more (a third of the board's time at 10,000 teams).
    for rank, (row, tied_with_next) in enumerate(zip(best, tied, strict=True), start=1):
        score = row.public if board == "public" else row.private
        assert score is not None
        extra: dict[str, object] = {}
        if board == "public":
            extra = {"ci_halfwidth": row.ci, "tied_with_next": tied_with_next}
        else:
            was = public_rank.get(row.team_id)
            extra = {"public_rank": was, "move": (was - rank) if was is not None else None}
        entries.append(
            LeaderboardEntry(
                rank=rank,
                team=names.get(row.team_id, "?"),
                score=score,
                submissions=counts.get(row.team_id, 0),
                last_submission_at=last.get(row.team_id),
                best_submission_at=row.created_at,
                parameter_count=row.params,
                inference_seconds_per_1k=row.infer,
                peak_memory_mb=row.memory,
                **extra,
            )
        )
    return Leaderboard(
        board="public" if board == "public" else "private",
        challenge=challenge.slug,
        metric=challenge.metric,
        greater_is_better=greater,
        state=challenge.state,
        generated_at=utcnow(),
        entries=entries,
        baselines=baseline_rows(session, challenge.id, board),
    )


def baseline_rows(session: Session, challenge_id: int, board: str) -> list[BaselineEntry]:
    """The scored baselines with their score on ``board`` (the caller gates the board)."""
    score = Submission.public_score if board == "public" else Submission.private_score
    rows = session.execute(
        select(Baseline.name, Baseline.description, score)
        .join(Submission, Submission.id == Baseline.submission_id)
        .where(
            Baseline.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
            score.is_not(None),
        )
        .order_by(Baseline.id)
    ).tuples()
    return [
        BaselineEntry(name=name, label=label(name), description=description, score=value)
        for name, description, value in rows
    ]


@dataclass(frozen=True)
class CachedBoard:
    """A computed board with its JSON body, ready to send as is."""

    board: Leaderboard
    body: bytes
    gzip_body: bytes  # sent to the clients that accept it: browsers, the CLI
    etag: str
    renderings: dict[Hashable, object] = field(default_factory=dict, compare=False, repr=False)

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
BUMPED_BOARDS = "podium.bumped_boards"


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
        ).where(Challenge.slug == slug)
    ).one_or_none()
    if row is None:
        return None
    head = _Head(engine, row[0], row[1], row[2], row[3], int(row[4] or 0), started)
    with _cache_lock:
        # A commit in this process that bumped the board while we read: do not keep
        # what we read (it may predate the commit); the next request reads again.
        if _forgotten.get(head.challenge_id) == generations.get(head.challenge_id):
            _heads[(id(engine), slug)] = head
        _refreshing.pop((id(engine), slug), None)
    return head


def _remember(key: tuple[int, str, str, int, str], board: Leaderboard) -> CachedBoard:
    etag = 'W/"' + "-".join(str(part) for part in key).replace(":", "").replace(" ", "") + '"'
    body = board.model_dump_json(by_alias=True).encode()
    cached = CachedBoard(board, body, gzip.compress(body, GZIP_LEVEL, mtime=0), etag)
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


def cached_board(slug: str, board: str) -> CachedBoard | None:
    """A board anyone may see, from this process's memory alone (no database), or None.

    None when the challenge's version was not read within ``leaderboard_cache_seconds``,
    the board is not cached, or it is not for everyone (drafts; private before finalize).
    """
    head = _fresh_head(get_engine(), slug, share_refresh=True)
    if head is None or head.state == ChallengeState.draft:
        return None
    if board == "private" and head.state != ChallengeState.finalized:
        return None
    return _lookup(head.key(board, utcnow()))


def get_cached(session: Session, challenge: Challenge, board: str) -> CachedBoard:
    """The board with its JSON, from the cache when the challenge's version matches.

    The version is read from the database at most once per ``leaderboard_cache_seconds``
    per process (every scoring, selection, rename or finalization bumps it, and a
    commit in this process drops what this process knew at once), so other
    processes serve a new board within that time.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    head = _fresh_head(engine, challenge.slug)
    if head is None or head.challenge_id != challenge.id:
        head = _read_head(session, challenge.slug)
    assert head is not None
    key = head.key(board, utcnow())
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
            cached = _remember(key, compute(session, challenge, board))
        with _cache_lock:
            _computing.pop(key, None)
        return cached


def get_board(session: Session, challenge: Challenge, board: str) -> Leaderboard:
    """The board, from the per-process cache when the challenge's version matches."""
    return get_cached(session, challenge, board).board


def note_bump(session: Session, challenge_id: int) -> None:
    """Remember that this transaction changes a board: this process forgets it on commit."""
    session.info.setdefault(BUMPED_BOARDS, set()).add(challenge_id)


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


def private_visible(challenge: Challenge, is_organizer: bool) -> bool:
    return is_organizer or challenge.state == ChallengeState.finalized
