"""The one place where the CLI turns exceptions into a message and an exit code.

Exit codes: 0 success, 1 refused or failed (any `PodiumError`, a missing
local file), 2 usage error (typer's own handling).
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from .._exceptions import (
    APIError,
    AuthenticationError,
    PodiumError,
    QuotaExceededError,
    ServerError,
)

EXIT_FAILURE = 1


def human_duration(seconds: float) -> str:
    """``5400`` -> ``1h 30m``; ``42`` -> ``42s``."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_error(exc: BaseException) -> str:
    """One line that says what went wrong, for stderr."""
    if isinstance(exc, AuthenticationError):
        hint = "" if "podium login" in exc.detail else "; run `podium login` to get a new token"
        return f"{exc.detail} (HTTP {exc.status}){hint}"
    if isinstance(exc, QuotaExceededError):
        wait = f"; try again in {human_duration(exc.retry_after)}" if exc.retry_after else ""
        return f"{exc.detail} (HTTP {exc.status}){wait}"
    if isinstance(exc, ServerError):
        return f"the server failed (HTTP {exc.status}): {exc.detail}"
    if isinstance(exc, APIError):
        return f"{exc.detail} (HTTP {exc.status})"
    if isinstance(exc, PodiumError):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOENT:
            return f"file not found: {exc.filename}"
        if exc.filename:
            return f"{exc.strerror or exc}: {exc.filename}"
        return str(exc)
    return str(exc)


def fail(message: str) -> typer.Exit:
    """Print ``Error: message`` on stderr; return the Exit(1) to raise."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(EXIT_FAILURE)


def _silence_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


class PodiumGroup(TyperGroup):
    """Root command group: any `PodiumError` or `OSError` from a command
    becomes ``Error: <one line>`` on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # `podium leaderboard mnist | head`: the reader left; stop quietly.
            _silence_stdout()
            raise typer.Exit(EXIT_FAILURE) from None
        except (PodiumError, OSError) as exc:
            raise fail(" ".join(format_error(exc).split())) from None
