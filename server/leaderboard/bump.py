"""Invalidating boards: bump a challenge's ``board_version`` in the same transaction.

Every change that can move a board (a result recorded, a selection, a rename,
a finalization) calls :func:`bump_board` before its commit. Other processes
see the new version within ``leaderboard_cache_seconds``; this one forgets its
cached boards at once, on commit (``server.leaderboard.service`` listens).
Low in the layers on purpose: the scoring queue bumps boards without
importing the board cache.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.models import Challenge

# session.info key: the challenges whose boards this transaction changes.
BUMPED_BOARDS = "podium.bumped_boards"


def bump_board(session: Session, challenge_id: int) -> None:
    """Invalidate cached leaderboards of a challenge (any process)."""
    session.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id)
        .values(board_version=Challenge.board_version + 1)
    )
    note_bump(session, challenge_id)


def note_bump(session: Session, challenge_id: int) -> None:
    """Remember that this transaction changes a board: this process forgets it on commit."""
    session.info.setdefault(BUMPED_BOARDS, set()).add(challenge_id)
