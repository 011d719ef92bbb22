"""Domain errors: what a service refuses, in words, without knowing about HTTP.

Services raise these; ``server.errors`` maps them to JSON for the API and
``server.web.context`` to pages for the browser. Nothing here imports FastAPI.
"""

from __future__ import annotations

from collections.abc import Mapping


class PodiumError(Exception):
    """A refusal a caller can act on. ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        return self.detail


class Unauthorized(PodiumError):
    """Missing, invalid, expired or revoked credentials (401)."""

    status = 401

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer", **(headers or {})})


class Forbidden(PodiumError):
    """Not allowed for this caller, or not now (403)."""

    status = 403


class NotFound(PodiumError):
    """No such thing, or not visible to this caller (404)."""

    status = 404

    @classmethod
    def of(cls, what: str) -> NotFound:
        return cls(f"{what} not found")


class Conflict(PodiumError):
    """Conflicts with the current state (409)."""

    status = 409


class TooLarge(PodiumError):
    """Over a size limit (413)."""

    status = 413


class Invalid(PodiumError):
    """Invalid input; the detail says what to fix (422)."""

    status = 422


class LimitReached(PodiumError):
    """A rate or submission limit refuses; ``retry_after`` seconds until it allows (429).

    ``retry_after`` None: no wait will do (a total limit); no Retry-After is sent.
    """

    status = 429

    def __init__(
        self, detail: str, retry_after: float | None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.retry_after = None if retry_after is None else max(1, int(retry_after + 0.999))
        retry = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        super().__init__(detail, headers={**retry, **(headers or {})})


class Unavailable(PodiumError):
    """Temporarily unavailable; retry later (503)."""

    status = 503
