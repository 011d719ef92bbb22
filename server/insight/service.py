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
from sqlalchemy import and_, select, update

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


# Queued work: (submission id, settings, aligned predictions), taken in batches.
_queue: list[tuple[int, Settings, np.ndarray | None]] = []
# At most this many submissions per batch (one read, one write transaction).
MAX_BATCH = 100


def after_scored(submission_id: int, aligned: np.ndarray | None = None) -> None:
    """Queue the insight work for a scored submission (returns at once).

    ``aligned``: its predictions aligned with the solution, when the caller holds them.
    The thread takes whatever is queued when it gets to it, as one batch: under a
    burst of results, their bootstraps are read and written in one transaction
    each way (a board bump per team, not per submission) and the leader check
    runs once per challenge, after the batch; alone, a submission is a batch of one.
    """
    # The settings of the moment: the job must use this database even if they change.
    settings = get_settings()
    with _pending_lock:
        _queue.append((submission_id, settings, aligned))
    future = _executor.submit(_drain)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _take() -> list[tuple[int, Settings, np.ndarray | None]]:
    """The next batch: the oldest queued items under the same settings, up to MAX_BATCH."""
    with _pending_lock:
        if not _queue:
            return []
        settings = _queue[0][1]
        count = 0
        while count < min(len(_queue), MAX_BATCH) and _queue[count][1] is settings:
            count += 1
        batch = _queue[:count]
        del _queue[:count]
        return batch


def _drain() -> None:
    """One batch (a later call finds an empty queue when an earlier one took its item)."""
    batch = _take()
    if batch:
        _run_batch([(i, aligned) for i, _, aligned in batch], batch[0][1])


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


def _run_batch(items: list[tuple[int, np.ndarray | None]], settings: Settings) -> None:
    ids = [submission_id for submission_id, _ in items]
    try:
        challenge_ids = store_bootstraps(items, settings)
    except Exception:
        log.exception("bootstrap of submissions %s failed", ids)
        with session_scope(settings) as session:
            challenge_ids = set(
                session.scalars(
                    select(Submission.challenge_id).where(Submission.id.in_(ids)).distinct()
                )
            )
    for challenge_id in sorted(challenge_ids):
        try:
            check_leader(challenge_id, settings)
        except Exception:
            log.exception("leader check after submissions %s failed", ids)


def store_bootstrap(
    submission_id: int, settings: Settings | None = None, aligned: np.ndarray | None = None
) -> int | None:
    """Compute and store a scored CSV submission's bootstrap; returns its challenge id.

    Does nothing for a submission that already has one (checkpoints and workers
    bring theirs) or that is no longer the scored attempt it was. ``aligned``:
    the predictions as the scorer aligned them; None: the file is read again.
    """
    found = store_bootstraps([(submission_id, aligned)], settings)
    return next(iter(found), None)


def store_bootstraps(
    items: list[tuple[int, np.ndarray | None]], settings: Settings | None = None
) -> set[int]:
    """:func:`store_bootstrap` for several submissions: one transaction reads them,
    one writes their bootstraps and bumps each team's board once; returns the
    challenges they belong to. A bootstrap that fails is logged and left out."""
    settings = settings or get_settings()
    aligned_of = dict(items)
    with session_scope(settings) as session:
        rows = session.execute(
            select(
                Submission.id,
                Submission.challenge_id,
                Submission.worker_id,
                Submission.file_sha256,
                Challenge.metric,
                Challenge.solution_sha256,
                and_(
                    Submission.status == SubmissionStatus.scored,
                    Submission.public_bootstrap.is_(None),
                    Submission.kind == "csv",
                    Challenge.solution_sha256.is_not(None),
                ).label("needed"),
            )
            .join(Challenge, Challenge.id == Submission.challenge_id)
            .where(Submission.id.in_(list(aligned_of)))
        ).all()
    challenges = {row.challenge_id for row in rows}
    store = get_blob_store(settings)
    computed: list[tuple[int, int, str | None, dict[str, object]]] = []
    for row in rows:
        if not row.needed:
            continue
        try:
            sha = row.solution_sha256
            solution = load_solution(store.path_for(sha), row.metric, sha)
            aligned = aligned_of.get(row.id)
            if aligned is None:
                aligned = read_predictions(store.path_for(row.file_sha256), solution, row.metric)
            scores = bootstrap.public_bootstrap(aligned, solution, row.metric, row.solution_sha256)
        except Exception:
            log.exception("bootstrap of submission %s failed", row.id)
            continue
        computed.append((row.id, row.challenge_id, row.worker_id, bootstrap.stored_columns(scores)))
    if not computed:
        return challenges
    with session_scope(settings) as session:
        moved: set[tuple[int, int | None]] = set()
        for submission_id, challenge_id, attempt, columns in computed:
            written = session.execute(
                update(Submission)
                .where(
                    Submission.id == submission_id,
                    Submission.status == SubmissionStatus.scored,
                    Submission.worker_id == attempt,
                    Submission.public_bootstrap.is_(None),
                )
                .values(**columns)
                .returning(Submission.team_id)
                .execution_options(synchronize_session=False)
            )
            teams = written.scalars().all()
            if len(teams) == 1:  # the tie marks around that team's row change
                moved.add((challenge_id, teams[0]))
        for challenge_id, team_id in sorted(moved, key=lambda m: (m[0], m[1] is None, m[1] or 0)):
            bump_board(session, challenge_id, team_id)
    return challenges
