"""Schemas of a challenge's people: hosts, invitations, participants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class HostAdd(BaseModel):
    username: str = Field(min_length=1, max_length=64)


class HostRead(BaseModel):
    username: str
    display_name: str
    creator: bool = Field(description="The account that created the challenge")
    added_at: datetime


class InviteUsers(BaseModel):
    usernames: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=5000
    )


class InvitedRead(BaseModel):
    invited: list[str]


class InviteLinkRead(BaseModel):
    code: str
    path: str = Field(description="/c/{slug}/join/{code}: signed-in users who open it may enter")
    url: str


ParticipantStatus = Literal["active", "pending", "invited", "rejected", "disqualified"]


class ParticipantRead(BaseModel):
    username: str
    display_name: str
    email: str | None
    student_id: str | None
    status: ParticipantStatus
    team: str | None = None
    submissions: int = 0
    best_public_score: float | None = None
    public_rank: int | None = None
    private_score: float | None = Field(default=None, description="Once finalized")
    private_rank: int | None = Field(default=None, description="Once finalized")
    disqualified_reason: str | None = None
    joined_at: datetime
