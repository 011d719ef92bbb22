from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=32, examples=["ada"])
    password: str = Field(max_length=256, examples=["correct horse battery"])


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    created_at: datetime


class TokenCreate(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    name: str = Field(default="", max_length=100, description="A label, e.g. 'laptop'")


class TokenCreated(BaseModel):
    id: int
    token: str = Field(description="Shown once; store it now")
    name: str
    created_at: datetime
    user: UserRead


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
