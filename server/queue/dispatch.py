"""The transport seam: hand committed submissions to the scorer.

Embedded default (no broker): ``server.queue.embedded`` scores in-process. With
``PODIUM_BROKER_URL`` set, jobs go to Celery queues (``server.queue.celery_app``)
and remote workers take them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from server.challenges.schemas import CheckpointSpec
from server.config import Settings, get_settings
from server.db import session_scope
from server.models import Challenge, Submission
from server.queue.celery_app import job_time_limit, send_jobs
from server.queue.embedded import run_embedded
from server.scoring.predictions import ParsedPredictions

log = logging.getLogger(__name__)


def model_seconds(spec: dict[str, Any] | None) -> int:
    """How long a challenge lets a checkpoint run (its spec, or the spec's default)."""
    try:
        return CheckpointSpec.model_validate(spec or {}).time_limit_seconds
    except ValueError:
        return CheckpointSpec().time_limit_seconds


def dispatch(
    submission_ids: list[int],
    background: bool = False,
    settings: Settings | None = None,
    parsed: Mapping[int, ParsedPredictions] | None = None,
) -> None:
    """Send jobs for committed submissions. Call only after the commit.

    ``parsed``: CSV predictions as the upload's validation parsed them, by
    submission id; the embedded scorer uses them instead of reading the file
    again (a broker's worker reads its own copy)."""
    if not submission_ids:
        return
    settings = settings or get_settings()
    with session_scope(settings) as session:
        rows = (
            session.execute(
                select(Submission.id, Submission.kind, Challenge.checkpoint_spec)
                .join(Challenge, Challenge.id == Submission.challenge_id)
                .where(Submission.id.in_(submission_ids))
            )
            .tuples()
            .all()
        )
    kinds = {submission_id: kind for submission_id, kind, _ in rows}
    if settings.broker_url:
        # Each message carries its job's time limits (a checkpoint's follow its challenge).
        limits = {i: job_time_limit(settings, kind, model_seconds(spec)) for i, kind, spec in rows}
        send_jobs([(i, kinds[i], limits[i]) for i in submission_ids if i in kinds], settings)
        return
    run_embedded(kinds, submission_ids, background, settings, parsed)
