"""Queue again the submissions that failed through the platform's fault.

A platform failure (``platform_error``: the scorer crashed, a lease ran out after
the last attempt, a worker reported its own error) is not the team's doing; once
the cause is fixed, a host sends those submissions back to the scorer instead of
asking the teams to submit again. A failure the team caused (a bad file, a model
that crashed in the sandbox) is never requeued: it would fail again.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.exceptions import Conflict
from server.models import Challenge, ChallengeState, Submission, SubmissionStatus
from server.queue.dispatch import dispatch


def platform_failures(session: Session, challenge: Challenge) -> list[Submission]:
    """The challenge's submissions that failed through the platform's fault, newest first."""
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.challenge_id == challenge.id,
                Submission.status == SubmissionStatus.failed,
                Submission.platform_error.is_(True),
            )
            .order_by(Submission.created_at.desc(), Submission.id.desc())
        )
    )


def requeue_failed(
    session: Session, challenge: Challenge, submission_ids: list[int] | None = None
) -> list[int]:
    """Queue the given platform failures again (all of them when ``submission_ids`` is None).

    All or nothing: an id that is not a platform failure of this challenge is a 409
    naming it. Commits, then hands the jobs to the scorer (as ``rescore_all`` does).
    """
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its scores are final")
    failed = {s.id for s in platform_failures(session, challenge)}
    wanted = failed if submission_ids is None else set(submission_ids)
    others = sorted(wanted - failed)
    if others:
        raise Conflict(
            "only submissions that failed through a platform error can be requeued; "
            f"not these: {', '.join(str(i) for i in others[:50])}"
        )
    ids = sorted(wanted)
    if ids:
        session.execute(
            update(Submission)
            .where(
                Submission.id.in_(ids),
                Submission.status == SubmissionStatus.failed,
                Submission.platform_error.is_(True),
            )
            .values(
                status=SubmissionStatus.queued,
                error=None,
                error_detail=None,
                platform_error=False,
                attempts=0,
                worker_id=None,
                lease_expires_at=None,
                started_at=None,
                scored_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    session.commit()
    dispatch(ids, background=True)
    return ids
