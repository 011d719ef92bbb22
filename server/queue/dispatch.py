"""The transport seam: hand committed submissions to the scorer.

Embedded default (no broker): ``server.queue.embedded`` scores in-process. With
``PODIUM_BROKER_URL`` set, jobs go to Celery queues (``server.queue.celery_app``)
and remote workers take them.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from server.config import Settings, get_settings
from server.db import session_scope
from server.models import Submission
from server.queue.celery_app import send_jobs
from server.queue.embedded import run_embedded

log = logging.getLogger(__name__)


def dispatch(
    submission_ids: list[int], background: bool = False, settings: Settings | None = None
) -> None:
    """Send jobs for committed submissions. Call only after the commit."""
    if not submission_ids:
        return
    settings = settings or get_settings()
    with session_scope(settings) as session:
        kinds = dict(
            session.execute(
                select(Submission.id, Submission.kind).where(Submission.id.in_(submission_ids))
            )
            .tuples()
            .all()
        )
    if settings.broker_url:
        send_jobs([(i, kinds[i]) for i in submission_ids if i in kinds])
        return
    run_embedded(kinds, submission_ids, background, settings)
