"""The lease sweeper: a thread in the server process, on either transport.

Every few seconds it re-queues running jobs whose lease ran out (failing them
as a platform error after the last attempt) and dispatches them again, and
sends again every job still queued ``job_resend_seconds`` after it was sent
(a message lost in the broker, a claim the database refused, a Celery task
that gave up). It
lives in the server rather than in Celery beat because the server alone holds
the database (workers speak HTTP), it must also run on the embedded transport,
and it needs no extra process to deploy. Several server processes may each
run one: the re-queue is a guarded UPDATE and a duplicate dispatch finds
nothing to claim.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from server.config import Settings
from server.queue.celery_app import QUEUE_FOR_KIND, kinds_waiting_in_broker, send_undelivered
from server.queue.dispatch import dispatch
from server.queue.embedded import background_pending
from server.queue.recovery import requeue_expired, take_lost_queued

log = logging.getLogger(__name__)

MIN_SWEEP_SECONDS = 1.0
MAX_SWEEP_SECONDS = 15.0


def sweep_interval(settings: Settings) -> float:
    """A third of the lease, so an expired job waits at most a third of a lease more."""
    return min(max(settings.job_lease_seconds / 3, MIN_SWEEP_SECONDS), MAX_SWEEP_SECONDS)


def sweep_once(settings: Settings) -> list[int]:
    """Re-queue expired jobs, take queued ones whose message may be lost, and dispatch
    both again; returns the ids dispatched."""
    if settings.broker_url:
        send_undelivered(settings)
        waiting = kinds_waiting_in_broker(settings)
    else:
        waiting = set(QUEUE_FOR_KIND) if background_pending() else set()
    ids = requeue_expired(settings) + take_lost_queued(settings, waiting)
    if ids:
        dispatch(ids, background=True, settings=settings)
    return ids


class LeaseSweeper:
    """Run :func:`sweep_once`, then each of ``also``, every :func:`sweep_interval` until stopped.

    ``settings``: the server's, passed in by ``create_app``'s lifespan. ``also``:
    other periodic chores that must never raise (the server passes the
    due-notification check of ``server.insight.notify``).
    """

    def __init__(self, settings: Settings, also: Sequence[Callable[[], object]] = ()) -> None:
        self.settings = settings
        self.interval = sweep_interval(settings)
        self.also = list(also)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-sweeper", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep_once(self.settings)
            except Exception:
                log.exception("lease sweep failed; trying again in %.0f s", self.interval)
            for chore in self.also:
                chore()

    def start(self) -> LeaseSweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)
