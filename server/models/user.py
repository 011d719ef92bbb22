from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow


class Role(StrEnum):
    """participant < organizer (creates challenges, manages its own and those it hosts)
    < admin (manages everything, users included)."""

    participant = "participant"
    organizer = "organizer"
    admin = "admin"


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # Empty until the user sets a password (accounts made by organizers get a link).
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.participant)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # Set by an organizer or admin only (it grants access by allowed_email_domains).
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    student_id: Mapped[str | None] = mapped_column(String(64), default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    @property
    def is_organizer(self) -> bool:
        """May create challenges (organizers and admins)."""
        return self.role in (Role.organizer, Role.admin)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


# Usernames are unique without regard to case, in the database itself: two
# parallel sign-ups of "Quinn" and "quinn" cannot both commit.
Index("uq_user_username_lower", func.lower(User.username), unique=True)


class ApiToken(Base):
    """An API token; only the SHA-256 of the secret is stored (it is shown once)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session | welcome
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginFailure(Base):
    """One failed login; counted per username and per address for rate limiting."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_created_at", "username", "created_at"),
        Index("ix_login_failure_address_created_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefusedUpload(Base):
    """The bytes of one refused submission upload (422, 429): a daily budget per user."""

    __tablename__ = "refused_upload"
    __table_args__ = (Index("ix_refused_upload_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
