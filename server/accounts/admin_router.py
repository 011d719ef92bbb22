"""Organizers' and admins' account routes: roster import, reset links, user changes."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from starlette.concurrency import run_in_threadpool

from server.accounts import users
from server.accounts.router import sign_in_link
from server.accounts.schemas import SignInLink, UserRead, UserUpdate
from server.deps import Admin, Organizer, SessionDep, SettingsDep
from server.exceptions import TooLarge

router = APIRouter(prefix="/api/v1/users", tags=["accounts"])

MAX_ROSTER_BYTES = 4 * 1024 * 1024


@router.get("", response_model=list[UserRead])
def list_users(session: SessionDep, admin: Admin) -> object:
    """Admins: every account."""
    return users.list_users(session)


@router.post(
    "/import",
    response_model=list[SignInLink],
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "username,display_name,email,student_id (only username required)",
        }
    },
)
async def import_roster(
    request: Request, session: SessionDep, settings: SettingsDep, organizer: Organizer
) -> object:
    """Create every account of a CSV roster, each with a one-time sign-in link (7 days).

    One transaction: all accounts or none. A 422 names every bad line (a duplicate
    username in the file, one that exists already, a malformed email...).
    """
    content = b""
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_ROSTER_BYTES:
            raise TooLarge(f"the roster is over {MAX_ROSTER_BYTES // 1024 // 1024} MiB")
    issued = await run_in_threadpool(users.import_roster, session, organizer, content)
    return [sign_in_link(request, settings, i) for i in issued]


@router.patch("/{username}", response_model=UserRead)
def update_user(body: UserUpdate, username: str, session: SessionDep, admin: Admin) -> object:
    """Admins: disable an account (its tokens and sessions get 401 at once; its team's
    submissions stay), enable it again, change its role or details."""
    fields = body.model_fields_set
    return users.update_user(
        session,
        username,
        disabled=body.disabled,
        role=body.role,
        display_name=body.display_name,
        email=body.email,
        student_id=body.student_id,
        email_set="email" in fields,
        student_id_set="student_id" in fields,
    )


@router.post("/{username}/reset-link", response_model=SignInLink)
def reset_link(
    username: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    organizer: Organizer,
) -> object:
    """A new one-time sign-in link for a user who forgot the password (earlier links end).

    Organizers: for the participants of the challenges they manage (or created
    accounts); admins: for anyone.
    """
    return sign_in_link(request, settings, users.reset_link(session, organizer, username))
