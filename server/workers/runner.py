"""One job on a remote worker: claim, fetch, evaluate under a heartbeat, post the result.

Called by the Celery task with a submission id only. Everything it needs comes
from the server over HTTP; files are cached by sha256 under
``settings.worker_cache_dir``. The scoring itself is the same code the
embedded transport runs (``server.jobs.evaluate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from server.config import get_settings
from server.jobs.evaluate import Outcome, csv_outcome
from server.jobs.lease import Heartbeat, heartbeat_interval
from server.workers.client import ServerUnreachable, WorkerClient, WorkerRejected
from server.workers.schemas import JobRead

__all__ = ["ServerUnreachable", "WorkerRejected", "evaluate_job", "run_job"]

log = logging.getLogger(__name__)


def run_job(submission_id: int, worker: str) -> str:
    """Run one job to the end; returns what happened (for the worker's log).

    Raises ServerUnreachable when the claim cannot reach the server (the task
    retries later); once claimed, nothing raises: failures become results.
    """
    settings = get_settings()
    with WorkerClient(settings) as client, WorkerClient(settings) as beats:
        job = client.claim(submission_id, worker)
        if job is None:
            return "skipped"
        log.info("claimed submission=%d attempt=%s kind=%s", submission_id, job.attempt, job.kind)
        with Heartbeat(
            lambda: beats.heartbeat(job),
            heartbeat_interval(job.lease_seconds),
            name=f"heartbeat-{submission_id}",
        ):
            outcome = evaluate_job(job, client.fetch)
        recorded = client.post_result(job, outcome)
    # Tests count these lines: one "recorded=True" per submission, ever.
    log.info("result submission=%d attempt=%s recorded=%s", submission_id, job.attempt, recorded)
    if recorded is None:
        return "unposted"
    return "recorded" if recorded else "refused"


def evaluate_job(job: JobRead, fetch: Callable[[str], Path]) -> Outcome:
    """Evaluate a claimed job; every failure of ours becomes a platform error."""
    from celery.exceptions import SoftTimeLimitExceeded

    try:
        if job.solution_sha256 is None:
            log.error("challenge %s has no solution: cannot score", job.challenge)
            return Outcome.platform_failure()
        if job.kind == "csv":
            return csv_outcome(
                fetch(job.file_sha256), fetch(job.solution_sha256), job.solution_sha256, job.metric
            )
        return evaluate_checkpoint_job(job, fetch)
    except SoftTimeLimitExceeded:
        log.error("submission %d ran past the platform's time limit", job.submission_id)
        return Outcome.platform_failure()
    except Exception:
        log.exception("evaluating submission %d failed", job.submission_id)
        return Outcome.platform_failure()


def evaluate_checkpoint_job(job: JobRead, fetch: Callable[[str], Path]) -> Outcome:
    """The gpu queue: the one place that hands a checkpoint to the checkpoint runner.

    The runner evaluates in its sandbox and scores with the same core as the
    embedded transport; torch loads only inside the sandbox process.
    """
    from server.jobs.checkpoint_runner import checkpoint_outcome

    if job.hidden_inputs_sha256 is None:
        log.error("challenge %s has no hidden inputs: cannot run checkpoints", job.challenge)
        return Outcome.platform_failure()
    assert job.solution_sha256 is not None
    return checkpoint_outcome(
        fetch(job.file_sha256),
        fetch(job.config_sha256) if job.config_sha256 else None,
        fetch(job.hidden_inputs_sha256),
        fetch(job.solution_sha256),
        job.solution_sha256,
        job.metric,
        job.checkpoint_spec,
        file_name=job.file_name,
    )
