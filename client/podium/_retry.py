"""Retry policy: which failures are retried, and how long to wait.

Idempotent requests (GET, PUT, PATCH, DELETE) are retried on connection
errors, timeouts, 5xx and 429. Non-idempotent POSTs (a submission, a login)
are retried only when the server cannot have acted on them: a connection
that was never established (``httpx.ConnectError``, connect or pool
timeout), a 503 or a 429. Other 4xx are never retried.

The wait grows exponentially with jitter; a ``Retry-After`` header is
honoured, except that one longer than `MAX_RETRY_AFTER` (a daily quota that
resets at midnight, a login lockout) is not worth waiting for and is raised
at once.
"""

from __future__ import annotations

import email.utils
import random
import time
from datetime import UTC, datetime

import httpx

__all__ = [
    "MAX_RETRY_AFTER",
    "after",
    "backoff",
    "monotonic",
    "parse_retry_after",
    "retryable_status",
    "retryable_transport_error",
    "sleep",
]

MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0

# Indirections so tests can replace the clock (``monkeypatch.setattr``).
sleep = time.sleep
monotonic = time.monotonic

_IDEMPOTENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# A 503 or a 429 means the server refused before doing anything.
_NON_IDEMPOTENT_STATUSES = frozenset({429, 503})

# Failures where the request cannot have reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures worth another try for a request that is safe to repeat.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (0-based): 0.5, 1, 2, 4, 8... with jitter."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * (2.0**attempt))
    return delay / 2 + random.uniform(0, delay / 2)


def after(retry_after: float) -> float:
    """Seconds to wait when the server said ``Retry-After``: that, plus a little jitter
    so that a classroom of clients told "1 second" does not come back all at once."""
    return retry_after + random.uniform(0, min(1.0, retry_after / 4))


def parse_retry_after(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retryable_status(status: int, *, idempotent: bool) -> bool:
    """Whether an error status may be retried for this kind of request."""
    return status in (_IDEMPOTENT_STATUSES if idempotent else _NON_IDEMPOTENT_STATUSES)


def retryable_transport_error(exc: httpx.TransportError, *, idempotent: bool) -> bool:
    """Whether a transport failure may be retried for this kind of request."""
    if isinstance(exc, _NOT_SENT):
        return True
    return idempotent and isinstance(exc, _TRANSIENT)
