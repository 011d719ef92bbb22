"""Course tools through the CLI against a live server (uvicorn in a thread, real HTTP):
baseline rows, announcements, bundles (round trip, and a broken one creates nothing), clones."""

# ruff: noqa: F811 - the live server fixtures of test_live.py are imported, then requested.

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("server.app", reason="server.app is not importable yet")

import podium  # noqa: E402
from podium.cli import app as cli_app  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from tests.client.test_live import live_url, real_clock  # noqa: E402, F401
from tests.conftest import ChallengeFixture, create_challenge  # noqa: E402


def cli_as(live_url: str, token: str) -> Callable[..., Any]:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["login", "--url", live_url, "--token", token]).exit_code == 0
    return lambda *args: runner.invoke(cli_app, [str(a) for a in args])


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_baseline_rows_and_announcements_from_the_cli(
    live_url: str,
    organizer_token: str,
    open_challenge: ChallengeFixture,
    make_user: Callable[..., str],
    tmp_path: Path,
    isolated_config: Path,
) -> None:
    slug = open_challenge.slug
    pub = [i for i, p in enumerate(open_challenge.public) if p]
    with podium.Client(url=live_url, token=make_user("alice")) as alice:
        alice.join(slug)
        preds = tmp_path / "alice.csv"
        preds.write_bytes(open_challenge.predictions(wrong=set(pub[:3])))
        alice.wait(alice.submit(slug, preds).id, timeout=60, poll=0.2)

    host = cli_as(live_url, organizer_token)
    cnn = tmp_path / "cnn.csv"
    cnn.write_bytes(open_challenge.predictions())
    neuron = tmp_path / "neuron.csv"
    neuron.write_bytes(open_challenge.predictions(wrong=set(pub[:20])))
    added = host("admin", "baseline", "add", slug, "CNN (course)", "-f", cnn)
    assert added.exit_code == 0, added.output
    assert "Baseline · CNN (course)" in added.stdout
    assert host("admin", "baseline", "add", slug, "neuron", "-f", neuron).exit_code == 0
    again = host("admin", "baseline", "add", slug, "neuron", "-f", neuron)
    assert again.exit_code == 1 and "already exists" in again.stderr

    board = host("leaderboard", slug)
    assert board.exit_code == 0, board.output
    lines = [line for line in board.stdout.splitlines() if "alice" in line or "Baseline" in line]
    assert ["CNN" in lines[0], "alice" in lines[1], "neuron" in lines[2]] == [True, True, True]
    assert "1" in lines[1].split("alice")[0] and "–" in lines[0].split("Baseline")[0]
    with podium.Client(url=live_url) as anonymous:
        data = anonymous.leaderboard(slug)
        assert [e.team for e in data.entries] == ["alice"] and data.entries[0].rank == 1
        assert {b.name for b in anonymous.baselines(slug)} == {"CNN (course)", "neuron"}
        assert anonymous.challenge(slug).raw["teams_count"] == 1

    posted = host("admin", "announce", slug, "Lab today", "--body", "Room *B12* at 14:00")
    assert posted.exit_code == 0, posted.output
    assert host("admin", "announce", slug, "Deadline", "--body", "Friday").exit_code == 0
    student = cli_as(live_url, make_user("bob"))
    listed = student("announcements", slug)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.index("Deadline") < listed.stdout.index("Lab today")
    assert "Room *B12*" in listed.stdout
    refused = student("admin", "announce", slug, "Me too")
    assert refused.exit_code == 1 and "403" in refused.stderr


def test_a_bundle_round_trips_through_the_cli(
    live_url: str, api: Any, organizer_token: str, tmp_path: Path, isolated_config: Path
) -> None:
    create_challenge(
        api, organizer_token, slug="lab1", description="# Lab 1", daily_submission_limit=9
    )
    host = cli_as(live_url, organizer_token)
    first = tmp_path / "lab1"
    written = host("admin", "bundle", "lab1", first)
    assert written.exit_code == 0, written.output
    assert (first / "solution.csv").exists() and (first / "files" / "train.csv").exists()
    assert (first / "description.md").read_text() == "# Lab 1"
    manifest = yaml.safe_load((first / "challenge.yaml").read_text())
    assert manifest["daily_submission_limit"] == 9

    manifest["slug"] = "lab2"
    (first / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    created = host("admin", "create", "--bundle", first, "--open")
    assert created.exit_code == 0, created.output
    assert "Created lab2: open" in created.stdout
    second = tmp_path / "lab2"
    assert host("admin", "bundle", "lab2", second).exit_code == 0
    assert yaml.safe_load((second / "challenge.yaml").read_text()) == manifest
    assert digests(second) | {"challenge.yaml": ""} == digests(first) | {"challenge.yaml": ""}
    assert host("admin", "bundle", "lab2", second).exit_code == 1  # not an empty folder

    cloned = host("admin", "clone", "lab2", "lab3", "--title", "Lab 3")
    assert cloned.exit_code == 0 and "lab3: draft" in cloned.stdout


def test_a_broken_bundle_creates_nothing(
    live_url: str, api: Any, organizer_token: str, tmp_path: Path, isolated_config: Path
) -> None:
    create_challenge(api, organizer_token, slug="model")
    host = cli_as(live_url, organizer_token)
    folder = tmp_path / "bundle"
    assert host("admin", "bundle", "model", folder).exit_code == 0
    manifest = yaml.safe_load((folder / "challenge.yaml").read_text())

    def count() -> int:
        with podium.Client(url=live_url, token=organizer_token) as client:
            return len(client.challenges())

    # Refused here, before anything is sent: an unknown setting, a missing solution.
    manifest["slug"] = "broken"
    manifest["daily_limit"] = 3
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    local = host("admin", "create", "--bundle", folder)
    assert local.exit_code == 1 and "daily_limit" in local.stderr
    assert "Nothing was created" in local.stderr
    del manifest["daily_limit"]
    (folder / "challenge.yaml").write_text(yaml.safe_dump(manifest))
    solution = (folder / "solution.csv").read_bytes()
    (folder / "solution.csv").unlink()
    assert "solution.csv" in host("admin", "create", "--bundle", folder).stderr
    # Refused by the server (a solution with a duplicated id), after the files went up.
    lines = solution.decode().splitlines()
    (folder / "solution.csv").write_text("\n".join([*lines, lines[1]]) + "\n")
    server = host("admin", "create", "--bundle", folder, "--open")
    assert server.exit_code == 1 and "solution rejected" in server.stderr
    assert count() == 1
    with (
        podium.Client(url=live_url, token=organizer_token) as client,
        pytest.raises(podium.NotFoundError),
    ):
        client.challenge("broken")
