"""The demo teams fill the class atlas with real fact sheets (docs/teaching.md): their
runs cover what the atlas compares, and a run goes through ``--submit`` with its
fact sheet, exactly as the demo does it."""

# ruff: noqa: F811 - the live demo fixture of test_demo_live.py is imported, then requested.

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest
import yaml

from server.demo import BUNDLE_DIR, DEMO_SLUG, setup_demo
from server.demo import teams as demo_teams
from tests.e2e.test_demo_live import demo_url  # noqa: F401

pytestmark = pytest.mark.skipif(
    not demo_teams.baselines_available(), reason="the demo teams need the baselines extra (torch)"
)


def _runs() -> list[tuple[demo_teams.DemoTeam, dict[str, object]]]:
    """Each demo run with what it trains: family, hyper-parameters, parameter count."""
    from baselines.cli import build_parser
    from baselines.models import ModelConfig, build_model, count_parameters
    from baselines.train import DEFAULT_LEARNING_RATE, RECOMMENDED_OPTIONS

    runs = []
    for team in demo_teams.DEMO_TEAMS:
        args = build_parser().parse_args(["train", *team.arguments])
        config = ModelConfig(
            args.model,
            hidden=tuple(args.hidden) if args.hidden else None,
            activation=args.activation,
            dropout=args.dropout,
            channels=tuple(args.channels) if args.channels else None,
        )
        recommended = RECOMMENDED_OPTIONS[args.model]
        runs.append(
            (
                team,
                {
                    "model": args.model,
                    "activation": config.activation,
                    "dropout": config.dropout or 0.0,
                    "hidden": config.hidden,
                    "lr": args.lr or recommended.learning_rate or DEFAULT_LEARNING_RATE,
                    "epochs": args.epochs or recommended.epochs,
                    "checkpoint": args.submit_as == "checkpoint",
                    "parameters": count_parameters(build_model(config)),
                },
            )
        )
    return runs


def test_the_demo_teams_cover_the_atlas_comparisons() -> None:
    runs = _runs()
    mlps = [run for _, run in runs if run["model"] == "mlp"]
    assert {run["model"] for _, run in runs} == {"neuron", "mlp", "cnn"}
    # ReLU vs sigmoid, each with and without dropout.
    assert {(run["activation"], run["dropout"] > 0) for run in mlps} == {  # type: ignore[operator]
        ("relu", True),
        ("relu", False),
        ("sigmoid", True),
        ("sigmoid", False),
    }
    assert len({len(run["hidden"]) for run in mlps}) >= 2  # type: ignore[arg-type]
    assert len({max(run["hidden"]) for run in mlps}) >= 2  # type: ignore[type-var]
    assert len({math.floor(math.log10(run["lr"])) for run in mlps}) >= 3  # type: ignore[arg-type]

    # Checkpoints (whose parameters the server measures) for every track of the demo.
    tracks = yaml.safe_load((BUNDLE_DIR / "challenge.yaml").read_text())["tracks"]
    assert {t["name"]: t["max_parameters"] for t in tracks} == {"tiny": 10_000, "small": 100_000}
    checkpoints = sorted(run["parameters"] for _, run in runs if run["checkpoint"])  # type: ignore[type-var]
    budgets = sorted(t["max_parameters"] for t in tracks)
    for low, high in zip([0, *budgets], budgets, strict=False):
        assert any(low < count <= high for count in checkpoints), (low, high, checkpoints)
    assert checkpoints[-1] > budgets[-1]  # and one too big for any track
    # The message states the parameter count where it names a track.
    for team, run in runs:
        if "track" in team.message:
            assert f"{run['parameters']:,} parameters" in team.message

    # Bounded work: short runs, the slow ones after the course's baselines.
    assert all(run["epochs"] == 1 for team, run in runs if not team.after_baselines)
    assert sum(run["epochs"] for _, run in runs) <= 15  # type: ignore[misc]
    assert [run["model"] for team, run in runs if team.after_baselines].count("cnn") == 1


def test_a_demo_team_submits_its_fact_sheet_to_the_atlas(
    demo_url: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = demo_url
    _, team_tokens = setup_demo()
    # The quickest of the runs (the neuron, as a checkpoint), through the demo's own loop.
    [neuron] = [team for team in demo_teams.DEMO_TEAMS if "neuron" in team.arguments]
    monkeypatch.setattr(demo_teams, "DEMO_TEAMS", (neuron,))
    demo_teams._run_teams(url, DEMO_SLUG, team_tokens, tmp_path, baseline_token=None)

    token = team_tokens[neuron.username]
    [mine] = httpx.get(
        f"{url}/api/v1/challenges/{DEMO_SLUG}/submissions",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert mine["status"] == "scored", (tmp_path / f"{neuron.username}.log").read_text()
    assert mine["kind"] == "checkpoint" and mine["parameter_count"] == 7_850
    assert mine["message"] == neuron.message
    sheet = mine["metadata"]
    assert sheet["model"] == "neuron" and sheet["epochs"] == 1 and sheet["dropout"] == 0.0
    assert 0.8 < sheet["val_metric"] <= 1.0
    [point] = sheet["curve"]
    assert point["epoch"] == 1 and point["val_metric"] == sheet["val_metric"]
    assert point["train_loss"] > 0

    atlas = httpx.get(f"{url}/api/v1/challenges/{DEMO_SLUG}/atlas").json()
    assert atlas["submissions"] == 1
    charts = {chart["name"]: chart for chart in atlas["charts"]}
    [family] = charts["model"]["groups"]
    assert family["key"] == "neuron" and family["count"] == 1
    assert family["mean"] == pytest.approx(mine["public_score"])
    [decade] = charts["parameters"]["groups"]
    assert decade["key"] == "1e3"

    tiny = httpx.get(f"{url}/api/v1/challenges/{DEMO_SLUG}/leaderboard?track=tiny").json()
    assert [entry["team"] for entry in tiny["entries"]] == [neuron.username]
