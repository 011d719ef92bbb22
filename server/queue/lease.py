"""Leases: a running attempt owns its submission until its lease runs out.

Whoever runs an attempt (the embedded scorer, a remote worker) keeps the lease
alive with a heartbeat every third of the lease; the sweeper re-queues what
stops beating (see ``recovery.requeue_expired``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import update

from server.config import Settings
from server.db import session_scope
from server.models import Submission, SubmissionStatus, utcnow

log = logging.getLogger(__name__)

MIN_HEARTBEAT_SECONDS = 0.5


def heartbeat_interval(lease_seconds: float) -> float:
    """Beat three times per lease: one lost beat never costs the lease."""
    return max(lease_seconds / 3, MIN_HEARTBEAT_SECONDS)


def extend_lease(submission_id: int, token: str, settings: Settings) -> datetime | None:
    """Push a running attempt's lease forward; None when the attempt is no longer current."""
    expires = utcnow() + timedelta(seconds=settings.job_lease_seconds)
    with session_scope(settings) as session:
        result = session.execute(
            update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.worker_id == token,
                Submission.status == SubmissionStatus.running,
            )
            .values(lease_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        return expires if result.rowcount == 1 else None  # type: ignore[attr-defined]


class Heartbeat:
    """Call ``beat`` every ``interval`` seconds from a daemon thread while the block runs.

    ``beat`` returns False once the attempt is no longer current (re-queued,
    finished elsewhere): the heartbeat then stops; the attempt's result will
    be refused, so nothing else needs to happen. A beat that raises (network,
    database) is logged and retried at the next interval.
    """

    def __init__(self, beat: Callable[[], bool], interval: float, name: str = "heartbeat") -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.lost = False

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                alive = self._beat()
            except Exception as error:  # noqa: BLE001 - a missed beat is retried
                log.warning("heartbeat failed (%s); retrying", error)
                continue
            if not alive:
                self.lost = True
                log.warning("attempt is no longer current; heartbeat stopped")
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def keep_lease(submission_id: int, token: str, settings: Settings) -> Heartbeat:
    """Heartbeat for an attempt run in this process (the embedded transport)."""
    return Heartbeat(
        lambda: extend_lease(submission_id, token, settings) is not None,
        heartbeat_interval(settings.job_lease_seconds),
        name=f"lease-{submission_id}",
    )
