"""Invalidating boards: bump a challenge's ``board_version`` in the same transaction.

Every change that can move a board (a result recorded, a selection, a rename,
a finalization) calls :func:`bump_board` before its commit. Other processes
see the new version within ``leaderboard_cache_seconds``; this one forgets its
cached boards at once, on commit (``server.leaderboard.service`` listens).
Low in the layers on purpose: the scoring queue bumps boards without
importing the board cache.

The frequent changes (a result recorded, a bootstrap stored) touch one team's
submissions: they name it, and the new version is logged with it
(``BoardChange``), so that every process moves that team's row on its cached
board instead of rebuilding the board (``server.leaderboard.incremental``). A
version without a log row may have changed anything: it is rebuilt.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from server.models import BoardChange, Challenge

# session.info key: the challenges whose boards this transaction changes.
BUMPED_BOARDS = "podium.bumped_boards"
# The change log keeps the last this-many versions of a challenge (a process whose
# board is older rebuilds it); pruned once every PRUNE_EVERY versions.
KEEP_CHANGES = 1000
PRUNE_EVERY = 100


def bump_board(session: Session, challenge_id: int, team_id: int | None = None) -> None:
    """Invalidate cached leaderboards of a challenge (any process).

    ``team_id``: the change touched that team's submissions and nothing else
    (incremental ranking); None when it may have changed anything.
    """
    statement = (
        update(Challenge)
        .where(Challenge.id == challenge_id)
        .values(board_version=Challenge.board_version + 1)
    )
    if team_id is None:
        session.execute(statement)
    else:
        version = session.execute(statement.returning(Challenge.board_version)).scalar()
        if version is not None:
            session.execute(
                insert(BoardChange).values(
                    challenge_id=challenge_id, version=version, team_id=team_id
                )
            )
            if version % PRUNE_EVERY == 0:
                session.execute(
                    delete(BoardChange).where(
                        BoardChange.challenge_id == challenge_id,
                        BoardChange.version <= version - KEEP_CHANGES,
                    )
                )
    note_bump(session, challenge_id)


def note_bump(session: Session, challenge_id: int) -> None:
    """Remember that this transaction changes a board: this process forgets it on commit."""
    session.info.setdefault(BUMPED_BOARDS, set()).add(challenge_id)
