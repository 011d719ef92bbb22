from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_BODY_LENGTH = 20_000


class AnnouncementCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=MAX_BODY_LENGTH, description="Markdown")

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value or not value.isprintable():
            raise ValueError("a title must be one line of printable text")
        return value


class AnnouncementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str = Field(description="Markdown; pages show it sanitized, as the description")
    created_at: datetime
