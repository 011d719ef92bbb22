"""Post, list and delete a challenge's announcements (newest first)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.announcements.schemas import AnnouncementCreate
from server.exceptions import NotFound
from server.models import Announcement, Challenge, User


def post(
    session: Session, challenge: Challenge, author: User, body: AnnouncementCreate
) -> Announcement:
    announcement = Announcement(
        challenge_id=challenge.id, title=body.title, body=body.body, created_by_id=author.id
    )
    session.add(announcement)
    session.flush()
    return announcement


def newest_first(
    session: Session, challenge: Challenge, limit: int | None = None
) -> list[Announcement]:
    query = (
        select(Announcement)
        .where(Announcement.challenge_id == challenge.id)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def delete(session: Session, challenge: Challenge, announcement_id: int) -> None:
    announcement = session.get(Announcement, announcement_id)
    if announcement is None or announcement.challenge_id != challenge.id:
        raise NotFound.of("announcement")
    session.delete(announcement)
    session.flush()
