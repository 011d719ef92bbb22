from __future__ import annotations

from fastapi import APIRouter, Response, status

from server.announcements import service
from server.announcements.schemas import AnnouncementCreate, AnnouncementRead
from server.challenges.router import ManagedChallenge, VisibleChallenge
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.insight.notify import notifier, queue_announcement
from server.models.base import RowId

router = APIRouter(prefix="/api/v1/challenges/{slug}/announcements", tags=["announcements"])


@router.post("", response_model=AnnouncementRead, status_code=status.HTTP_201_CREATED)
def post_announcement(
    body: AnnouncementCreate,
    challenge: ManagedChallenge,
    author: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> object:
    """Tell everyone in the challenge (Markdown); also sent to its Discord/Slack webhooks."""
    announcement = service.post(session, challenge, author, body)
    read = AnnouncementRead.model_validate(announcement)
    # Queued in the outbox in the same transaction: stored and sent, or neither.
    queue_announcement(session, challenge, read.id, read.title, read.body, settings)
    session.commit()
    notifier.wake()
    return read


@router.get("", response_model=list[AnnouncementRead])
def list_announcements(challenge: VisibleChallenge, session: SessionDep) -> object:
    """The challenge's announcements, newest first."""
    return service.newest_first(session, challenge)


@router.delete("/{announcement_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_announcement(
    announcement_id: RowId, challenge: ManagedChallenge, session: SessionDep
) -> Response:
    """Remove an announcement from the challenge page (webhook messages stay sent)."""
    service.delete(session, challenge, announcement_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
