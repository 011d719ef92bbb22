"""Helpers shared by the insight tests (and the insight browser tests in tests/browser)."""

from __future__ import annotations

import io

import numpy as np
from sqlalchemy import select, update

WAIT_SECONDS = 60.0


def settle() -> None:
    """Wait for the insight thread (bootstraps, leader checks), then for webhook deliveries."""
    from server.insight.notify import notifier
    from server.insight.service import wait_idle

    assert wait_idle(WAIT_SECONDS), "insight work did not finish"
    assert notifier.wait_idle(WAIT_SECONDS), "webhook deliveries did not finish"


FIGURES = {
    "ada": (1_199_882, 0.8123, 312.5),
    "bob": (101_770, 0.0912, 96.25),
}


def seed_figures(team_figures: dict[str, tuple[int, float, float]]) -> None:
    from server.challenges.service import bump_board
    from server.db import session_scope
    from server.models import Submission, Team

    with session_scope() as session:
        for team, (params, seconds, memory) in team_figures.items():
            team_id = session.scalar(select(Team.id).where(Team.name == team))
            session.execute(
                update(Submission)
                .where(Submission.team_id == team_id)
                .values(
                    kind="checkpoint",
                    parameter_count=params,
                    inference_seconds_per_1k=seconds,
                    peak_memory_mb=memory,
                )
            )
            challenge_id = session.scalar(select(Team.challenge_id).where(Team.id == team_id))
        bump_board(session, challenge_id)


def npy_rows(rows: int) -> bytes:
    """Hidden inputs for a checkpoint challenge (zeros: nothing here runs a model)."""
    out = io.BytesIO()
    np.save(out, np.zeros((rows, 1, 28, 28), dtype=np.float32), allow_pickle=False)
    return out.getvalue()
