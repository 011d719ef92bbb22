"""What happens after a submission is scored (bootstrap intervals, notifications)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def after_scored(submission_id: int) -> None:
    """Called once per newly scored submission, after its result is committed."""
