"""One job on a remote worker: claim, fetch, evaluate under a heartbeat, post the result.

Called by the Celery task with a submission id only. Everything it needs comes
from the server over HTTP; files are cached by sha256 under
``settings.worker_cache_dir``. The scoring itself is the same code the
embedded transport runs (``server.scoring.outcome``, ``server.checkpoints.runner``).
``podium-server worker`` starts :func:`run_worker`, which hands :func:`run_job` to
the Celery transport (``server.queue.celery_app``) as the task's consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready

from server.checkpoints.runner import checkpoint_outcome
from server.config import get_settings
from server.queue.celery_app import worker_app
from server.queue.embedded import apply_test_scoring_delay
from server.queue.lease import Heartbeat, heartbeat_interval
from server.sandbox.host import startup_report
from server.scoring.outcome import Outcome, csv_outcome
from server.workers.client import ServerUnreachable, WorkerClient, WorkerRejected
from server.workers.schemas import JobRead

__all__ = ["ServerUnreachable", "WorkerRejected", "evaluate_job", "run_job", "run_worker"]

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
    try:
        if job.solution_sha256 is None:
            log.error("challenge %s has no solution: cannot score", job.challenge)
            return Outcome.platform_failure()
        if job.kind == "csv":
            apply_test_scoring_delay()  # PODIUM_TEST_SCORING_DELAY, test environment only
            return csv_outcome(
                fetch(job.file_sha256),
                fetch(job.solution_sha256),
                job.solution_sha256,
                job.metric,
                job.extra_metrics,
                with_bootstrap=True,  # computed here, where the predictions are aligned
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
        extra_metrics=job.extra_metrics,
    )


def _log_sandbox(**_: Any) -> None:
    """The start-up line that says how checkpoints are confined and limited here."""
    report = startup_report()
    (log.warning if "NOT isolated" in report else log.info)("%s", report)


def run_worker(
    queues: Sequence[str], concurrency: int, hostname: str | None = None, loglevel: str = "INFO"
) -> None:
    """Start a Celery worker on ``queues`` (blocks; ``podium-server worker``).

    Everything a job needs is imported here, in the parent, so that each forked
    pool process starts warm; none of it imports torch (the tests check the
    parent's memory map): torch loads in the checkpoint sandbox only.
    """
    app = worker_app(queues, consume=run_job)
    if "gpu" in queues:
        worker_ready.connect(_log_sandbox, weak=False)
    # One line per request is noise next to the worker's own job log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    argv = [
        "worker",
        f"--queues={','.join(queues)}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--pool=prefork",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
