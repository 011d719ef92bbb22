"""The transport seam: hand submissions to the scorer.

Embedded default (no broker): CSV submissions are scored in-process right away;
other kinds and bulk re-scores run on a small background pool. With
``PODIUM_BROKER_URL`` set, jobs go to Celery queues instead.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from server.config import get_settings
from server.db import session_scope
from server.models import Submission

log = logging.getLogger(__name__)

_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="podium-score")


def _run(submission_id: int) -> None:
    from server.jobs.core import score_submission

    try:
        score_submission(submission_id)
    except Exception:
        log.exception("job for submission %s crashed", submission_id)


def dispatch(submission_ids: list[int], background: bool = False) -> None:
    """Send jobs for committed submissions. Call only after the commit."""
    if not submission_ids:
        return
    settings = get_settings()
    with session_scope() as session:
        kinds = dict(
            session.execute(
                select(Submission.id, Submission.kind).where(Submission.id.in_(submission_ids))
            )
            .tuples()
            .all()
        )
    if settings.broker_url:
        from server.jobs.celery_app import send_jobs

        send_jobs([(i, kinds[i]) for i in submission_ids if i in kinds])
        return
    for submission_id in submission_ids:
        if kinds.get(submission_id) == "csv" and not background:
            _run(submission_id)
        else:
            _background.submit(_run, submission_id)
