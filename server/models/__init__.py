"""ORM models; import from here so Alembic sees every table."""

from server.models.access import AccessStatus, ChallengeAccess, ChallengeHost
from server.models.base import Base, utcnow
from server.models.board import BoardChange
from server.models.challenge import (
    AtlasVisibility,
    Challenge,
    ChallengeFile,
    ChallengeState,
    Visibility,
)
from server.models.extras import Announcement, Baseline
from server.models.outbox import OutboxMessage, OutboxStatus
from server.models.submission import UNFINISHED, Submission, SubmissionStatus
from server.models.team import Team, TeamMember
from server.models.user import ApiToken, LoginFailure, RefusedUpload, Role, User

__all__ = [
    "AtlasVisibility",
    "UNFINISHED",
    "AccessStatus",
    "Announcement",
    "ApiToken",
    "Baseline",
    "Base",
    "BoardChange",
    "Challenge",
    "ChallengeAccess",
    "ChallengeFile",
    "ChallengeHost",
    "ChallengeState",
    "LoginFailure",
    "OutboxMessage",
    "OutboxStatus",
    "RefusedUpload",
    "Role",
    "Submission",
    "SubmissionStatus",
    "Team",
    "TeamMember",
    "User",
    "Visibility",
    "utcnow",
]
