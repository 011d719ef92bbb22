"""Demo teams that fill the board by actually running the course's baselines.

Each run trains one baseline for a short run (see docs/baselines.md) with its own
hyper-parameters and submits through the ``podium`` client with its fact sheet,
exactly as a student would, so that the class atlas has something true to say
(docs/teaching.md, "The demo fills the atlas"). The runs go one after
another in the background, so the server stays responsive; their output is
logged to ``$PODIUM_DATA_DIR/demo-teams/<team>.log``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class DemoTeam:
    """One demo run: ``username`` trains ``arguments`` (``python -m baselines train``) and
    submits; runs with ``after_baselines`` wait for the course's baseline rows."""

    username: str
    arguments: tuple[str, ...]
    message: str
    after_baselines: bool = False


def _mlp(hidden: str, activation: str, dropout: str, *extra: str) -> tuple[str, ...]:
    return (
        "--model", "mlp", "--epochs", "1", "--hidden", hidden,
        "--activation", activation, "--dropout", dropout, *extra,
    )  # fmt: skip


CHECKPOINT = ("--as", "checkpoint")  # the server measures its parameter count

# What the class atlas compares (docs/teaching.md): ReLU vs sigmoid, with and without
# dropout, widths, depths and learning rates, the neuron, the MLP and the CNN, and
# checkpoints for the parameter chart and the "tiny" (10,000) and "small" (100,000)
# tracks. One epoch each; the quick runs first, so that the atlas has several points
# within a few minutes, the CNN and the longer MLP after the course's baselines.
DEMO_TEAMS = (
    DemoTeam(
        "sigmoid-squad",
        ("--model", "neuron", "--epochs", "1", *CHECKPOINT),
        "one sigmoid neuron, 1 epoch (7,850 parameters: the tiny track)",
    ),
    DemoTeam("relu-rangers", _mlp("256,128", "relu", "0.2"), "MLP 256-128, ReLU, dropout 0.2"),
    DemoTeam(
        "sigmoid-squad", _mlp("256,128", "sigmoid", "0.2"), "MLP 256-128, sigmoid, dropout 0.2"
    ),
    DemoTeam("relu-rangers", _mlp("256,128", "relu", "0"), "MLP 256-128, ReLU, no dropout"),
    DemoTeam("sigmoid-squad", _mlp("256,128", "sigmoid", "0"), "MLP 256-128, sigmoid, no dropout"),
    DemoTeam(
        "tiny-titans",
        _mlp("12", "relu", "0", *CHECKPOINT),
        "MLP 12, ReLU (9,550 parameters: the tiny track)",
    ),
    DemoTeam(
        "tiny-titans",
        _mlp("100", "relu", "0", "--lr", "0.01", *CHECKPOINT),
        "MLP 100, ReLU, learning rate 0.01 (79,510 parameters: the small track)",
    ),
    DemoTeam(
        "deep-divers",
        _mlp("128,64,32", "relu", "0.1", "--lr", "0.0003"),
        "MLP 128-64-32, ReLU, dropout 0.1, learning rate 0.0003",
    ),
    DemoTeam(
        "deep-divers",
        _mlp("128,64,32", "sigmoid", "0.1", "--lr", "0.01"),
        "MLP 128-64-32, sigmoid, dropout 0.1, learning rate 0.01",
    ),
    DemoTeam(
        "conv-crew",
        ("--model", "cnn", "--epochs", "1", *CHECKPOINT),
        "small CNN, 1 epoch",
        after_baselines=True,
    ),
    DemoTeam(
        "relu-rangers",
        ("--model", "mlp", "--epochs", "3", "--dropout", "0.2", "--seed", "2"),
        "MLP 256-128, 3 epochs, dropout 0.2",
        after_baselines=True,
    ),
)


# The course's own baselines, added as baseline rows (unranked) by the organizer:
# (row name, training arguments). Trained like the teams' runs, without submitting.
COURSE_BASELINES = (
    ("Neuron (course)", ("--model", "neuron", "--epochs", "1")),
    ("MLP (course)", ("--model", "mlp", "--epochs", "1")),
    ("CNN (course)", ("--model", "cnn", "--epochs", "1")),
)


def baselines_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "baselines", "podium"))


def _wait_for_server(url: str) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _add_course_baselines(url: str, slug: str, token: str, work_dir: Path) -> None:
    """Train the course's baselines on the shipped MNIST and add them as baseline rows."""
    import podium

    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    with podium.Client(url=url, token=token) as client:
        for name, arguments in COURSE_BASELINES:
            run_dir = work_dir / "course-baselines" / arguments[1]
            run_dir.mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable, "-m", "baselines", "train", *arguments,
                "--device", "cpu", "--out", str(run_dir),
            ]  # fmt: skip
            with open(run_dir / "train.log", "w") as output:
                code = subprocess.call(
                    command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=work_dir
                )
            if code != 0:
                log.warning("course baseline %s: training failed (exit %s)", name, code)
                continue
            try:
                row = client.add_baseline(slug, name, run_dir / "predictions.csv")
            except podium.PodiumError as error:
                log.warning("course baseline %s: not added (%s)", name, error)
                continue
            log.info("added %s (public score %s)", row.label, row.public_score)


def _run_teams(
    url: str, slug: str, tokens: dict[str, str], work_dir: Path, baseline_token: str | None
) -> None:
    if not _wait_for_server(url):
        log.warning("demo teams: the server did not come up; skipping")
        return
    for team in DEMO_TEAMS:
        if not team.after_baselines:
            _run_team(url, slug, team, tokens.get(team.username), work_dir)
    if baseline_token is not None:
        _add_course_baselines(url, slug, baseline_token, work_dir)
    for team in DEMO_TEAMS:
        if team.after_baselines:
            _run_team(url, slug, team, tokens.get(team.username), work_dir)


def _run_team(url: str, slug: str, team: DemoTeam, token: str | None, work_dir: Path) -> None:
    """Train ``team``'s run and submit it with its fact sheet (``--submit``)."""
    if token is None:
        return
    run_dir = work_dir / team.username
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
        "PODIUM_URL": url,
        "PODIUM_TOKEN": token,
    }
    command = [
        sys.executable, "-m", "baselines", "train", *team.arguments,
        "--device", "cpu", "--submit", slug, "--out", str(run_dir),
        "--message", team.message,
    ]  # fmt: skip
    with open(work_dir / f"{team.username}.log", "a") as output:
        started = time.monotonic()
        # The first team downloads the data into work_dir/data/SLUG; the others reuse it.
        code = subprocess.call(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=work_dir
        )
    log.info(
        "demo team %s (%s) finished in %.0f s (exit %s)",
        team.username,
        team.message,
        time.monotonic() - started,
        code,
    )


def start_demo_teams(
    url: str,
    slug: str,
    tokens: dict[str, str],
    work_dir: Path,
    baseline_token: str | None = None,
) -> None:
    """Start the demo teams' baseline runs in a background thread.

    With ``baseline_token`` (the organizer's), the course's baselines are trained
    and added as baseline rows first.
    """
    if not tokens and baseline_token is None:
        return
    if not baselines_available():
        log.warning("demo teams need the baselines extra (torch); install it to fill the board")
        return
    thread = threading.Thread(
        target=_run_teams,
        args=(url, slug, tokens, work_dir, baseline_token),
        daemon=True,
        name="demo-teams",
    )
    thread.start()
