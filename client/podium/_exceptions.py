"""The exception tree raised by :mod:`podium`.

::

    PodiumError
    ├── APIError(status, detail)            the server answered with an error
    │   ├── AuthenticationError             401: missing, wrong or expired token
    │   ├── PermissionDeniedError           403: not allowed (role, challenge not open yet)
    │   ├── NotFoundError                   404: unknown challenge, file, submission
    │   ├── ConflictError                   409: state conflict (closed, already in a team)
    │   ├── ValidationError                 422: the request or the submitted file was refused
    │   │   └── PayloadTooLargeError        413: the file is over the server's size cap
    │   ├── QuotaExceededError              429: daily submission limit, login lockout, rate limit
    │   └── ServerError                     5xx, after the retries ran out
    ├── ConnectionError                     the server could not be reached
    ├── TimeoutError                        no answer in time, or `Client.wait` gave up
    └── ChecksumError                       a downloaded file does not match its sha256

`PayloadTooLargeError` is a `ValidationError` because both mean "this file
was refused, fix it and send it again"; catching `ValidationError` handles
both. `ConnectionError` and `TimeoutError` deliberately shadow the builtins
inside this module only: import them as ``podium.ConnectionError``.
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "ChecksumError",
    "ConflictError",
    "ConnectionError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PodiumError",
    "QuotaExceededError",
    "ServerError",
    "TimeoutError",
    "ValidationError",
]


class PodiumError(Exception):
    """Base class of every error raised by the Podium client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class APIError(PodiumError):
    """The server answered with an error status.

    `status` is the HTTP status code and `detail` the server's message (the
    ``detail`` field of its JSON error body, flattened to one line).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.method = method
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"


class AuthenticationError(APIError):
    """401: no token, a wrong one, or an expired or revoked one."""


class PermissionDeniedError(APIError):
    """403: the token is valid but not allowed to do this."""


class NotFoundError(APIError):
    """404: the challenge, file, team or submission does not exist."""


class ConflictError(APIError):
    """409: the request conflicts with the current state (closed challenge...)."""


class ValidationError(APIError):
    """422: the request or the submitted file was refused; `detail` says why."""


class PayloadTooLargeError(ValidationError):
    """413: the uploaded file is larger than the server accepts."""


class QuotaExceededError(APIError):
    """429: a limit was reached. `retry_after` is in seconds, when the server said."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(status, detail, method=method, url=url)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed, and kept failing through the retries."""


class ConnectionError(PodiumError):
    """The server could not be reached (refused, DNS, TLS, connection dropped)."""


class TimeoutError(PodiumError):
    """The server did not answer in time, or `Client.wait` ran out of time."""


class ChecksumError(PodiumError):
    """A downloaded file's sha256 differs from the one the server published."""

    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(
            f"{name}: sha256 mismatch (expected {expected[:12]}…, got {actual[:12]}…); "
            "the partial file was removed, download again"
        )
        self.name = name
        self.expected = expected
        self.actual = actual


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: QuotaExceededError,
}


def error_for_status(
    status: int,
    detail: str,
    *,
    retry_after: float | None = None,
    method: str | None = None,
    url: str | None = None,
) -> APIError:
    """Build the exception that matches an HTTP error status."""
    if status == 429:
        return QuotaExceededError(status, detail, retry_after=retry_after, method=method, url=url)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(status, detail, method=method, url=url)
