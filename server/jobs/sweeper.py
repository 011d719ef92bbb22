"""The lease sweeper: a thread in the server process, on either transport.

Every few seconds it re-queues running jobs whose lease ran out (failing them
as a platform error after the last attempt) and dispatches them again. It
lives in the server rather than in Celery beat because the server alone holds
the database (workers speak HTTP), it must also run on the embedded transport,
and it needs no extra process to deploy. Several server processes may each
run one: the re-queue is a guarded UPDATE and a duplicate dispatch finds
nothing to claim.
"""

from __future__ import annotations

import logging
import threading

from server.config import Settings, get_settings

log = logging.getLogger(__name__)

MIN_SWEEP_SECONDS = 1.0
MAX_SWEEP_SECONDS = 15.0


def sweep_interval(settings: Settings) -> float:
    """A third of the lease, so an expired job waits at most a third of a lease more."""
    return min(max(settings.job_lease_seconds / 3, MIN_SWEEP_SECONDS), MAX_SWEEP_SECONDS)


def sweep_once() -> list[int]:
    """Re-queue expired jobs and dispatch them; returns the ids dispatched again."""
    from server.jobs.dispatch import dispatch
    from server.jobs.recovery import requeue_expired

    settings = get_settings()
    if settings.broker_url:
        from server.jobs.celery_app import send_undelivered

        send_undelivered()
    ids = requeue_expired()
    if ids:
        dispatch(ids, background=True)
    return ids


class LeaseSweeper:
    """Run :func:`sweep_once` every ``interval`` seconds until stopped."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-sweeper", daemon=True)

    def _loop(self) -> None:
        from server.insight.notify import send_due_notifications

        while not self._stop.wait(self.interval):
            try:
                sweep_once()
            except Exception:
                log.exception("lease sweep failed; trying again in %.0f s", self.interval)
            # Opening, closing-soon and final-results messages (one cheap query; never raises).
            send_due_notifications()

    def start(self) -> LeaseSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)
