"""Screenshots for docs/teaching.md: the meter, the comparison and the class atlas.

    .venv/bin/python -m tests.browser.teaching_screenshots [docs/img]

Builds the README's demo board (``tests.browser.screenshots``: real MNIST, the
real scorer), gives each team's submissions a fact sheet of the kind
``python -m baselines train --submit`` sends (hyper-parameters, a validation
score and a per-epoch curve; illustrative values, not trained here), then takes
1280x800 screenshots with Debian's Chromium, signed in as one team for the
comparison.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.browser.screenshots import TEAMS, build_demo_board

PASSWORD = "podium-demo-password"  # the demo board's participants
# team -> (model, activation, hidden sizes, dropout, learning rate, validation minus public)
SHEETS = {
    "lenet-lovers": ("cnn", "relu", [128], 0.25, 1e-3, 0.002),
    "conv-crew": ("cnn", "relu", [64], 0.0, 3e-3, -0.004),
    "dropout-club": ("mlp", "relu", [256, 128], 0.3, 1e-3, 0.003),
    "relu-rangers": ("mlp", "relu", [128], 0.0, 1e-2, -0.012),
    "ada": ("mlp", "relu", [64, 64, 32], 0.0, 1e-2, -0.02),
    "sigmoid-squad": ("mlp", "sigmoid", [64], 0.0, 1e-1, 0.004),
    "backprop-bandits": ("neuron", "sigmoid", [], 0.0, 1e-1, -0.001),
}


def fact_sheet(team: str, step: int, public: float) -> dict[str, Any]:
    model, activation, hidden, dropout, rate, offset = SHEETS[team]
    val = round(public + offset * (1 + step), 4)
    epochs = 4 + 2 * step
    curve = [
        {
            "epoch": e,
            "train_loss": round(0.9 / e**0.8, 4),
            "val_loss": round(0.95 / e**0.7 + (0.02 * e if dropout == 0 else 0), 4),
            "val_metric": round(val - 0.08 / e, 4),
        }
        for e in range(1, epochs + 1)
    ]
    return {
        "model": model,
        "hidden_sizes": hidden,
        "activation": activation,
        "optimizer": "adam",
        "learning_rate": rate,
        "batch_size": 64,
        "epochs": epochs,
        "dropout": dropout,
        "seed": step,
        "val_metric": val,
        "curve": curve,
    }


def attach_fact_sheets() -> tuple[int, int]:
    """A fact sheet on every submission; returns dropout-club's first and last ids."""
    from server.db import session_scope
    from server.insight.service import store_bootstrap
    from server.models import Submission, Team

    ids: dict[str, list[int]] = {}
    with session_scope() as session:
        for name, _model, _accuracies, _day in TEAMS:
            team = session.scalar(select(Team).where(Team.name == name))
            assert team is not None
            rows = session.scalars(
                select(Submission)
                .where(Submission.team_id == team.id)
                .order_by(Submission.created_at, Submission.id)
            ).all()
            for step, submission in enumerate(rows):
                submission.run_metadata = fact_sheet(name, step, submission.public_score or 0.0)
            ids[name] = [s.id for s in rows]
    for submission_id in (i for team_ids in ids.values() for i in team_ids):
        store_bootstrap(submission_id)  # the intervals the meter compares with
    return ids["dropout-club"][0], ids["dropout-club"][-1]


def take_screenshots(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_live_server

    slug = build_demo_board()
    first, last = attach_fact_sheets()
    shots = [
        # A team whose public scores beat its validation scores: the marks show.
        (f"/c/{slug}/teams/relu-rangers", "#overfitting-meter", "meter.png"),
        (f"/c/{slug}/submissions/compare?a={first}&b={last}", None, "compare.png"),
        (f"/c/{slug}/atlas", None, "atlas.png"),
    ]
    written = []
    with start_live_server() as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live.url, viewport={"width": 1280, "height": 800}, timezone_id="UTC"
        )
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill("dropout-student")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        for path, anchor, name in shots:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            target = out_dir / name
            if anchor:  # that part of the page only
                page.locator(anchor).screenshot(path=str(target))
            else:
                page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def main() -> None:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="podium-shots-") as data:
        os.environ["PODIUM_DATA_DIR"] = data
        os.environ.pop("PODIUM_DATABASE_URL", None)
        os.environ.pop("PODIUM_BROKER_URL", None)
        from server.config import get_settings

        get_settings.cache_clear()
        for path in take_screenshots(out_dir):
            print(path)


if __name__ == "__main__":
    main()
