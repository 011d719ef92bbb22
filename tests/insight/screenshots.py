"""The shake-up screenshot for the docs: the MNIST demo board, finalized.

    .venv/bin/python -m tests.insight.screenshots [docs/img]

Builds the demo board of ``tests.browser.screenshots`` (seven teams scored by
the real scorer), adds two teams that tuned against the public rows (much
better there than on the private ones), closes and finalizes the challenge,
and takes a 1280x900 screenshot of ``/c/mnist/shake-up`` with Chromium.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

# (team, public accuracy, private accuracy): fitted to the public board.
OVERFITTERS = [("leaderboard-climbers", 0.9947, 0.9741), ("seed-hunters", 0.9917, 0.9788)]
SEED = 11


def _overfit_predictions(
    labels: np.ndarray, public: np.ndarray, accuracies: tuple[float, float], seed: int
) -> bytes:
    rng = np.random.default_rng(seed)
    predicted = labels.copy()
    for mask, accuracy in zip((public, ~public), accuracies, strict=True):
        rows = np.flatnonzero(mask)
        wrong = rng.choice(rows, size=round(len(rows) * (1 - accuracy)), replace=False)
        predicted[wrong] = (predicted[wrong] + 1 + rng.integers(0, 9, size=len(wrong))) % 10
    out = io.StringIO()
    out.write("id,label\n")
    out.writelines(f"{i},{label}\n" for i, label in enumerate(predicted))
    return out.getvalue().encode()


def build_finalized_board() -> str:
    from sqlalchemy import select

    from server.accounts import service as accounts
    from server.challenges import service as challenges
    from server.db import session_scope
    from server.demo import DEMO_SLUG, HIDDEN_LABELS, MNIST_DIR, read_idx_labels, solution_csv
    from server.insight.service import wait_idle
    from server.models import Challenge, ChallengeState, Role
    from server.queue.embedded import score_submission
    from server.storage import get_blob_store
    from server.submissions.service import create_submission
    from server.teams import service as teams
    from tests.browser.screenshots import build_demo_board

    slug = build_demo_board()
    labels = read_idx_labels(MNIST_DIR / HIDDEN_LABELS).astype(np.int64)
    public = np.array([line.endswith(b"public") for line in solution_csv(labels).splitlines()[1:]])
    for offset, (name, public_accuracy, private_accuracy) in enumerate(OVERFITTERS):
        with session_scope() as session:
            challenge = session.scalar(select(Challenge).where(Challenge.slug == DEMO_SLUG))
            assert challenge is not None
            user = accounts.create_user(
                session, name.split("-")[0] + "-student", "podium-demo-password", Role.participant
            )
            teams.join_challenge(session, challenge, user)
            teams.rename(session, challenge, user, name)
            data = _overfit_predictions(
                labels, public, (public_accuracy, private_accuracy), SEED + offset
            )
            submission = create_submission(
                session,
                challenge,
                user,
                get_blob_store().stage_chunks([data]),
                "preds.csv",
                "tuned on the public board",
                "csv",
                None,
                get_blob_store(),
            ).submission
            submission_id = submission.id
        score_submission(submission_id)
    assert wait_idle(120)
    with session_scope() as session:
        challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
        assert challenge is not None
        challenge.state = ChallengeState.closed
        challenges.finalize(session, challenge)
    return slug


def take_screenshot(out_dir: Path) -> Path:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_live_server

    slug = build_finalized_board()
    target = out_dir / "shakeup.png"
    with start_live_server() as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live.url, viewport={"width": 1280, "height": 900}, timezone_id="UTC"
        )
        page = context.new_page()
        page.goto(f"/c/{slug}/shake-up")
        page.wait_for_function(
            "() => window.Chart && Chart.getChart(document.getElementById('shakeup-chart'))"
        )
        page.screenshot(path=str(target))
        browser.close()
    return target


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="podium-shots-") as data:
        os.environ["PODIUM_DATA_DIR"] = data
        os.environ.pop("PODIUM_DATABASE_URL", None)
        os.environ.pop("PODIUM_BROKER_URL", None)
        from server.config import get_settings

        get_settings.cache_clear()
        print(take_screenshot(out_dir))


if __name__ == "__main__":
    main()
