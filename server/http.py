"""The HTTP protocol ``podium-server serve`` runs: h11, with a deadline for request heads.

uvicorn's default parser (httptools, when installed) accepts request heads of
any size, and neither parser limits how long a client may take to send one:
one client trickling header bytes holds a connection forever (slowloris).
h11 bounds a head to ``h11_max_incomplete_event_size`` bytes; this subclass
also closes a connection whose head is not complete ``request_header_timeout_seconds``
after it opened (or after the previous response on a kept-alive connection).
Slow bodies are bounded by the application (``server.middleware``), so the
limit holds under any ASGI server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from server.config import get_settings


class HeadDeadlineH11Protocol(H11Protocol):
    """h11 that drops connections whose request head is too slow to arrive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = get_settings().request_header_timeout_seconds
        self._head_deadline: asyncio.TimerHandle | None = None

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.logger.debug("closing a connection whose request head was too slow")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if not self._waiting_for_head():
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        # Armed before the parent handles pipelined requests, which cancel it again.
        self._arm_head_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)
