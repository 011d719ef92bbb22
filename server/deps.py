"""Dependencies shared by every router: the session, the caller, roles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.security import TOKEN_PREFIX, constant_time_equals, hash_token
from server.config import Settings, get_settings
from server.db import get_sessionmaker
from server.models import ApiToken, User, utcnow

SESSION_COOKIE = "podium_session"
LAST_USED_RESOLUTION = timedelta(minutes=1)

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens")


def get_session() -> Iterator[Session]:
    """A session per request: commits when the route succeeds, rolls back otherwise."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def token_from_request(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    api_token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if api_token is None or api_token.revoked_at is not None:
        return None
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    # Writing on every request would serialize readers on SQLite: once a minute is enough.
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return api_token.user


def get_optional_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    token = token_from_request(request, credentials)
    if token is None:
        return None
    user = user_for_token(session, token)
    if user is None and credentials is not None:
        raise _unauthorized("invalid, expired or revoked token")
    return user


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise _unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    return user


def get_organizer(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_organizer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "organizer role required")
    return user


def require_worker(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise _unauthorized("worker token required")
    if not constant_time_equals(credentials.credentials, settings.worker_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a valid worker token")


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
Organizer = Annotated[User, Depends(get_organizer)]
WorkerAuth = Depends(require_worker)
