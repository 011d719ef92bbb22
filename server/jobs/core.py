"""The one scoring core: ``score_submission(id)``, used by every transport."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from server.challenges.service import bump_board
from server.config import get_settings
from server.db import session_scope
from server.jobs.evaluate import score_csv_file
from server.jobs.lease import keep_lease
from server.models import Challenge, Submission, SubmissionStatus, utcnow
from server.scoring.predictions import PredictionError, Scores
from server.storage import get_blob_store

log = logging.getLogger(__name__)

PLATFORM_ERROR_MESSAGE = "scoring failed because of a platform error; it does not count"


@dataclass(frozen=True)
class Attempt:
    """A claimed job: the token guards against a stale attempt writing its result."""

    submission_id: int
    token: str
    kind: str
    challenge_id: int


def claim(submission_id: int, worker: str = "embedded") -> Attempt | None:
    """Mark a queued submission running under a new attempt token (None: nothing to do)."""
    settings = get_settings()
    token = f"{worker}:{uuid.uuid4().hex}"
    now = utcnow()
    with session_scope() as session:
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


def record(
    attempt: Attempt,
    scores: Scores | None = None,
    error: str | None = None,
    platform_error: bool = False,
    extra: dict[str, object] | None = None,
) -> bool:
    """Write an attempt's outcome once; a stale or repeated attempt changes nothing."""
    now = utcnow()
    values: dict[str, object] = {"lease_expires_at": None, "scored_at": now}
    if scores is not None:
        values |= {
            "status": SubmissionStatus.scored,
            "public_score": scores.public,
            "private_score": scores.private,
            "error": None,
        }
    else:
        values |= {
            "status": SubmissionStatus.failed,
            "error": error or PLATFORM_ERROR_MESSAGE,
            "platform_error": platform_error,
        }
    values |= extra or {}
    with session_scope() as session:
        result = session.execute(
            update(Submission)
            .where(
                Submission.id == attempt.submission_id,
                Submission.worker_id == attempt.token,
                Submission.status == SubmissionStatus.running,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        written = result.rowcount == 1  # type: ignore[attr-defined]
        if written:
            bump_board(session, attempt.challenge_id)
    if written and scores is not None:
        from server.jobs.hooks import after_scored

        after_scored(attempt.submission_id)
    return written


def evaluate_csv_submission(submission_id: int) -> Scores:
    """Score a CSV submission against the current solution (raises PredictionError)."""
    store = get_blob_store()
    with session_scope() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        challenge = session.get(Challenge, submission.challenge_id)
        assert challenge is not None and challenge.solution_sha256 is not None
        metric, solution_sha, file_sha = (
            challenge.metric,
            challenge.solution_sha256,
            submission.file_sha256,
        )
    return score_csv_file(
        store.path_for(file_sha), store.path_for(solution_sha), solution_sha, metric
    )


def score_submission(submission_id: int) -> bool:
    """Score one queued submission in this process; True when a result was written."""
    attempt = claim(submission_id)
    if attempt is None:
        return False
    # Long runs (checkpoints) must keep their lease, or the sweeper re-queues them.
    with keep_lease(attempt.submission_id, attempt.token):
        if attempt.kind != "csv":
            from server.jobs.checkpoint_runner import run_checkpoint_attempt

            return run_checkpoint_attempt(attempt)
        try:
            scores = evaluate_csv_submission(submission_id)
        except PredictionError as error:
            return record(attempt, error=str(error))
        except Exception:
            log.exception("scoring submission %s failed", submission_id)
            return record(attempt, platform_error=True)
        return record(attempt, scores=scores)
