"""The server side of the worker API: claim, heartbeat, result; the queue view.

Claims and results go through ``server.queue.state`` (the same guarded updates the
embedded transport uses), so a worker and the embedded scorer cannot disagree
about who owns an attempt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.config import Settings, get_settings
from server.db import session_scope
from server.exceptions import Conflict, NotFound
from server.models import UNFINISHED, Challenge, Submission, SubmissionStatus, Team, utcnow
from server.queue.celery_app import broker_queue_lengths, job_time_limit
from server.queue.dispatch import model_seconds
from server.queue.lease import extend_lease
from server.queue.state import Attempt, claim, record
from server.scoring.outcome import Outcome
from server.scoring.predictions import Scores
from server.workers.schemas import (
    HeartbeatRead,
    JobRead,
    QueueJob,
    QueueRead,
    ResultCreate,
    ResultRead,
)

FINISHED = (SubmissionStatus.scored, SubmissionStatus.failed)
QUEUE_JOBS_SHOWN = 200


def _status_of(submission_id: int) -> str:
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise NotFound.of(f"submission {submission_id}")
        return submission.status


def claim_job(submission_id: int, worker: str, settings: Settings | None = None) -> JobRead:
    """Start an attempt on a queued submission (409 when it is not queued)."""
    settings = settings or get_settings()
    attempt = claim(submission_id, worker, settings)
    if attempt is None:
        raise Conflict(
            f"submission {submission_id} is {_status_of(submission_id)}, not queued; nothing to do"
        )
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        challenge = session.get(Challenge, attempt.challenge_id)
        assert submission is not None and challenge is not None
        return JobRead(
            submission_id=submission_id,
            attempt=attempt.token,
            kind=attempt.kind,
            challenge=challenge.slug,
            metric=challenge.metric,
            extra_metrics=list(challenge.extra_metrics or []),
            file_sha256=submission.file_sha256,
            file_name=submission.file_name,
            config_sha256=submission.config_sha256,
            solution_sha256=challenge.solution_sha256,
            hidden_inputs_sha256=challenge.hidden_inputs_sha256,
            checkpoint_spec=dict(challenge.checkpoint_spec or {}),
            lease_seconds=settings.job_lease_seconds,
            lease_expires_at=submission.lease_expires_at,
            time_limit_seconds=job_time_limit(
                settings, attempt.kind, model_seconds(challenge.checkpoint_spec)
            ),
        )


def heartbeat(submission_id: int, token: str, settings: Settings) -> HeartbeatRead:
    """Extend a running attempt's lease (409 once the attempt is no longer current)."""
    expires = extend_lease(submission_id, token, settings)
    if expires is None:
        raise Conflict(
            f"attempt is no longer current for submission {submission_id} "
            f"(it is {_status_of(submission_id)}); stop and drop the result"
        )
    return HeartbeatRead(lease_expires_at=expires)


def _current_attempt(submission_id: int, token: str) -> Attempt | ResultRead:
    """The attempt to record, or the answer to a repeated post; 409 when stale."""
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise NotFound.of(f"submission {submission_id}")
        if submission.worker_id != token:
            raise Conflict(
                f"attempt is no longer current for submission {submission_id}; "
                "its result was not recorded"
            )
        if submission.status in FINISHED:
            return ResultRead(recorded=False, status=submission.status)
        if submission.status != SubmissionStatus.running:
            raise Conflict(f"submission {submission_id} is {submission.status}")
        return Attempt(submission_id, token, submission.kind, submission.challenge_id)


def post_result(submission_id: int, body: ResultCreate) -> ResultRead:
    """Record an attempt's result once; a repeat changes nothing, a stale attempt gets 409."""
    current = _current_attempt(submission_id, body.attempt)
    if isinstance(current, ResultRead):
        return current
    scores = (
        Scores(
            public=body.public_score,
            private=body.private_score,
            extra={
                name: (float(pair[0]), float(pair[1]))
                for name, pair in body.extra_scores.items()
                if len(pair) == 2
            },
        )
        if body.public_score is not None and body.private_score is not None
        else None
    )
    outcome = Outcome(
        scores=scores,
        error=None if scores is not None else body.error,
        error_detail=None if scores is not None else body.error_detail,
        platform_error=body.platform_error,
        metrics=body.metrics.model_dump(exclude_none=True),
        public_bootstrap=body.public_bootstrap if scores is not None else None,
    )
    written = record(current, outcome)
    if written:
        return ResultRead(recorded=True, status=_status_of(submission_id))
    # Lost a race (the sweeper, or the same result posted twice at once): say which.
    again = _current_attempt(submission_id, body.attempt)
    if isinstance(again, ResultRead):
        return again
    raise Conflict(f"submission {submission_id} changed while recording; result not recorded")


def queue_summary(
    session: Session,
    challenge: Challenge | None = None,
    settings: Settings | None = None,
    managed: list[int] | None = None,
) -> QueueRead:
    """Counts by status, the oldest queued job and every unfinished one: of one challenge,
    of the ``managed`` challenge ids, or of all (admins)."""
    settings = settings or get_settings()
    scope = [] if challenge is None else [Submission.challenge_id == challenge.id]
    if managed is not None:
        scope.append(Submission.challenge_id.in_(managed))
    counts = {status.value: 0 for status in SubmissionStatus}
    by_status = (
        select(Submission.status, func.count(Submission.id))
        .where(*scope)
        .group_by(Submission.status)
    )
    for status, count in session.execute(by_status).tuples():
        counts[status] = count
    # Positions are server-wide: that is the order the scorers see.
    queued_ids = session.scalars(
        select(Submission.id)
        .where(Submission.status == SubmissionStatus.queued)
        .order_by(Submission.created_at, Submission.id)
    ).all()
    positions = {submission_id: place for place, submission_id in enumerate(queued_ids, 1)}
    rows = session.execute(
        select(Submission, Challenge.slug, Team.name)
        .join(Challenge, Challenge.id == Submission.challenge_id)
        .outerjoin(Team, Team.id == Submission.team_id)  # baselines have no team
        .where(Submission.status.in_(UNFINISHED), *scope)
        .order_by(Submission.created_at, Submission.id)
        .limit(QUEUE_JOBS_SHOWN)
    ).tuples()
    jobs = [
        QueueJob(
            id=submission.id,
            challenge=slug,
            team=team if team is not None else "(baseline)",
            kind=submission.kind,
            status=submission.status,
            position=positions.get(submission.id),
            attempts=submission.attempts,
            worker=_worker_of(submission.worker_id)
            if submission.status == SubmissionStatus.running
            else None,
            created_at=submission.created_at,
            started_at=submission.started_at,
            lease_expires_at=submission.lease_expires_at,
        )
        for submission, slug, team in rows
    ]
    oldest: datetime | None = session.scalar(
        select(Submission.created_at)
        .where(Submission.status == SubmissionStatus.queued, *scope)
        .order_by(Submission.created_at)
        .limit(1)
    )
    return QueueRead(
        transport="celery" if settings.broker_url else "embedded",
        counts=counts,
        oldest_queued_at=oldest,
        oldest_queued_age_seconds=(utcnow() - oldest).total_seconds() if oldest else None,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        broker_queues=broker_queue_lengths(settings) if settings.broker_url else None,
        jobs=jobs,
    )


def _worker_of(token: str | None) -> str | None:
    """The worker part of an attempt token (the secret-free half)."""
    if not token:
        return None
    return token.rsplit(":", 1)[0]
