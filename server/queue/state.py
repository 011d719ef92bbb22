"""The job state machine: claim a queued submission, record how its attempt ended.

``queued -> running`` (:func:`claim`, under a new attempt token and a lease;
or :func:`running_columns` when the transaction that creates the submission
claims it, for an embedded CSV that its request scores right after the commit),
``running -> scored | failed`` (:func:`record`, once, by the attempt that holds
the token). Leases, the sweeper and start-up recovery (``lease``, ``sweeper``,
``recovery``) put ``running`` jobs whose attempt died back to ``queued``. Every
transport (embedded, Celery workers through the worker API) goes through these
two guarded updates, so they cannot disagree about who owns an attempt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from server.config import Settings, get_settings
from server.db import session_scope
from server.events import SubmissionScored, emit
from server.leaderboard.bump import bump_board
from server.models import Submission, SubmissionStatus, utcnow
from server.scoring.bootstrap import columns_for
from server.scoring.outcome import PLATFORM_ERROR_MESSAGE, Outcome

__all__ = ["PLATFORM_ERROR_MESSAGE", "Attempt", "claim", "record", "running_columns"]


@dataclass(frozen=True)
class Attempt:
    """A claimed job: the token guards against a stale attempt writing its result."""

    submission_id: int
    token: str
    kind: str
    challenge_id: int


def new_token(worker: str) -> str:
    return f"{worker}:{uuid.uuid4().hex}"


def running_columns(
    token: str, now: datetime, settings: Settings | None = None
) -> dict[str, object]:
    """A new submission's columns when the transaction that creates it also claims it
    (first attempt, under ``token``, leased from ``now``). Committed together, a
    crash afterwards leaves a ``running`` job whose lease runs out: the sweeper and
    start-up recovery re-queue it like any claimed job."""
    settings = settings or get_settings()
    return {
        "status": SubmissionStatus.running,
        "started_at": now,
        "attempts": 1,
        "worker_id": token,
        "lease_expires_at": now + timedelta(seconds=settings.job_lease_seconds),
    }


def claim(
    submission_id: int, worker: str = "embedded", settings: Settings | None = None
) -> Attempt | None:
    """Mark a queued submission running under a new attempt token (None: nothing to do)."""
    settings = settings or get_settings()
    token = new_token(worker)
    now = utcnow()
    with session_scope(settings) as session:
        result = session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status == SubmissionStatus.queued)
            .values(
                status=SubmissionStatus.running,
                started_at=now,
                attempts=Submission.attempts + 1,
                worker_id=token,
                lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return Attempt(submission_id, token, submission.kind, submission.challenge_id)


def outcome_columns(outcome: Outcome) -> dict[str, object]:
    """The Submission columns an outcome sets (besides the status bookkeeping)."""
    values: dict[str, object] = dict(outcome.metrics)
    if outcome.scores is not None:
        return values | {
            "status": SubmissionStatus.scored,
            "public_score": outcome.scores.public,
            "private_score": outcome.scores.private,
            "error": None,
            "extra_scores": outcome.scores.extra_columns() if outcome.scores.extra else None,
            **columns_for(outcome.public_bootstrap),
        }
    return values | {
        "status": SubmissionStatus.failed,
        "error": outcome.error or PLATFORM_ERROR_MESSAGE,
        "error_detail": outcome.error_detail,
        "platform_error": outcome.platform_error or outcome.error is None,
    }


def record(attempt: Attempt, outcome: Outcome, settings: Settings | None = None) -> bool:
    """Write an attempt's outcome once; a stale or repeated attempt changes nothing.

    After the commit, a scored result emits :class:`server.events.SubmissionScored`
    (bootstrap interval, leader notification hang off it).
    """
    values = outcome_columns(outcome) | {"lease_expires_at": None, "scored_at": utcnow()}
    with session_scope(settings) as session:
        result = session.execute(
            update(Submission)
            .where(
                Submission.id == attempt.submission_id,
                Submission.worker_id == attempt.token,
                Submission.status == SubmissionStatus.running,
            )
            .values(**values)
            .returning(Submission.team_id)
            .execution_options(synchronize_session=False)
        )
        teams = result.scalars().all()
        written = len(teams) == 1
        if written:
            # One team's rows move (a baseline's submission has none: any change).
            bump_board(session, attempt.challenge_id, teams[0])
    if written and outcome.scores is not None:
        emit(
            SubmissionScored(
                attempt.submission_id,
                attempt.challenge_id,
                aligned=outcome.aligned,
                has_bootstrap=outcome.public_bootstrap is not None,
            )
        )
    return written
