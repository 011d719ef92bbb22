"""``podium leaderboard SLUG --track tiny`` and ``client.leaderboard(..., track=)`` against
the real server."""

from __future__ import annotations

import json
from pathlib import Path

import podium
import pytest
from fastapi.testclient import TestClient
from podium.cli import app as cli_app
from typer.testing import CliRunner

from tests.conftest import create_challenge, open_challenge_now
from tests.server.test_tracks import TRACKS, build_class

from .test_live import live_url, real_clock  # noqa: F401  (fixtures)


def test_track_boards_from_the_client_and_the_cli(
    live_url: str,  # noqa: F811
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    isolated_config: Path,
) -> None:
    slug = "tracks-cli"
    create_challenge(api, organizer_token, slug, tracks=TRACKS)
    open_challenge_now(api, organizer_token, slug)
    build_class(slug, 7)
    with podium.Client(url=live_url, token=participant_token) as client:
        tiny = client.leaderboard(slug, track="tiny")
        assert tiny.raw["track"] == "tiny" and tiny.raw["max_parameters"] == 10_000
        assert all(e.raw["parameter_count"] <= 10_000 for e in tiny.entries)
        with pytest.raises(podium.NotFoundError, match="tiny, small"):
            client.leaderboard(slug, track="huge")
    runner = CliRunner()
    login = ["login", "--url", live_url, "--token", participant_token]
    assert runner.invoke(cli_app, login).exit_code == 0
    shown = runner.invoke(cli_app, ["leaderboard", slug, "--track", "tiny", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["entries"] == tiny.raw["entries"]
    table = runner.invoke(cli_app, ["leaderboard", slug, "--track", "tiny"])
    assert table.exit_code == 0, table.output
    assert "track tiny (at most 10,000 parameters)" in " ".join(table.output.split())
    refused = runner.invoke(cli_app, ["leaderboard", slug, "--track", "huge"])
    assert refused.exit_code == 1 and "no track 'huge'" in refused.output
