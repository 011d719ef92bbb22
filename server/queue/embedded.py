"""The embedded transport (no broker): score in this process.

CSV submissions are scored right away, in the request that created them;
checkpoints and bulk re-scores run on a small background pool. Either way the
job is claimed, evaluated into one :class:`~server.scoring.outcome.Outcome`
and recorded through ``server.queue.state``, as a remote worker's would be.

A new CSV submission is claimed by the very transaction that creates it
(:class:`InlineJob`): its request then scores it from what it already holds
(the challenge's solution and metric, the upload's parse) and records the
result, one transaction after the creating one instead of four (dispatch,
claim, evaluate, record). The claim is committed with the row, lease and all,
so a process that dies mid-job leaves a ``running`` job that the sweeper and
start-up recovery re-queue.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from server.checkpoints.runner import run_checkpoint_attempt
from server.config import Settings, get_settings
from server.db import session_scope
from server.models import Challenge, Submission
from server.queue.lease import keep_lease
from server.queue.state import Attempt, claim, record
from server.scoring.outcome import Outcome, csv_outcome
from server.scoring.predictions import ParsedPredictions
from server.storage import get_blob_store

log = logging.getLogger(__name__)

# Test-only: seconds every CSV scoring run sleeps first, so that tests can kill or
# freeze a process mid-job deterministically. Honoured only with
# PODIUM_ENV=test, so a production deployment cannot be slowed by it.
TEST_SCORING_DELAY_ENV = "PODIUM_TEST_SCORING_DELAY"

_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="podium-score")
_pending = 0  # jobs handed to the pool and not finished (the sweeper's backlog check)
_pending_lock = threading.Lock()


def background_pending() -> int:
    """Jobs waiting or running on this process's pool."""
    with _pending_lock:
        return _pending


def wait_background_idle(timeout: float) -> bool:
    """Wait until the pool has nothing left (tests, shutdown); False on timeout."""
    deadline = time.monotonic() + timeout
    while background_pending():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def apply_test_scoring_delay(settings: Settings | None = None) -> None:
    """Sleep ``$PODIUM_TEST_SCORING_DELAY`` seconds, in the test environment only."""
    raw = os.environ.get(TEST_SCORING_DELAY_ENV)
    if not raw or (settings or get_settings()).env != "test":
        return
    delay = float(raw)
    if delay > 0:
        log.info("test-only scoring delay: sleeping %.1f s", delay)
        time.sleep(delay)


def evaluate_csv_attempt(
    attempt: Attempt, settings: Settings, parsed: ParsedPredictions | None = None
) -> Outcome:
    """Score a claimed CSV submission against the challenge's current solution
    (``parsed``: the upload's validation parse of its file, when at hand)."""
    store = get_blob_store(settings)
    with session_scope(settings) as session:
        submission = session.get(Submission, attempt.submission_id)
        assert submission is not None
        challenge = session.get(Challenge, submission.challenge_id)
        assert challenge is not None and challenge.solution_sha256 is not None
        metric, solution_sha, file_sha = (
            challenge.metric,
            challenge.solution_sha256,
            submission.file_sha256,
        )
        extra_metrics = list(challenge.extra_metrics or [])
    apply_test_scoring_delay(settings)
    return csv_outcome(
        store.path_for(file_sha),
        store.path_for(solution_sha),
        solution_sha,
        metric,
        extra_metrics,
        parsed=parsed,
    )


def score_submission(
    submission_id: int, settings: Settings | None = None, parsed: ParsedPredictions | None = None
) -> bool:
    """Score one queued submission in this process; True when a result was written.

    ``parsed``: a CSV's predictions as its upload's validation parsed them (the
    request that created it scores it next): the file is not read twice."""
    settings = settings or get_settings()
    attempt = claim(submission_id, settings=settings)
    if attempt is None:
        return False
    # Long runs (checkpoints) must keep their lease, or the sweeper re-queues them.
    with keep_lease(attempt.submission_id, attempt.token, settings):
        if attempt.kind != "csv":
            return run_checkpoint_attempt(attempt, settings)
        try:
            outcome = evaluate_csv_attempt(attempt, settings, parsed)
        except Exception:
            log.exception("scoring submission %s failed", submission_id)
            outcome = Outcome.platform_failure()
        return record(attempt, outcome, settings)


@dataclass(frozen=True)
class InlineJob:
    """A CSV submission claimed by the transaction that created it (``attempt``),
    with what scoring it needs, known to that request: nothing is read back."""

    attempt: Attempt
    file_sha256: str
    solution_sha256: str
    metric: str
    extra_metrics: Sequence[str] = ()
    parsed: ParsedPredictions | None = field(default=None, repr=False)


def inline_claim(kind: str, settings: Settings) -> bool:
    """Whether a new ``kind`` submission is claimed as it is created and scored by its
    request after the commit (a CSV on the embedded transport)."""
    return kind == "csv" and not settings.broker_url


def score_inline(job: InlineJob, settings: Settings | None = None) -> bool:
    """Score and record an :class:`InlineJob` in this thread, once its creating
    transaction is committed; True when the result was written. Never raises: a
    result that cannot be recorded leaves the job running until its lease runs
    out, and the sweeper sends it again."""
    settings = settings or get_settings()
    try:
        with keep_lease(job.attempt.submission_id, job.attempt.token, settings):
            try:
                apply_test_scoring_delay(settings)
                store = get_blob_store(settings)
                outcome = csv_outcome(
                    store.path_for(job.file_sha256),
                    store.path_for(job.solution_sha256),
                    job.solution_sha256,
                    job.metric,
                    list(job.extra_metrics),
                    parsed=job.parsed,
                )
            except Exception:
                log.exception("scoring submission %s failed", job.attempt.submission_id)
                outcome = Outcome.platform_failure()
            return record(job.attempt, outcome, settings)
    except Exception:
        log.exception("job for submission %s crashed", job.attempt.submission_id)
        return False


def _run(
    submission_id: int, settings: Settings | None = None, parsed: ParsedPredictions | None = None
) -> None:
    try:
        score_submission(submission_id, settings, parsed)
    except Exception:
        log.exception("job for submission %s crashed", submission_id)


def _count(change: int) -> None:
    global _pending
    with _pending_lock:
        _pending += change


def _run_pooled(submission_id: int, settings: Settings | None = None) -> None:
    try:
        _run(submission_id, settings)
    finally:
        _count(-1)


def _submit(submission_id: int, settings: Settings | None) -> None:
    _count(+1)
    _background.submit(_run_pooled, submission_id, settings)


def run_embedded(
    kinds: dict[int, str],
    submission_ids: list[int],
    background: bool,
    settings: Settings | None = None,
    parsed: Mapping[int, ParsedPredictions] | None = None,
) -> None:
    """CSV jobs now, in this thread (unless ``background``); the rest on the pool.

    ``parsed``: CSV files their upload's validation parsed, by submission id."""
    for submission_id in submission_ids:
        if kinds.get(submission_id) == "csv" and not background:
            _run(submission_id, settings, (parsed or {}).get(submission_id))
        else:
            _submit(submission_id, settings)
