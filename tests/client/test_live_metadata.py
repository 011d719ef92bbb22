"""The client and ``podium submit --meta`` send a fact sheet to the real server."""

from __future__ import annotations

import json
from pathlib import Path

import podium
from podium.cli import app as cli_app
from typer.testing import CliRunner

from tests.conftest import ChallengeFixture

from .test_live import live_url, real_clock  # noqa: F401  (fixtures)

META = {"model": "mlp", "hidden_sizes": [32], "val_metric": 0.9, "note": "<b>x</b>"}


def test_client_submit_with_metadata(
    live_url: str,  # noqa: F811
    participant_token: str,
    open_challenge: ChallengeFixture,
    tmp_path: Path,
) -> None:
    preds = tmp_path / "preds.csv"
    preds.write_bytes(open_challenge.predictions())
    with podium.Client(url=live_url, token=participant_token) as client:
        sub = client.submit(open_challenge.slug, preds, metadata=META)
        assert sub.metadata == META
        with_bad = {"learning_rate": "fast"}
        try:
            client.submit(open_challenge.slug, preds, metadata=with_bad)
        except podium.ValidationError as error:
            assert "learning_rate" in str(error)
        else:
            raise AssertionError("a malformed fact sheet was accepted")


def test_cli_submit_with_meta(
    live_url: str,  # noqa: F811
    participant_token: str,
    open_challenge: ChallengeFixture,
    tmp_path: Path,
    isolated_config: Path,
) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(cli_app, ["login", "--url", live_url, "--token", participant_token]).exit_code
        == 0
    )
    preds = tmp_path / "preds.csv"
    preds.write_bytes(open_challenge.predictions())
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(META))
    done = runner.invoke(
        cli_app, ["submit", open_challenge.slug, "-f", str(preds), "--meta", str(meta), "--json"]
    )
    assert done.exit_code == 0, done.output
    with podium.Client(url=live_url, token=participant_token) as client:
        [sub] = client.submissions(open_challenge.slug)
        assert sub.metadata == META
    meta.write_text("[1]")
    refused = runner.invoke(
        cli_app, ["submit", open_challenge.slug, "-f", str(preds), "--meta", str(meta)]
    )
    assert refused.exit_code == 1 and "JSON object" in refused.stderr
