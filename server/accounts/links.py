"""One-time sign-in links (``/welcome/{secret}``) and password changes.

A link is a row of ``api_token`` of kind ``welcome``: only the SHA-256 of its
secret is stored, it expires after ``LINK_LIFETIME`` and works once. It is not
a credential (requests cannot authenticate with it); it lets its holder choose
a password. Issuing a new link voids the user's earlier ones. Choosing a
password through a link, or changing it, revokes the user's other tokens and
browser sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.accounts.security import (
    hash_password,
    hash_token,
    new_link_secret,
    password_problem,
    verify_password,
)
from server.exceptions import Forbidden, Invalid, NotFound
from server.models import ApiToken, User, utcnow

LINK_KIND = "welcome"
LINK_LIFETIME = timedelta(days=7)
LINK_GONE = (
    "this sign-in link has expired or was already used; "
    "ask an organizer of your course for a new one"
)


def link_path(secret: str) -> str:
    return f"/welcome/{secret}"


def issue_link(session: Session, user: User, fresh: bool = False) -> tuple[str, datetime]:
    """A new one-time sign-in link for ``user`` (earlier unused ones stop working).

    ``fresh``: the user was just created and has no link yet (roster imports).
    """
    now = utcnow()
    if not fresh:
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.user_id == user.id,
                ApiToken.kind == LINK_KIND,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    secret = new_link_secret()
    expires = now + LINK_LIFETIME
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=hash_token(secret),
            prefix=secret[:8],
            name="sign-in link",
            kind=LINK_KIND,
            expires_at=expires,
        )
    )
    session.flush()
    return secret, expires


def _live_link(session: Session, secret: str) -> ApiToken:
    if not secret or len(secret) > 100:
        raise NotFound(LINK_GONE)
    link = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.kind == LINK_KIND
        )
    )
    if (
        link is None
        or link.revoked_at is not None
        or (link.expires_at is not None and link.expires_at <= utcnow())
        or link.user.disabled
    ):
        raise NotFound(LINK_GONE)
    return link


def link_user(session: Session, secret: str) -> User:
    """The user a live link was made for; 404 with a clear message when it is not live."""
    return _live_link(session, secret).user


def redeem_link(session: Session, secret: str, password: str) -> User:
    """Set the password through a link (once): the link and every other credential end."""
    link = _live_link(session, secret)
    user = link.user
    problem = password_problem(user.username, password)
    if problem:
        raise Invalid(problem)
    # Single use, even for two requests at once: only one of them flips revoked_at.
    used = session.execute(
        update(ApiToken)
        .where(ApiToken.id == link.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(used, "rowcount", 0) != 1:
        raise NotFound(LINK_GONE)
    user.password_hash = hash_password(password)
    revoke_credentials(session, user)
    return user


def revoke_credentials(session: Session, user: User, keep_token_id: int | None = None) -> int:
    """Revoke every live token, session and link of ``user`` but ``keep_token_id``."""
    query = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        query = query.where(ApiToken.id != keep_token_id)
    result = session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(getattr(result, "rowcount", 0) or 0)


def change_password(
    session: Session, user: User, current: str, new: str, keep_secret: str | None
) -> int:
    """Change the password; every other token and session of the user is revoked.

    ``keep_secret`` is the credential of the request (it stays valid). Returns how
    many credentials were revoked.
    """
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong")
    problem = password_problem(user.username, new)
    if problem:
        raise Invalid(problem)
    if verify_password(user.password_hash, new):
        raise Invalid("the new password is the same as the current one")
    keep = None
    if keep_secret is not None:
        keep = session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == hash_token(keep_secret))
        )
    user.password_hash = hash_password(new)
    return revoke_credentials(session, user, keep_token_id=keep)
