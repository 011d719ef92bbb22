"""Nothing stays queued or running forever: re-dispatch unfinished jobs."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import session_scope
from server.models import Submission, SubmissionStatus, utcnow
from server.queue.dispatch import dispatch

log = logging.getLogger(__name__)

RESEND_BATCH = 1000


def requeue_expired(settings: Settings) -> list[int]:
    """Running jobs whose lease ran out go back to the queue (or fail after the last attempt).

    Returns the ids that are queued again and need a dispatch.
    """
    now = utcnow()
    # Re-checked in each UPDATE: a heartbeat between the SELECT and the UPDATE wins.
    lease_over = or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at < now)
    with session_scope(settings) as session:
        expired = session.execute(
            select(Submission.id, Submission.attempts).where(
                Submission.status == SubmissionStatus.running, lease_over
            )
        ).all()
        exhausted = [i for i, attempts in expired if attempts >= settings.job_max_attempts]
        again = [i for i, attempts in expired if attempts < settings.job_max_attempts]
        if exhausted:
            session.execute(
                update(Submission)
                .where(
                    Submission.id.in_(exhausted),
                    Submission.status == SubmissionStatus.running,
                    lease_over,
                )
                .values(
                    status=SubmissionStatus.failed,
                    platform_error=True,
                    error=(
                        f"scoring did not finish after {settings.job_max_attempts} attempts "
                        "(platform error); this submission does not count against your limit"
                    ),
                    lease_expires_at=None,
                    worker_id=None,
                    scored_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        if again:
            session.execute(
                update(Submission)
                .where(
                    Submission.id.in_(again),
                    Submission.status == SubmissionStatus.running,
                    lease_over,
                )
                .values(
                    status=SubmissionStatus.queued,
                    lease_expires_at=resend_at(settings.job_resend_seconds, now),
                    worker_id=None,
                )
                .execution_options(synchronize_session=False)
            )
    if expired:
        log.warning("requeued %d expired jobs, failed %d", len(again), len(exhausted))
    return again


def resend_at(seconds: int, now: datetime) -> datetime:
    """When a job sent ``now`` counts as lost if it is still queued.

    A queued job's ``lease_expires_at`` holds that moment (a running job's
    holds its attempt's lease); NULL means "sent at ``created_at``".
    """
    return now + timedelta(seconds=seconds)


def _mark_sent(session: Session, ids: list[int], now: datetime, seconds: int) -> None:
    session.execute(
        update(Submission)
        .where(Submission.id.in_(ids), Submission.status == SubmissionStatus.queued)
        .values(lease_expires_at=resend_at(seconds, now))
        .execution_options(synchronize_session=False)
    )


def take_lost_queued(settings: Settings, skip_kinds: Collection[str] = ()) -> list[int]:
    """Queued jobs sent longer than ``job_resend_seconds`` ago; marks them sent again now.

    Their message may be lost (inside the broker, a claim the database refused,
    a Celery task that gave up): the caller dispatches them again. ``skip_kinds``:
    kinds whose transport still has a backlog to work through (their jobs wait,
    they are not lost). A duplicate
    finds the job claimed and does nothing. Several server processes may race
    here: the guarded UPDATE lets each job through once per bound.
    """
    now = utcnow()
    bound = timedelta(seconds=settings.job_resend_seconds)
    lost = or_(
        and_(Submission.lease_expires_at.is_(None), Submission.created_at < now - bound),
        Submission.lease_expires_at < now,
    )
    queued = and_(Submission.status == SubmissionStatus.queued, Submission.kind.not_in(skip_kinds))
    taken: list[int] = []
    with session_scope(settings) as session:
        candidates = session.scalars(
            select(Submission.id)
            .where(queued, lost)
            .order_by(Submission.created_at, Submission.id)
            .limit(RESEND_BATCH)
        ).all()
        for submission_id in candidates:
            result = session.execute(
                update(Submission)
                .where(Submission.id == submission_id, queued, lost)
                .values(lease_expires_at=now + bound)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(submission_id)
    if taken:
        log.warning("sending %d queued jobs again (queued over %s)", len(taken), bound)
    return taken


def queued_ids(settings: Settings) -> list[int]:
    with session_scope(settings) as session:
        return list(
            session.scalars(
                select(Submission.id)
                .where(Submission.status == SubmissionStatus.queued)
                .order_by(Submission.created_at, Submission.id)
            )
        )


def recover_on_startup(settings: Settings) -> int:
    """After a restart: expired jobs are requeued, every queued job is dispatched again."""
    requeue_expired(settings)
    ids = queued_ids(settings)
    with session_scope(settings) as session:
        _mark_sent(session, ids, utcnow(), settings.job_resend_seconds)
    dispatch(ids, background=True, settings=settings)
    return len(ids)
