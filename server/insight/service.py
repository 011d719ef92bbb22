"""After a submission is scored: its bootstrap interval, then the leader check.

``after_scored`` (called by ``jobs.core.record`` after the commit, on every
transport) hands the work to one background thread, so that a submission's
response never waits for it. A checkpoint's bootstrap is computed by the
checkpoint runner, which alone holds the model's outputs, and arrives with the
result; a CSV file is read again here.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.challenges.service import bump_board
from server.config import Settings, get_settings
from server.db import session_scope
from server.insight import bootstrap
from server.models import Challenge, Submission, SubmissionStatus
from server.scoring.predictions import read_predictions
from server.scoring.solution import Solution, load_solution
from server.storage import get_blob_store

log = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-insight")
_pending: set[Future[None]] = set()
_pending_lock = threading.Lock()


def after_scored(submission_id: int) -> None:
    """Queue the insight work for a newly scored submission (returns at once)."""
    # The settings of the moment: the job must use this database even if they change.
    settings = get_settings()
    future = _executor.submit(_run, submission_id, settings)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _pending_lock:
        _pending.discard(future)


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until the queued insight work is done (tests, shutdown); False on timeout."""
    with _pending_lock:
        pending = list(_pending)
    for future in pending:
        try:
            future.result(timeout=timeout)
        except TimeoutError:
            return False
    return True


def _run(submission_id: int, settings: Settings) -> None:
    from server.insight.notify import check_leader

    try:
        challenge_id = store_bootstrap(submission_id, settings)
    except Exception:
        log.exception("bootstrap of submission %s failed", submission_id)
        challenge_id = None
    if challenge_id is None:
        with session_scope(settings) as session:
            challenge_id = session.scalar(
                select(Submission.challenge_id).where(Submission.id == submission_id)
            )
    if challenge_id is not None:
        try:
            check_leader(challenge_id, settings)
        except Exception:
            log.exception("leader check after submission %s failed", submission_id)


def store_bootstrap(submission_id: int, settings: Settings | None = None) -> int | None:
    """Compute and store a scored CSV submission's bootstrap; returns its challenge id.

    Does nothing for a submission that already has one (checkpoints bring theirs)
    or that is no longer the scored attempt it was.
    """
    settings = settings or get_settings()
    with session_scope(settings) as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            return None
        challenge = session.get(Challenge, submission.challenge_id)
        assert challenge is not None
        if (
            submission.status != SubmissionStatus.scored
            or submission.public_bootstrap is not None
            or submission.kind != "csv"
            or challenge.solution_sha256 is None
        ):
            return challenge.id
        attempt, file_sha = submission.worker_id, submission.file_sha256
        metric, solution_sha = challenge.metric, challenge.solution_sha256
    store = get_blob_store(settings)
    solution = load_solution(store.path_for(solution_sha), metric, solution_sha)
    aligned = read_predictions(store.path_for(file_sha), solution, metric)
    scores = bootstrap.public_bootstrap(aligned, solution, metric, solution_sha)
    with session_scope(settings) as session:
        written = session.execute(
            update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.status == SubmissionStatus.scored,
                Submission.worker_id == attempt,
                Submission.public_bootstrap.is_(None),
            )
            .values(**bootstrap.stored_columns(scores))
            .execution_options(synchronize_session=False)
        )
        if written.rowcount == 1:  # type: ignore[attr-defined]
            bump_board(session, challenge.id)
    return challenge.id


def checkpoint_bootstrap(
    aligned: np.ndarray, solution: Solution, metric: str, solution_sha256: str
) -> np.ndarray | None:
    """The bootstrap of a checkpoint's predictions (None if it fails: scoring goes on)."""
    try:
        return bootstrap.public_bootstrap(aligned, solution, metric, solution_sha256)
    except Exception:
        log.exception("bootstrap of checkpoint predictions failed")
        return None


def tied_marks(session: Session, submission_ids: list[int]) -> list[bool | None]:
    """For a public board's best submissions in rank order: is each tied with the next?

    The last entry gets None (there is no next one), and so does a pair lacking a
    bootstrap (still being computed).
    """
    if len(submission_ids) < 2:
        return [None] * len(submission_ids)
    blobs = dict(
        session.execute(
            select(Submission.id, Submission.public_bootstrap).where(
                Submission.id.in_(submission_ids)
            )
        )
        .tuples()
        .all()
    )
    scores = [bootstrap.decode(blobs.get(i)) for i in submission_ids]
    marks: list[bool | None] = []
    for first, second in zip(scores, scores[1:], strict=False):
        marks.append(None if first is None or second is None else bootstrap.tied(first, second))
    return marks + [None]
