"""What happens after a submission is scored (bootstrap intervals, notifications)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def after_scored(submission_id: int) -> None:
    """Called once per newly scored submission, after its result is committed.

    Returns at once: the work (bootstrap interval, leader notification) runs on
    the insight thread (``server.insight.service``), never on a request's time.
    """
    from server.insight.service import after_scored as queue_insight

    try:
        queue_insight(submission_id)
    except Exception:  # never let insight fail a result that is already recorded
        log.exception("could not queue the insight work for submission %s", submission_id)
