"""The client and the CLI against the real server app, served by uvicorn in a thread.

Skipped until ``server.app`` imports. Uses the fixtures of ``tests/conftest.py``
(``app``, ``api``, ``organizer_token``, ``participant_token``, ``open_challenge``,
``make_user``). A real HTTP server rather than the ASGI app as a transport:
the CLI builds its own client, and the sync httpx client cannot drive ASGI.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("server.app", reason="server.app is not importable yet")
uvicorn = pytest.importorskip("uvicorn")

import podium  # noqa: E402
from podium import _retry  # noqa: E402
from podium.cli import app as cli_app  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from tests.conftest import (  # noqa: E402
    PASSWORD,
    ChallengeFixture,
    create_challenge,
    open_challenge_now,
)

from .conftest import FakeClock  # noqa: E402

STARTUP_SECONDS = 15.0
SCORING_SECONDS = 60.0


@pytest.fixture(autouse=True)
def real_clock(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polling a real server needs real time."""
    monkeypatch.setattr(_retry, "sleep", time.sleep)
    monkeypatch.setattr(_retry, "monotonic", time.monotonic)


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_participant_round_trip(
    live_url: str, participant_token: str, open_challenge: ChallengeFixture, tmp_path: Path
) -> None:
    slug = open_challenge.slug
    with podium.Client(url=live_url, token=participant_token) as client:
        assert client.health()["status"] == "ok"
        assert client.whoami().username == "paul"
        assert slug in [c.slug for c in client.challenges()]
        assert client.challenge(slug).state == "open"

        data = tmp_path / "data"
        [result] = client.download(slug, data, progress=False)
        assert (result.name, result.status) == ("train.csv", "downloaded")
        assert (data / "train.csv").read_bytes() == b"id,pixel0,label\n0,0.5,3\n"
        assert client.download(slug, data, progress=False)[0].status == "skipped"

        team = client.join(slug)
        preds = write(tmp_path / "preds.csv", open_challenge.predictions())
        sub = client.submit(slug, preds, message="all right")
        assert sub.remaining_today is not None
        final = client.wait(sub.id, timeout=SCORING_SECONDS, poll=0.2)
        assert (final.status, final.public_score) == ("scored", 1.0)
        assert final.private_score is None  # never before finalization

        entry = client.leaderboard(slug).find(team.name)
        assert entry is not None and entry.rank == 1
        assert [s.id for s in client.submissions(slug)] == [sub.id]
        assert client.select(slug, [sub.id]) == [sub.id]
        assert client.submission(sub.id).selected_for_final
        assert client.team(slug).members == ["paul"]


def test_download_resumes_against_the_server(
    live_url: str, participant_token: str, open_challenge: ChallengeFixture, tmp_path: Path
) -> None:
    (tmp_path / "train.csv.part").write_bytes(b"id,pixel0")
    with podium.Client(url=live_url, token=participant_token) as client:
        [result] = client.download(open_challenge.slug, tmp_path, progress=False)
    assert result.status == "resumed"
    assert (tmp_path / "train.csv").read_bytes() == b"id,pixel0,label\n0,0.5,3\n"


def test_refusals_raise_the_right_errors(
    live_url: str,
    api: Any,
    organizer_token: str,
    participant_token: str,
    open_challenge: ChallengeFixture,
    tmp_path: Path,
) -> None:
    tight = create_challenge(api, organizer_token, slug="tight", daily_submission_limit=1)
    open_challenge_now(api, organizer_token, tight.slug)
    good = write(tmp_path / "good.csv", tight.predictions())
    bad = write(tmp_path / "bad.csv", b"id,label\n0,1\n0,1\n")
    with podium.Client(url=live_url, token=participant_token, retries=0) as client:
        with pytest.raises(podium.NotFoundError):
            client.challenge("no-such-challenge")
        with pytest.raises(podium.PermissionDeniedError):
            client.create_challenge(slug="nope", title="Nope", metric="accuracy")
        client.join(tight.slug)
        with pytest.raises(podium.ValidationError) as refused:
            client.submit(tight.slug, bad)
        assert refused.value.status == 422 and refused.value.detail
        client.submit(tight.slug, good)  # the refused file used no quota
        with pytest.raises(podium.QuotaExceededError) as quota:
            client.submit(tight.slug, good)
        assert quota.value.retry_after is not None
    with (
        podium.Client(url=live_url, token="pod_not-a-token") as stranger,
        pytest.raises(podium.AuthenticationError),
    ):
        stranger.whoami()


def test_login_with_password(live_url: str, make_user: Callable[..., str]) -> None:
    make_user("lena")
    with podium.Client(url=live_url) as client:
        with pytest.raises(podium.AuthenticationError):
            client.login("lena", "wrong password")
        token = client.login("lena", PASSWORD)
        assert token and client.whoami().username == "lena"


def test_organizer_flow(
    live_url: str, organizer_token: str, participant_token: str, tmp_path: Path
) -> None:
    labels = [i % 10 for i in range(20)]
    solution = "id,label,usage\n" + "".join(
        f"{i},{label},{'public' if i % 2 else 'private'}\n" for i, label in enumerate(labels)
    )
    preds = "id,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    with podium.Client(url=live_url, token=organizer_token) as organizer:
        created = organizer.create_challenge(
            slug="live", title="Live", metric="accuracy", daily_submission_limit=3
        )
        assert created.state == "draft"
        info = organizer.upload_solution(
            "live", write(tmp_path / "solution.csv", solution.encode())
        )
        assert (info.rows, info.public_rows, info.private_rows) == (20, 10, 10)
        sample = organizer.upload_file(
            "live", write(tmp_path / "s.csv", b"id,label\n0,0\n"), name="sample_submission.csv"
        )
        assert sample.name == "sample_submission.csv"
        assert organizer.update_challenge("live", max_team_size=2).max_team_size == 2
        assert organizer.open_challenge("live").state == "open"

        with podium.Client(url=live_url, token=participant_token) as team:
            team.join("live")
            sub = team.submit("live", write(tmp_path / "p.csv", preds.encode()))
            assert team.wait(sub.id, timeout=SCORING_SECONDS, poll=0.2).status == "scored"

            assert organizer.close_challenge("live").state == "closed"
            assert organizer.rescore("live") >= 1
            assert team.wait(sub.id, timeout=SCORING_SECONDS, poll=0.2).status == "scored"
            assert organizer.finalize("live").state == "finalized"
            board = team.leaderboard("live", "private")
            assert board.entries[0].public_rank == 1
            assert team.submission(sub.id).private_score == 1.0
        exported = organizer.export("live", "private", "csv")
        assert "paul" in exported


def test_cli_end_to_end(
    live_url: str,
    participant_token: str,
    open_challenge: ChallengeFixture,
    tmp_path: Path,
    isolated_config: Path,
) -> None:
    runner = CliRunner()
    slug = open_challenge.slug

    def podium_cli(*args: str) -> Any:
        return runner.invoke(cli_app, list(args))

    login = podium_cli("login", "--url", live_url, "--token", participant_token)
    assert login.exit_code == 0, login.output
    assert isolated_config.exists()
    assert "paul" in podium_cli("whoami").stdout
    assert slug in podium_cli("challenges").stdout
    download = podium_cli("download", slug, "-p", str(tmp_path / "data"))
    assert download.exit_code == 0, download.output
    assert (tmp_path / "data" / "train.csv").exists()
    assert podium_cli("join", slug).exit_code == 0

    bad = write(tmp_path / "bad.csv", b"id,label\n")
    refused = podium_cli("submit", slug, "-f", str(bad), "--wait")
    assert refused.exit_code == 1
    assert "ubmitted" not in refused.output
    assert len(refused.stderr.strip().splitlines()) == 1

    good = write(tmp_path / "preds.csv", open_challenge.predictions())
    scored = podium_cli("submit", slug, "-f", str(good), "-m", "cli", "--wait", "--timeout", "60")
    assert scored.exit_code == 0, scored.output
    assert "Public score (accuracy): 1" in scored.stdout
    assert "Team rank: 1 of 1" in scored.stdout
    assert "Submissions left:\n  4 of 5 left per day (from midnight UTC)" in scored.stdout
    team = podium_cli("team", "show", slug)
    assert "submissions left: 4 of 5 left per day (from midnight UTC)" in team.stdout
    submission_id = podium_cli("submissions", slug, "--json")
    first = json.loads(submission_id.stdout)[0]["id"]
    saved = tmp_path / "again.csv"
    fetched = podium_cli("submission", str(first), "--download", "-o", str(saved))
    assert fetched.exit_code == 0, fetched.output
    assert saved.read_bytes() == open_challenge.predictions()
    done = podium_cli("cancel", str(first))
    assert done.exit_code == 1 and "only queued or running" in done.stderr

    board = podium_cli("leaderboard", slug, "--csv")
    assert board.exit_code == 0 and board.stdout.startswith("rank,team,score")
    assert podium_cli("leaderboard", slug, "--private").exit_code == 1  # not finalized
    missing = podium_cli("download", "no-such-challenge")
    assert missing.exit_code == 1 and "not found" in missing.stderr
