"""Nothing stays queued or running forever: re-dispatch unfinished jobs."""

from __future__ import annotations

import logging

from sqlalchemy import or_, select, update

from server.config import get_settings
from server.db import session_scope
from server.models import Submission, SubmissionStatus, utcnow
from server.queue.dispatch import dispatch

log = logging.getLogger(__name__)


def requeue_expired() -> list[int]:
    """Running jobs whose lease ran out go back to the queue (or fail after the last attempt).

    Returns the ids that are queued again and need a dispatch.
    """
    settings = get_settings()
    now = utcnow()
    # Re-checked in each UPDATE: a heartbeat between the SELECT and the UPDATE wins.
    lease_over = or_(Submission.lease_expires_at.is_(None), Submission.lease_expires_at < now)
    with session_scope() as session:
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
                .values(status=SubmissionStatus.queued, lease_expires_at=None, worker_id=None)
                .execution_options(synchronize_session=False)
            )
    if expired:
        log.warning("requeued %d expired jobs, failed %d", len(again), len(exhausted))
    return again


def queued_ids() -> list[int]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Submission.id)
                .where(Submission.status == SubmissionStatus.queued)
                .order_by(Submission.created_at, Submission.id)
            )
        )


def recover_on_startup() -> int:
    """After a restart: expired jobs are requeued, every queued job is dispatched again."""
    requeue_expired()
    ids = queued_ids()
    dispatch(ids, background=True)
    return len(ids)
