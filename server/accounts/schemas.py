from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["participant", "organizer", "admin"]


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=32, examples=["ada"])
    password: str | None = Field(
        default=None,
        max_length=256,
        examples=["correct horse battery"],
        description="Required to sign up; organizers may leave it out and get a sign-in link",
    )
    display_name: str = Field(default="", max_length=100)
    email: str | None = Field(
        default=None, max_length=254, description="Organizers and admins only"
    )
    student_id: str | None = Field(
        default=None, max_length=64, description="Organizers and admins only"
    )
    role: RoleName | None = Field(default=None, description="Admins only (default participant)")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    display_name: str = ""
    email: str | None = None
    student_id: str | None = None
    disabled: bool = False
    created_at: datetime


class SignInLink(BaseModel):
    """A one-time link to choose a password (valid 7 days, works once)."""

    username: str
    display_name: str = ""
    email: str | None = None
    student_id: str | None = None
    path: str = Field(description="/welcome/{secret}: the secret is shown once")
    url: str = Field(description="The full link, from PODIUM_PUBLIC_URL or the request")
    expires_at: datetime


class UserCreated(UserRead):
    sign_in_link: SignInLink | None = Field(
        default=None, description="When an organizer made the account without a password"
    )


class UserUpdate(BaseModel):
    disabled: bool | None = Field(
        default=None, description="true: every token and session of the user ends at once"
    )
    role: RoleName | None = None
    display_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    student_id: str | None = Field(default=None, max_length=64)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordChanged(BaseModel):
    revoked: int = Field(description="Other tokens and sessions that stopped working")


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
