"""After a submission is scored: its bootstrap interval, then the leader check.

:func:`install` subscribes :func:`on_scored` to ``server.events.SubmissionScored``,
which ``server.queue.state.record`` emits after the commit, on every transport.
It hands the work to one background thread, so that a submission's response
never waits for it. The bootstrap is computed from the predictions the scorer
aligned: a checkpoint's runner and a remote worker compute it where they score
and it arrives with the result; the embedded CSV scorer passes its aligned
predictions along with the event. Only when neither happened (a server restart
in between) is the file read again here.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from sqlalchemy import select, update

from server.config import Settings, get_settings
from server.db import session_scope
from server.events import SubmissionScored, subscribe
from server.insight.notify import check_leader
from server.leaderboard.bump import bump_board
from server.models import Challenge, Submission, SubmissionStatus
from server.scoring import bootstrap
from server.scoring.predictions import read_predictions
from server.scoring.solution import load_solution
from server.storage import get_blob_store

log = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-insight")
_pending: set[Future[None]] = set()
_pending_lock = threading.Lock()


def install() -> None:
    """Hang the insight work off the core's post-commit events (idempotent)."""
    subscribe(SubmissionScored, on_scored)


def on_scored(event: SubmissionScored) -> None:
    """Queue the insight work for a newly scored submission (returns at once)."""
    aligned = None if event.has_bootstrap else event.aligned
    after_scored(event.submission_id, aligned)


def after_scored(submission_id: int, aligned: np.ndarray | None = None) -> None:
    """Queue the insight work for a scored submission (returns at once).

    ``aligned``: its predictions aligned with the solution, when the caller holds them.
    """
    # The settings of the moment: the job must use this database even if they change.
    settings = get_settings()
    future = _executor.submit(_run, submission_id, settings, aligned)
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


def _run(submission_id: int, settings: Settings, aligned: np.ndarray | None = None) -> None:
    try:
        challenge_id = store_bootstrap(submission_id, settings, aligned)
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


def store_bootstrap(
    submission_id: int, settings: Settings | None = None, aligned: np.ndarray | None = None
) -> int | None:
    """Compute and store a scored CSV submission's bootstrap; returns its challenge id.

    Does nothing for a submission that already has one (checkpoints and workers
    bring theirs) or that is no longer the scored attempt it was. ``aligned``:
    the predictions as the scorer aligned them; None: the file is read again.
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
    if aligned is None:
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
            .returning(Submission.team_id)
            .execution_options(synchronize_session=False)
        )
        teams = written.scalars().all()
        if len(teams) == 1:  # the tie marks around that team's row change
            bump_board(session, challenge.id, teams[0])
    return challenge.id
