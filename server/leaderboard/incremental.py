"""Incremental ranking: a new version of a public board moves the changed teams' rows.

A public board ranked on one metric (no tie-breakers) is kept as a
:class:`PublicBoard`: each team's best row with its name and counts, in rank
order, and the tie marks between neighbours. When the challenge's board version
moves from the one it was built at, the change log (``BoardChange``, written by
``bump_board`` for a recorded result or a stored bootstrap) names the teams each
version touched: only their rows are read again and moved, which costs a few
indexed queries instead of ranking every scored submission (10,000 teams x 20
submissions: about a second). Whenever the log does not account for every
version in between (a rename, a selection, a disqualification, a finalization,
a baseline, a pruned log, a bump by other means), the board is built again
from scratch by :func:`build`, which is what the board always did.

The order and the entries are the same as :func:`server.leaderboard.board.compute`'s
(``tests/server/test_incremental_board.py`` checks it on random histories). Each
team's entry is also kept serialized (``server.leaderboard.fragments``), made
again only for the teams that changed: :func:`serve` joins the body from them
and builds the ``Leaderboard`` object only when something asks for it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import BoardChange, Challenge, Submission, SubmissionStatus, Team, utcnow
from server.scoring import bootstrap

from . import fragments as json_fragments
from .board import baseline_rows, public_best_rows, team_stats
from .fragments import Fragment
from .ranking import ROW_COLUMNS, Order, Row
from .schemas import Leaderboard, LeaderboardEntry

# More changed teams than this in one step: building the board again is as cheap.
MAX_CHANGED_TEAMS = 200
SortKey = tuple[Any, ...]
UNKNOWN = object()


@dataclass(frozen=True)
class Standing:
    """A team on the board: its best row, name, scored submissions and the latest one."""

    row: Row
    name: str
    count: int
    last: datetime | None


@dataclass(frozen=True)
class PublicBoard:
    """A public board's ranking at ``version``; never changed once made."""

    challenge_id: int
    version: int
    greater: bool
    teams: dict[int, Standing]  # team id -> standing
    ranked: list[tuple[SortKey, int]]  # (sort key, team id), best first
    # marks[i]: whether ranked[i] is tied with ranked[i + 1] (None: no bootstrap to say)
    marks: list[bool | None]
    # The database's order is this module's order (no NaN, no other collation): else the
    # board is only ever rebuilt.
    movable: bool = True
    # team id -> its entry's JSON, but for the rank and the tie mark (fragments.cut)
    fragments: dict[int, Fragment] = field(default_factory=dict, repr=False)


def supports(challenge: Challenge, board: str) -> bool:
    """Boards kept incrementally: public, ranked on the challenge's metric alone."""
    return board == "public" and not Order.of(challenge).tie_breakers


def _key(row: Row, greater: bool) -> SortKey:
    score = row.public
    assert score is not None
    return (-score if greater else score, row.created_at, row.id)


def _version(session: Session, challenge_id: int) -> int:
    # Read before the rows, in the same transaction: the rows are at least this new (on
    # SQLite, of the same snapshot), so the changes after it are all the ones to apply.
    return int(
        session.scalar(select(Challenge.board_version).where(Challenge.id == challenge_id)) or 0
    )


def build(session: Session, challenge: Challenge) -> PublicBoard:
    """The board from scratch: each team's best row chosen by the database."""
    version = _version(session, challenge.id)
    greater = Order.of(challenge).greater
    names, counts, last = team_stats(session, challenge.id)
    gone = _disqualified(session, challenge.id)
    best = [r for r in public_best_rows(session, challenge.id, greater) if r.team_id not in gone]
    teams = {
        r.team_id: Standing(
            r, names.get(r.team_id, "?"), counts.get(r.team_id, 0), last.get(r.team_id)
        )
        for r in best
    }
    ranked = [(_key(r, greater), r.team_id) for r in best]
    movable = all(a < b for a, b in zip(ranked, ranked[1:], strict=False))
    movable = movable and not any(math.isnan(key[0]) for key, _ in ranked)
    marks = _tie_marks(session, ranked, [UNKNOWN] * max(len(ranked) - 1, 0))
    return PublicBoard(
        challenge.id, version, greater, teams, ranked, marks, movable, _fragments(teams)
    )


def advance(session: Session, challenge: Challenge, base: PublicBoard) -> PublicBoard | None:
    """``base`` moved to the current version by the logged changes; None when they do not say."""
    version = _version(session, challenge.id)
    greater = Order.of(challenge).greater
    if base.challenge_id != challenge.id or base.greater != greater or version < base.version:
        return None
    if not base.movable:
        return None
    if version == base.version:
        return base
    changes = session.execute(
        select(BoardChange.version, BoardChange.team_id).where(
            BoardChange.challenge_id == challenge.id,
            BoardChange.version > base.version,
            BoardChange.version <= version,
        )
    ).all()
    if len({v for v, _ in changes}) != version - base.version:
        return None  # a version that may have changed anything: rebuild
    changed = {team_id for _, team_id in changes}
    if len(changed) > MAX_CHANGED_TEAMS:
        return None
    teams = dict(base.teams)
    ranked = list(base.ranked)
    marks: list[Any] = list(base.marks)  # the pairs made or broken here become UNKNOWN
    for team_id in sorted(changed):
        old = teams.pop(team_id, None)
        if old is not None:
            at = bisect.bisect_left(ranked, (_key(old.row, greater), team_id))
            del ranked[at]
            if marks:  # its pairs go; its neighbours become one new pair
                del marks[min(at, len(marks) - 1)]
                if 0 < at < len(ranked):
                    marks[at - 1] = UNKNOWN
        new = _standing(session, challenge.id, team_id, greater)
        if new is not None and new.row.public is not None and math.isnan(new.row.public):
            return None
        if new is not None:
            teams[team_id] = new
            entry = (_key(new.row, greater), team_id)
            at = bisect.bisect_left(ranked, entry)
            ranked.insert(at, entry)
            if len(ranked) > 1:  # two new pairs, or one at either end
                marks.insert(min(at, len(marks)), UNKNOWN)
                if 0 < at < len(ranked) - 1:
                    marks[at - 1] = UNKNOWN
    fragments = dict(base.fragments)
    for team_id in changed:
        fragments.pop(team_id, None)
    fragments |= _fragments({t: teams[t] for t in changed if t in teams})
    marks = _tie_marks(session, ranked, marks)
    return PublicBoard(challenge.id, version, greater, teams, ranked, marks, True, fragments)


def _standing(session: Session, challenge_id: int, team_id: int, greater: bool) -> Standing | None:
    """One team as :func:`build` sees it; None when it is not on the board."""
    team = session.execute(
        select(Team.name, Team.disqualified_at).where(
            Team.id == team_id, Team.challenge_id == challenge_id
        )
    ).one_or_none()
    if team is None or team.disqualified_at is not None:
        return None
    counted = (
        Submission.challenge_id == challenge_id,
        Submission.team_id == team_id,
        Submission.status == SubmissionStatus.scored,
        Submission.late.is_(False),
    )
    score = Submission.public_score.desc() if greater else Submission.public_score.asc()
    best = session.execute(
        select(*ROW_COLUMNS)
        .where(*counted, Submission.public_score.is_not(None))
        .order_by(score, Submission.created_at.asc(), Submission.id.asc())
        .limit(1)
    ).one_or_none()
    if best is None:
        return None
    count, last = session.execute(
        select(func.count(Submission.id), func.max(Submission.created_at)).where(*counted)
    ).one()
    return Standing(Row(*best), team.name, count, last)


def _disqualified(session: Session, challenge_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Team.id).where(
                Team.challenge_id == challenge_id, Team.disqualified_at.is_not(None)
            )
        )
    )


def _tie_marks(
    session: Session, ranked: list[tuple[SortKey, int]], marks: list[Any]
) -> list[bool | None]:
    """``marks`` (one per neighbour pair) with each UNKNOWN one made from the bootstraps."""
    assert len(marks) == max(len(ranked) - 1, 0)
    missing = [i for i, mark in enumerate(marks) if mark is UNKNOWN]
    ids = [key[-1] for key, _ in ranked]  # the sort key ends with the row's id
    needed = {ids[j] for i in missing for j in (i, i + 1)}
    blobs: dict[int, bytes | None] = {}
    for start in range(0, len(needed), 5000):  # bounded IN lists
        chunk = sorted(needed)[start : start + 5000]
        blobs |= dict(
            session.execute(
                select(Submission.id, Submission.public_bootstrap).where(Submission.id.in_(chunk))
            )
            .tuples()
            .all()
        )
    decoded = {i: bootstrap.decode(blob) for i, blob in blobs.items()}
    for i in missing:
        first, second = decoded.get(ids[i]), decoded.get(ids[i + 1])
        marks[i] = None if first is None or second is None else bootstrap.tied(first, second)
    return marks


def _entry(standing: Standing, rank: int, tied: bool | None) -> LeaderboardEntry:
    row = standing.row
    assert row.public is not None
    # Values of the types the fields declare, read from the database: no validation
    # (10,000 entries: 120 ms of CPU validated, a fifth of that without).
    return LeaderboardEntry.model_construct(
        rank=rank,
        team=standing.name,
        score=row.public,
        submissions=standing.count,
        last_submission_at=standing.last,
        best_submission_at=row.created_at,
        parameter_count=row.params,
        inference_seconds_per_1k=row.infer,
        peak_memory_mb=row.memory,
        ci_halfwidth=row.ci,
        tied_with_next=tied,
    )


def _fragments(teams: dict[int, Standing]) -> dict[int, Fragment]:
    """Each team's entry serialized, cut around its rank and tie mark."""
    ids = list(teams)
    cut = json_fragments.cut([_entry(teams[t], 0, None) for t in ids])
    return dict(zip(ids, cut, strict=True))


def _marks(board: PublicBoard) -> list[bool | None]:
    """Each entry's tie mark, in rank order (None for the last)."""
    return [*board.marks, None] if board.ranked else []


def _head(session: Session, challenge: Challenge, board: PublicBoard) -> Leaderboard:
    return Leaderboard(
        board="public",
        challenge=challenge.slug,
        metric=challenge.metric,
        metrics=[challenge.metric],
        greater_is_better=board.greater,
        state=challenge.state,
        generated_at=utcnow(),
        entries=[],
        baselines=baseline_rows(session, challenge.id, "public"),
    )


def _entries(board: PublicBoard) -> list[LeaderboardEntry]:
    return [
        _entry(board.teams[team_id], rank, tied)
        for rank, ((_, team_id), tied) in enumerate(
            zip(board.ranked, _marks(board), strict=True), start=1
        )
    ]


def assemble(session: Session, challenge: Challenge, board: PublicBoard) -> Leaderboard:
    """The board's entries in rank order, as :func:`server.leaderboard.board.compute` makes them."""
    return _head(session, challenge, board).model_copy(update={"entries": _entries(board)})


def serve(
    session: Session, challenge: Challenge, board: PublicBoard
) -> tuple[bytes, Callable[[], Leaderboard]]:
    """The board's JSON body, joined from the kept fragments, and how to build the object.

    The body is the bytes ``assemble(...).model_dump_json()`` would give (the same
    ``generated_at`` and baselines as the object built later); no entry is made here.
    """
    head = _head(session, challenge, board)
    kept = board.fragments
    body = json_fragments.join(head, [kept[t] for _, t in board.ranked], _marks(board))
    return body, lambda: head.model_copy(update={"entries": _entries(board)})
