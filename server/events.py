"""Post-commit events: how the core tells the extras that something happened.

The scoring core (``server.queue.state.record``) emits :class:`SubmissionScored`
once a result is committed; the extras subscribe at start-up
(``server.app.create_app`` calls ``server.insight.service.install``). The core
therefore never imports what hangs off it (bootstrap intervals, leader
notifications), and a failing subscriber never fails a result that is already
recorded: its exception is logged and the next subscriber still runs.

Delivery is in-process and immediate: a subscriber that has slow work to do
hands it to its own thread (``server.insight.service`` does).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SubmissionScored:
    """A submission's scores were committed (a stale or repeated attempt emits nothing).

    ``aligned``: the predictions aligned with the solution, when the scorer in
    this process still holds them (an embedded CSV), so that nothing parses the
    file again; None otherwise. ``has_bootstrap``: the result came with its
    bootstrap (checkpoints compute theirs where they score).
    """

    submission_id: int
    challenge_id: int
    aligned: np.ndarray | None = field(default=None, repr=False)
    has_bootstrap: bool = False


Event = SubmissionScored
E = TypeVar("E", bound=Event)

_subscribers: dict[type[Any], list[Callable[[Any], None]]] = {}
_lock = threading.Lock()


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler`` for every event of ``event_type`` (once, however often subscribed)."""
    with _lock:
        handlers = _subscribers.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    with _lock:
        handlers = _subscribers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)


def emit(event: Event) -> None:
    """Hand ``event`` to its subscribers; call only after the commit. Never raises."""
    with _lock:
        handlers = list(_subscribers.get(type(event), ()))
    for handler in handlers:
        try:
            handler(event)
        except Exception:
            log.exception(
                "subscriber %s failed on %r", getattr(handler, "__name__", handler), event
            )
