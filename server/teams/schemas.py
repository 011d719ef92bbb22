from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from server.submissions.schemas import LimitLeft


class TeamRead(BaseModel):
    id: int
    name: str
    members: list[str]
    created_at: datetime
    max_team_size: int
    submissions_today: int
    daily_submission_limit: int | None
    remaining_today: int | None = Field(description="Under the daily limit (null: none set)")
    quota_resets_at: datetime = Field(description="Next midnight in the challenge's timezone")
    timezone: str
    limits_left: list[LimitLeft] = Field(description="Where the team stands under every limit")
    invite_code: str | None = Field(default=None, description="Only shown to members")
    disqualified: bool = False
    disqualified_reason: str | None = Field(
        default=None, description="Why a host disqualified the team (members and hosts)"
    )


class InviteRead(BaseModel):
    code: str
    expires_at: datetime | None = None


class TeamJoin(BaseModel):
    code: str = Field(min_length=4, max_length=64)


class JoinPending(BaseModel):
    """The challenge admits participants after a host's approval: the request waits."""

    challenge: str
    status: str = Field(description="pending")
    detail: str


class Disqualify(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Shown to the team and hosts")


class TeamRename(BaseModel):
    name: str = Field(min_length=1, max_length=64)
