"""Screenshots for the README: the MNIST demo challenge with a few teams.

    .venv/bin/python -m tests.browser.screenshots [docs/img]

Builds the demo challenge (real MNIST, shipped with the server) in a temporary
data directory, scores a handful of teams' predictions with the real scorer,
spreads their submissions over the past days, serves it with uvicorn and takes
1280x800 screenshots with Debian's Chromium.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

# (team, course model, public accuracies of successive submissions, days ago of the first)
TEAMS = [
    ("lenet-lovers", "cnn", [0.9712, 0.9868, 0.9921], 9),
    ("conv-crew", "cnn", [0.9804, 0.9893], 6),
    ("dropout-club", "mlp + dropout", [0.9655, 0.9781, 0.9847], 8),
    ("relu-rangers", "mlp", [0.9540, 0.9702], 5),
    ("ada", "mlp", [0.9389, 0.9534], 4),
    ("sigmoid-squad", "one neuron per class", [0.8812, 0.9187], 7),
    ("backprop-bandits", "logistic regression", [0.9104], 2),
]
SEED = 7


def _predictions(labels: np.ndarray, accuracy: float, rng: np.random.Generator) -> bytes:
    predicted = labels.copy()
    wrong = rng.choice(len(labels), size=round(len(labels) * (1 - accuracy)), replace=False)
    predicted[wrong] = (predicted[wrong] + 1 + rng.integers(0, 9, size=len(wrong))) % 10
    out = io.StringIO()
    out.write("id,label\n")
    out.writelines(f"{i},{label}\n" for i, label in enumerate(predicted))
    return out.getvalue().encode()


def build_demo_board() -> str:
    """Create the demo challenge and the teams; returns its slug."""
    from sqlalchemy import select, update

    from server.accounts import service as accounts
    from server.challenges.service import bump_board
    from server.db import session_scope
    from server.demo import DEMO_SLUG, HIDDEN_LABELS, MNIST_DIR, ensure_demo_challenge
    from server.demo import read_idx_labels as read_labels
    from server.migrations import upgrade
    from server.models import Challenge, Role, Submission, User, utcnow
    from server.queue.embedded import score_submission
    from server.storage import get_blob_store
    from server.submissions.service import create_submission
    from server.teams import service as teams

    upgrade()
    labels = read_labels(MNIST_DIR / HIDDEN_LABELS).astype(np.int64)
    rng = np.random.default_rng(SEED)
    now = utcnow()
    with session_scope() as session:
        organizer = accounts.create_user(
            session, "organizer", "podium-demo-password", Role.organizer
        )
        ensure_demo_challenge(session, organizer)
    for name, model, accuracies, first_day in TEAMS:
        with session_scope() as session:
            challenge = session.scalar(select(Challenge).where(Challenge.slug == DEMO_SLUG))
            assert challenge is not None
            user = accounts.create_user(
                session, name.split("-")[0] + "-student", "podium-demo-password", Role.participant
            )
            teams.join_challenge(session, challenge, user)
            teams.rename(session, challenge, user, name)
            user_id, challenge_id = user.id, challenge.id
        for step, accuracy in enumerate(accuracies):
            with session_scope() as session:
                challenge = session.get(Challenge, challenge_id)
                user = session.get(User, user_id)
                assert challenge is not None and user is not None
                submission = create_submission(
                    session,
                    challenge,
                    user,
                    get_blob_store().stage_chunks([_predictions(labels, accuracy, rng)]),
                    "preds.csv",
                    f"{model}, try {step + 1}",
                    "csv",
                    None,
                    get_blob_store(),
                ).submission
                submission_id = submission.id
            score_submission(submission_id)
            # From first_day days ago to a few hours ago, one step per submission.
            last_day = float(rng.uniform(0.05, 1.2))
            fraction = step / max(len(accuracies) - 1, 1)
            days_ago = first_day - (first_day - last_day) * fraction
            when = now - timedelta(days=days_ago if len(accuracies) > 1 else last_day)
            with session_scope() as session:
                session.execute(
                    update(Submission)
                    .where(Submission.id == submission_id)
                    .values(created_at=when, scored_at=when + timedelta(seconds=1))
                )
    with session_scope() as session:
        challenge = session.scalar(select(Challenge).where(Challenge.slug == DEMO_SLUG))
        assert challenge is not None
        bump_board(session, challenge.id)
    return DEMO_SLUG


def add_console_examples(slug: str) -> None:
    """What the console's pages show besides the board: a failed submission, an invitation."""
    from sqlalchemy import select, update

    from server.accounts import service as accounts
    from server.challenges import people
    from server.db import session_scope
    from server.models import Challenge, Role, Submission, Team

    with session_scope() as session:
        challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
        assert challenge is not None
        accounts.create_user(
            session, "zoe-student", None, Role.participant, display_name="Zoé Martin"
        )
        people.invite_users(session, challenge, ["zoe-student"])
        team_id = session.scalar(select(Team.id).where(Team.name == "backprop-bandits"))
        latest = session.scalar(
            select(Submission.id)
            .where(Submission.team_id == team_id)
            .order_by(Submission.id.desc())
            .limit(1)
        )
        session.execute(
            update(Submission)
            .where(Submission.id == latest)
            .values(
                status="failed",
                public_score=None,
                private_score=None,
                platform_error=True,
                error="scoring did not finish after 3 attempts (platform error); "
                "this submission does not count against your limit",
                error_detail="worker gpu-2: lease expired at attempt 3 (no heartbeat for 90 s)",
            )
        )


def create_form_screenshot(page: Any, out_dir: Path) -> Path:
    """The console's create form, signed in, after a wrong timezone: the inline message."""
    page.goto("/manage/new")
    page.get_by_label("Slug").fill("mnist-2027")
    page.get_by_label("Title").fill("MNIST, spring 2027")
    page.get_by_label("Description").fill("## Handwritten digits\n\nClassify **28x28** images.")
    page.get_by_label("Timezone").fill("Europe/Parris")
    page.get_by_role("button", name="Create the challenge").click()
    page.wait_for_load_state("networkidle")
    target = out_dir / "manage-new.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def story_screenshots(page: Any, slug: str, out_dir: Path) -> list[Path]:
    """The steps of "Running a course in the browser" that the pages above do not show:
    the console's list, the links a roster import gives (once), an announcement's preview,
    the finalize confirmation and the exports."""

    def shot(name: str) -> Path:
        page.wait_for_load_state("networkidle")
        target = out_dir / name
        page.screenshot(path=str(target), full_page=True)
        return target

    written = []
    page.goto("/manage")
    written.append(shot("console-index.png"))
    page.goto(f"/manage/{slug}/people")
    roster = "username,display_name,email,student_id\n" + "".join(
        f"{u},{n},{u}@uni.edu,S10{i}\n"
        for i, (u, n) in enumerate(
            [("mia", "Mia Kovač"), ("noah", "Noah Berg"), ("ola", "Ola Nilsen")]
        )
    )
    page.get_by_label("Roster CSV").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    written.append(shot("console-roster-links.png"))
    page.goto(f"/manage/{slug}/announcements")
    page.get_by_label("Title").fill("Office hours")
    page.get_by_label("Text (Markdown)").fill(
        "Friday at **10:00**, room B2: bring your *confusion matrix*."
    )
    page.get_by_role("button", name="Preview").click()
    written.append(shot("console-announcements.png"))
    page.goto(f"/manage/{slug}/close")  # closed first, as a course does before finalizing
    page.get_by_role("button", name="Close it now").click()
    page.get_by_role("link", name="Finalize the challenge").click()
    written.append(shot("console-finalize.png"))
    page.goto(f"/manage/{slug}/exports")
    written.append(shot("console-exports.png"))
    return written


def take_screenshots(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_live_server

    slug = build_demo_board()
    add_console_examples(slug)
    shots = [
        (f"/c/{slug}", "leaderboard.png"),
        (f"/c/{slug}/teams/dropout-club", "team.png"),
    ]
    # The organizer console, signed in as the demo's organizer.
    console = [
        (f"/manage/{slug}/people", "console-people.png"),
        (f"/manage/{slug}/submissions", "console-submissions.png"),
        (f"/manage/{slug}/data", "manage-data.png"),
    ]
    written = []
    with start_live_server() as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=live.url, viewport={"width": 1280, "height": 800}, timezone_id="UTC"
        )
        page = context.new_page()
        for path, name in shots:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            target = out_dir / name
            page.screenshot(path=str(target))
            written.append(target)
        page.goto("/login")
        page.get_by_label("Username").fill("organizer")
        page.get_by_label("Password").fill("podium-demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        for path, name in console:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            target = out_dir / name
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        written.extend(story_screenshots(page, slug, out_dir))
        written.append(create_form_screenshot(page, out_dir))
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
