"""Who manages a challenge besides its creator (hosts), and who may enter a private one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow
from server.models.user import User


class ChallengeHost(Base):
    """A user who manages a challenge exactly as its creator does."""

    __tablename__ = "challenge_host"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class AccessStatus(StrEnum):
    invited = "invited"  # may see the challenge (invite link); joining may need approval
    approved = "approved"  # invited by username, or approved by a host: may join
    pending = "pending"  # asked to join a challenge that requires approval
    rejected = "rejected"  # a host said no


class ChallengeAccess(Base):
    """A user's invitation to, or request to join, one challenge."""

    __tablename__ = "challenge_access"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()
