"""The board change log: which team a board version changed (incremental ranking)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class BoardChange(Base):
    """Board version ``version`` of a challenge changed one team's rows and nothing else.

    Written with the bump (``server.leaderboard.bump``) by the frequent changes: a
    result recorded, a bootstrap stored. A version with no row here may have changed
    anything (a rename, a selection, a disqualification, a finalization, a baseline):
    a process that meets one rebuilds the board. ``team_id`` is not a foreign key:
    the team may be gone (merged), and then it leaves the board.
    """

    __tablename__ = "board_change"
    __table_args__ = (UniqueConstraint("challenge_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id", ondelete="CASCADE"))
    version: Mapped[int]
    team_id: Mapped[int]
