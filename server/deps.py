"""Dependencies shared by every router: the session, the caller, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

import anyio
from anyio.lowlevel import RunVar
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from starlette.concurrency import run_in_threadpool

from server.accounts.security import TOKEN_PREFIX, constant_time_equals, hash_token
from server.accounts.sessions import CSRF_HEADER, csrf_valid
from server.config import DEFAULT_WORKER_TOKEN, Settings, get_settings
from server.db import get_sessionmaker
from server.models import ApiToken, User, utcnow
from server.storage import BlobStore, get_blob_store

SESSION_COOKIE = "podium_session"
API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Token kinds that authenticate requests (sign-in links are not credentials).
CREDENTIAL_KINDS = ("api", "session")

_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/tokens")


# Requests that hold a database session at once, per process. Each may hold a
# pooled connection (two, briefly) or SQLite's write lock while it waits for a
# worker thread between its dependencies; bounded below the thread pool (40) and
# the connection pools (SQLite 60, PostgreSQL 40), a request that holds one always
# gets a thread and a connection back. Unbounded, 100 concurrent submitters
# deadlocked until the pool's 30 s timeout. On 2 cores 16 loses no throughput.
MAX_CONCURRENT_SESSIONS = 16
_session_gate: RunVar[anyio.Semaphore] = RunVar("podium_session_gate")


def _gate() -> anyio.Semaphore:
    try:
        return _session_gate.get()
    except LookupError:  # first request on this event loop
        gate = anyio.Semaphore(MAX_CONCURRENT_SESSIONS)
        _session_gate.set(gate)
        return gate


async def get_session() -> AsyncIterator[Session]:
    """A session per request: commits when the route succeeds, rolls back otherwise.

    Waiting for a turn happens on the event loop, holding neither a thread nor a
    connection; the commit and the rollback run in the thread pool.
    """
    async with _gate():
        session = get_sessionmaker()()
        try:
            yield session
            await run_in_threadpool(session.commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.rollback)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_store(settings: SettingsDep) -> BlobStore:
    """The blob store of the request's settings (routes pass it on to services)."""
    return get_blob_store(settings)


StoreDep = Annotated[BlobStore, Depends(get_store)]
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
    """The user of an API or session token; None when unknown, expired, revoked, or the
    user is disabled (a disabled user's credentials stop working at once)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    api_token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))  # one statement: every request needs the user
        .where(ApiToken.token_hash == hash_token(token), ApiToken.kind.in_(CREDENTIAL_KINDS))
    )
    now = utcnow()
    if api_token is None or api_token.revoked_at is not None or api_token.user.disabled:
        return None
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    # Writing on every request would serialize readers on SQLite: once a minute is enough.
    if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
        _record_use(session, api_token, now)
    return api_token.user


def _record_use(session: Session, api_token: ApiToken, now: datetime) -> None:
    """Write last_used_at in a short transaction of its own, not the request's.

    In the request's transaction the write would take SQLite's write lock at the
    start of the request and keep it across the route's other threadpool hops: with
    more concurrent requests than threads, the waiters hold every thread and the
    holder never gets one back (seen at 100 concurrent submitters). Called before
    the request writes anything, so this thread holds no lock that it waits for.
    """
    with Session(session.get_bind()) as own, own.begin():
        own.execute(update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_at=now))
    set_committed_value(api_token, "last_used_at", now)


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
    if user is not None and credentials is None:
        _check_cookie_csrf(request, token)
    return user


def _check_cookie_csrf(request: Request, session_secret: str) -> None:
    """A browser sends the cookie on cross-site requests too: unsafe API calls
    authenticated by it must carry the page's CSRF token (pages check their forms)."""
    if request.method in SAFE_METHODS or not request.url.path.startswith(API_PREFIX):
        return
    if not csrf_valid(get_settings().secret_key, session_secret, request.headers.get(CSRF_HEADER)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"cookie-authenticated requests that change data need an {CSRF_HEADER} header; "
            "API clients should send 'Authorization: Bearer <token>' instead",
        )


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise _unauthorized("authentication required: send 'Authorization: Bearer <token>'")
    return user


def get_organizer(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_organizer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "organizer role required")
    return user


def worker_api_disabled(settings: Settings) -> bool:
    """The worker API hands out hidden labels: never behind the documented placeholder."""
    return settings.worker_token == DEFAULT_WORKER_TOKEN and settings.env != "test"


def get_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin role required")
    return user


def require_worker(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Authenticate first: 401 without a token, 403 with a wrong one (or while unset)."""
    if credentials is None:
        raise _unauthorized("worker token required")
    if worker_api_disabled(settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the worker API is disabled until PODIUM_WORKER_TOKEN is set on the server",
        )
    if not constant_time_equals(credentials.credentials, settings.worker_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not a valid worker token")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
Organizer = Annotated[User, Depends(get_organizer)]
Admin = Annotated[User, Depends(get_admin)]
WorkerAuth = Depends(require_worker)
