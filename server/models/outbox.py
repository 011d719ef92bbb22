"""The webhook outbox: each message to send, written in the transaction that decided it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, utcnow


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(Base):
    """One post to one webhook. ``key`` names the event and target: an event decided
    twice (two server processes) is queued once. A deliverer owns a row while
    ``claimed_until`` is in the future (see ``server.insight.outbox``)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenge.id", ondelete="CASCADE"), default=None
    )
    target: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
