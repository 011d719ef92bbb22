"""The Celery transport (``PODIUM_BROKER_URL`` set): queues ``cpu`` and ``gpu``.

The server only *sends* (``send_jobs``, after the commit, ids only); workers
started with ``podium-server worker`` consume and reach the server over HTTP
(the worker agent, ``server.workers.runner``, hands its ``run_job`` to
:func:`worker_app`), never the database. The task holds no logic.

Delivery is at-least-once and the claim makes it exactly-once: ``acks_late``
plus ``task_reject_on_worker_lost`` put a message back when its worker dies,
and Redis re-delivers an unacknowledged message after the visibility timeout
(set above the hard time limit, so a message is never re-delivered while its
job may legitimately still run). A duplicate delivery finds the submission
no longer queued and does nothing. Which attempt may write a result is
decided by the database lease, not by Celery: see ``server.queue.lease``.

Importing this module must not import torch: the worker's parent process forks
the pool, and CUDA must never be initialised before a fork.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis
from celery import Celery

from server.challenges.schemas import MAX_CHECKPOINT_SECONDS
from server.config import Settings, get_settings

log = logging.getLogger(__name__)

TASK_NAME = "podium.score"
QUEUES = ("cpu", "gpu")
QUEUE_FOR_KIND = {"csv": "cpu", "checkpoint": "gpu"}
# The hard limit leaves the soft one time to report a platform error; the
# visibility timeout leaves the hard one time to kill and acknowledge.
HARD_LIMIT_GRACE_SECONDS = 30
VISIBILITY_MARGIN_SECONDS = 60
# What a checkpoint job adds to its model's own limit: fetching files, the
# sandbox's start, scoring. Each message carries its job's limits.
CHECKPOINT_OVERHEAD_SECONDS = 120
MAX_TASK_SECONDS = MAX_CHECKPOINT_SECONDS + CHECKPOINT_OVERHEAD_SECONDS
# A worker that cannot reach the server retries its claim with backoff.
CLAIM_RETRY_MAX = 30
CLAIM_RETRY_CAP_SECONDS = 60
SEND_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.5}

_apps: dict[str, Celery] = {}
_undelivered: set[tuple[int, str, int]] = set()
_undelivered_lock = threading.Lock()


def queue_for(kind: str) -> str:
    """CSV jobs need a CPU; checkpoint jobs go where the GPUs are."""
    return QUEUE_FOR_KIND.get(kind, "gpu")


def job_time_limit(settings: Settings, kind: str, model_seconds: int | None = None) -> int:
    """A job's soft time limit: the platform's, or more for a checkpoint allowed
    ``model_seconds`` (its challenge's ``time_limit_seconds``) to run."""
    if kind == "csv" or model_seconds is None:
        return settings.job_time_limit_seconds
    return max(settings.job_time_limit_seconds, model_seconds + CHECKPOINT_OVERHEAD_SECONDS)


def time_limits(settings: Settings, soft: int | None = None) -> tuple[int, int, int]:
    """(soft, hard, visibility timeout) in seconds, each above the one before.

    ``soft``: the job's (``job_time_limit``); the default is the platform's. The
    visibility timeout is the broker's, for every job: above the longest task.
    """
    soft = soft or settings.job_time_limit_seconds
    hard = soft + HARD_LIMIT_GRACE_SECONDS
    longest = max(hard, settings.job_time_limit_seconds, MAX_TASK_SECONDS)
    return soft, hard, longest + HARD_LIMIT_GRACE_SECONDS + VISIBILITY_MARGIN_SECONDS


def worker_name(hostname: str | None) -> str:
    """Who holds an attempt: the Celery node and the pool process."""
    return f"{hostname or 'celery'}/{os.getpid()}"[:90]


class Unclaimed(Exception):
    """The consumer could not claim its job (server unreachable, worker refused): retry later."""


Consumer = Callable[[int, str], str]


def make_celery(
    settings: Settings | None = None,
    one_task_per_child: bool = False,
    consume: Consumer | None = None,
) -> Celery:
    """A Celery app configured from the settings (``one_task_per_child`` for GPU workers)."""
    settings = settings or get_settings()
    if not settings.broker_url:
        raise RuntimeError("PODIUM_BROKER_URL is not set: jobs run embedded in the server")
    soft, hard, visibility = time_limits(settings)
    app = Celery("podium", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=soft,
        task_time_limit=hard,
        broker_transport_options={"visibility_timeout": visibility},
        # A fresh process per GPU job: no CUDA state or leaked memory carries over.
        worker_max_tasks_per_child=1 if one_task_per_child else None,
        task_default_queue="cpu",
        task_create_missing_queues=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=True,
    )

    if consume is None:  # a sending app: tasks are sent by name
        return app

    @app.task(name=TASK_NAME, bind=True, max_retries=CLAIM_RETRY_MAX)
    def score(self: Any, submission_id: int) -> str:
        try:
            return consume(submission_id, worker_name(self.request.hostname))
        except Unclaimed as error:
            if self.request.retries >= CLAIM_RETRY_MAX:
                # Still queued on the server: its sweeper sends the job again
                # (job_resend_seconds), so giving up here loses nothing.
                log.error(
                    "giving up on submission %d (%s); the server will send it again",
                    submission_id,
                    error,
                )
                return "given up"
            # Unclaimed: keep the job in the broker (a rejected worker is misconfigured,
            # and another worker, or this one once fixed, can still take it).
            countdown = min(CLAIM_RETRY_CAP_SECONDS, 2 ** min(self.request.retries, 6))
            log.error(
                "cannot claim submission %d (%s); retrying in %d s", submission_id, error, countdown
            )
            raise self.retry(exc=error, countdown=countdown) from None

    return app


def get_celery(settings: Settings) -> Celery:
    """The process's sending app for the configured broker."""
    assert settings.broker_url
    if settings.broker_url not in _apps:
        _apps[settings.broker_url] = make_celery(settings)
    return _apps[settings.broker_url]


def send_jobs(jobs: Sequence[tuple[int, str, int]], settings: Settings) -> None:
    """Queue ``(submission_id, kind, soft time limit)`` jobs; call only after the commit.

    Each message carries its own limits (``job_time_limit``): a checkpoint
    allowed an hour is not stopped at the platform's default.

    A broker outage does not fail the request that created the submission: the
    jobs are kept and sent again by the sweeper (and by ``recover_on_startup``).
    """
    if not jobs:
        return
    app = get_celery(settings)
    sent = 0
    try:
        with app.producer_or_acquire() as producer:
            for submission_id, kind, limit in jobs:
                soft, hard, _ = time_limits(settings, limit)
                app.send_task(
                    TASK_NAME,
                    args=[submission_id],
                    queue=queue_for(kind),
                    soft_time_limit=soft,
                    time_limit=hard,
                    producer=producer,
                    retry=True,
                    retry_policy=SEND_RETRY_POLICY,
                )
                sent += 1
    except Exception:
        pending = list(jobs[sent:])
        log.exception("broker unreachable: %d jobs will be sent again", len(pending))
        with _undelivered_lock:
            _undelivered.update(pending)


def send_undelivered(settings: Settings) -> int:
    """Try again to send jobs a broker outage kept back; returns how many were tried."""
    with _undelivered_lock:
        jobs = sorted(_undelivered)
        _undelivered.clear()
    send_jobs(jobs, settings)
    return len(jobs)


def broker_queue_lengths(settings: Settings) -> dict[str, int] | None:
    """Messages waiting in each queue (Redis brokers; None when unknown)."""
    if not settings.broker_url or not settings.broker_url.startswith(("redis://", "rediss://")):
        return None

    try:
        client = redis.Redis.from_url(
            settings.broker_url, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            return {queue: int(client.llen(queue)) for queue in QUEUES}
        finally:
            client.close()
    except redis.RedisError:
        log.warning("could not read queue lengths from the broker", exc_info=True)
        return None


def kinds_waiting_in_broker(settings: Settings) -> set[str]:
    """Kinds of job whose queue still holds messages (Redis brokers; none when unknown).

    While a queue holds messages, its workers still have jobs to take: the
    sweeper does not send its queued jobs again (a backlog is not a loss, and
    duplicates would only lengthen it). Once it is empty, a job still queued on
    the server lost its message.
    """
    lengths = broker_queue_lengths(settings) or {}
    busy = {queue for queue, length in lengths.items() if length > 0}
    return {kind for kind, queue in QUEUE_FOR_KIND.items() if queue in busy}


def worker_app(queues: Sequence[str], consume: Consumer | None = None) -> Celery:
    """The consuming app: a GPU worker runs each job in a fresh pool process."""
    return make_celery(get_settings(), one_task_per_child="gpu" in queues, consume=consume)
