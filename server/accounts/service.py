"""Users, tokens and login throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.accounts.security import (
    USERNAME_PATTERN,
    hash_password,
    hash_token,
    new_token,
    password_problem,
    verify_password,
)
from server.config import Settings
from server.exceptions import Conflict, Invalid, LimitReached, NotFound, Unauthorized
from server.models import ApiToken, LoginFailure, Role, User, utcnow

# A classroom often shares one public address: allow many more failures per
# address than per username before locking the address out.
ADDRESS_FAILURE_FACTOR = 5


USERNAME_RULE = (
    "username must be 2-32 characters: letters, digits, '_', '.' or '-', "
    "starting with a letter or digit"
)


def create_user(
    session: Session,
    username: str,
    password: str | None,
    role: Role,
    *,
    display_name: str = "",
    email: str | None = None,
    student_id: str | None = None,
    created_by: User | None = None,
) -> User:
    """A new account; without a password it can only be entered through a sign-in link."""
    if not USERNAME_PATTERN.match(username):
        raise Invalid(USERNAME_RULE)
    if password is not None:
        problem = password_problem(username, password)
        if problem:
            raise Invalid(problem)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"username '{username}' is taken")
    user = User(
        username=username,
        password_hash=hash_password(password) if password is not None else "",
        role=role,
        display_name=display_name,
        email=email,
        student_id=student_id,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(user)
    try:
        # The unique index on lower(username) settles parallel sign-ups of "Quinn" and "quinn".
        session.flush()
    except IntegrityError:
        raise Conflict(f"username '{username}' is taken") from None
    return user


def issue_token(
    session: Session,
    user: User,
    name: str = "",
    kind: str = "api",
    lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and only its hash is stored."""
    secret = new_token()
    token = ApiToken(
        user=user,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        name=name,
        kind=kind,
        expires_at=utcnow() + lifetime if lifetime else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def _recent_failures(session: Session, since: datetime, **where: str) -> int:
    query = select(func.count(LoginFailure.id)).where(LoginFailure.created_at >= since)
    for name, value in where.items():
        query = query.where(getattr(LoginFailure, name) == value)
    return session.scalar(query) or 0


def throttled(session: Session, settings: Settings, attempt: LoginFailure) -> bool:
    """Whether this attempt's password must not be checked (see docs/security.md).

    Counts include the attempt itself. Refused: an address that failed
    ``login_max_failures`` times for this username; past the username's ceiling
    over all addresses, an address that failed for it at all; an address that
    failed ``ADDRESS_FAILURE_FACTOR`` times as often over every username.
    """
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    by_pair = _recent_failures(session, since, username=attempt.username, address=attempt.address)
    if by_pair > settings.login_max_failures:
        return True
    by_address = _recent_failures(session, since, address=attempt.address)
    if by_address > settings.login_max_failures * ADDRESS_FAILURE_FACTOR:
        return True
    if by_pair > 1:
        by_user = _recent_failures(session, since, username=attempt.username)
        return by_user > settings.login_username_ceiling
    return False


def authenticate(
    session: Session, settings: Settings, username: str, password: str, address: str
) -> User:
    """Check a password, throttling failures per (username, address), per username and
    per address, so that failing on purpose cannot lock the owner out.

    The attempt is recorded (and committed) before the password is checked and
    counted with the others: parallel guesses cannot all pass the check, since
    each one sees at least the attempts committed before it. A refused attempt
    and a successful one remove their record; a wrong password leaves it.
    """
    attempt = LoginFailure(username=username.lower()[:64], address=address[:64])
    session.add(attempt)
    session.commit()
    if throttled(session, settings, attempt):
        session.delete(attempt)
        session.commit()
        raise LimitReached(
            "too many failed logins from your address; "
            f"try again in {settings.login_window_seconds // 60} minutes",
            settings.login_window_seconds,
        )
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or not verify_password(user.password_hash, password):
        # The record stays (it was committed above): the failure counts.
        raise Unauthorized("wrong username or password")
    if user.disabled:
        raise Unauthorized("this account is disabled; ask an organizer")
    session.delete(attempt)
    return user


def revoke_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound.of("token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
