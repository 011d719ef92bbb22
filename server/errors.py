"""One error format: ``{"detail": "..."}`` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from server.exceptions import PodiumError


class ErrorRead(BaseModel):
    """Every error: ``{"detail": "..."}``; validation errors add the offending fields."""

    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Request validation (422): each offending field"
    )


# Documented on every API route (create_app), so that clients and the schema
# fuzzer know the error format; a route's own ``responses`` add to these.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status_code: {"model": ErrorRead, "description": description}
    for status_code, description in {
        400: "Malformed request (e.g. an unreadable multipart body)",
        408: "The request body stopped arriving",
        401: "Missing, invalid, expired or revoked credentials",
        403: "Not allowed for this caller, or not now (deadline, state)",
        404: "No such resource, or not visible to this caller",
        409: "Conflicts with the current state",
        413: "Request body over the size limit",
        422: "Invalid request or rejected file; the detail says what to fix",
        429: "Rate or daily submission limit reached; see Retry-After",
        503: "Temporarily unavailable (database busy); see Retry-After",
    }.items()
}


# Both are HTTPExceptions so that FastAPI, which turns other errors raised while it
# reads a JSON or form body into a 400, lets them through with their own status.
class BodyTooLarge(HTTPException):
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"request body too large: the limit is {limit_bytes / (1024 * 1024):g} MB",
            headers={"Connection": "close"},
        )


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            status.HTTP_408_REQUEST_TIMEOUT,
            f"request body too slow: no data for {seconds:g} s",
            headers={"Connection": "close"},
        )


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _validation_detail(exc: RequestValidationError) -> str:
    messages = []
    for error in exc.errors()[:5]:
        messages.append(f"{_location(tuple(error.get('loc', ())))}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(messages)
    if more > 0:
        messages.append(f"and {more} more")
    return "; ".join(messages)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PodiumError)
    async def _domain(request: Request, exc: PodiumError) -> JSONResponse:
        # Services refuse in domain terms; the API answers them in its one error format.
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"detail": _validation_detail(exc), "errors": errors},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses what SQLite takes (NUL characters in text, numbers out of
        # range): the input is at fault, not the server.
        return JSONResponse(
            {"detail": "the request holds a value the database cannot store (e.g. a NUL)"},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Unique constraints catch what a concurrent request slipped past our checks.
        return JSONResponse(
            {"detail": "the request conflicts with a concurrent change (duplicate); retry it"},
            status_code=status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> JSONResponse:
        if "locked" not in str(exc.orig) and "could not serialize" not in str(exc.orig):
            raise exc
        return JSONResponse(
            {"detail": "the database is busy; retry in a moment"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        mb = exc.limit_bytes / (1024 * 1024)
        return JSONResponse(
            {"detail": f"request body too large: the limit is {mb:g} MB"},
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            headers={"Connection": "close"},
        )
