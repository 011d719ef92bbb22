"""Browser sessions and CSRF tokens.

A browser signs in with a token of kind ``session`` kept in an HttpOnly cookie
(``server.deps.SESSION_COOKIE``). Because browsers send cookies on cross-site
requests too, every state-changing request authenticated by that cookie must
also prove it came from one of our pages: it carries a CSRF token, the HMAC of
the session secret under ``PODIUM_SECRET_KEY`` (a hidden form field on pages,
the ``X-CSRF-Token`` header on the JSON API). Tokens follow the session: signing
out revokes the session and every token derived from it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.accounts.security import hash_token
from server.accounts.service import issue_token
from server.models import ApiToken, User, utcnow

SESSION_KIND = "session"
SESSION_LIFETIME = timedelta(days=7)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def issue_session(session: Session, user: User, label: str = "browser") -> str:
    """A new browser session for ``user``; returns the secret to put in the cookie."""
    _, secret = issue_token(
        session, user, name=label[:100], kind=SESSION_KIND, lifetime=SESSION_LIFETIME
    )
    return secret


def revoke_session(session: Session, secret: str) -> None:
    """Revoke the session whose cookie holds ``secret`` (no-op when unknown)."""
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.kind == SESSION_KIND
        )
    )
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def csrf_token(secret_key: str, seed: str) -> str:
    """The CSRF token for a seed (a session secret, or an anonymous nonce)."""
    return hmac.new(
        secret_key.encode(), b"podium-csrf\0" + seed.encode(), hashlib.sha256
    ).hexdigest()


def csrf_valid(secret_key: str, seed: str, candidate: str | None) -> bool:
    """Whether ``candidate`` is the CSRF token of ``seed`` (constant time)."""
    if not candidate or not seed:
        return False
    return hmac.compare_digest(csrf_token(secret_key, seed).encode(), candidate.encode())
