"""The `podium` command line against a fake server: output, one-line errors, exit codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from podium.cli import State, app
from typer.testing import CliRunner, Result

from .conftest import (
    CHALLENGE,
    LEADERBOARD,
    TEAM,
    USER,
    FakeAPI,
    fail_with,
    file_server,
    json_of,
    reply,
    sha256,
    submission,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def logged_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_URL", "http://podium.test")
    monkeypatch.setenv("PODIUM_TOKEN", "pod_test")


def run(fake: FakeAPI, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), obj=State(transport=fake.transport), input=input)


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def preds(tmp_path: Path) -> Path:
    path = tmp_path / "preds.csv"
    path.write_text("id,label\n0,7\n")
    return path


SUBMIT = "/challenges/mnist/submissions"


# -- login and whoami -----------------------------------------------------------


def test_login_with_token_verifies_and_saves(
    fake: FakeAPI, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODIUM_TOKEN")
    monkeypatch.delenv("PODIUM_URL")
    fake.add("GET", "/me", reply(200, USER))
    result = run(fake, "login", "--url", "http://podium.test/", "--token", "pod_given")
    assert result.exit_code == 0, result.output
    assert "Logged in to http://podium.test as ada (participant)" in result.stdout
    assert fake.requests[0].headers["Authorization"] == "Bearer pod_given"
    assert json.loads(isolated_config.read_text()) == {
        "url": "http://podium.test",
        "token": "pod_given",
    }
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600


def test_login_with_password_prompt(
    fake: FakeAPI, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODIUM_TOKEN")
    fake.add("POST", "/tokens", reply(201, {"id": 1, "token": "pod_fresh", "name": "cli"}))
    fake.add("GET", "/me", reply(200, USER))
    result = run(fake, "login", "--username", "ada", input="s3cret\n")
    assert result.exit_code == 0, result.output
    body = json_of(fake.calls("POST", "/tokens")[0])
    assert (body["username"], body["password"]) == ("ada", "s3cret")
    assert "s3cret" not in result.output
    assert json.loads(isolated_config.read_text())["token"] == "pod_fresh"


def test_login_with_a_bad_token_saves_nothing(fake: FakeAPI, isolated_config: Path) -> None:
    fake.add("GET", "/me", reply(401, {"detail": "invalid, expired or revoked token"}))
    result = run(fake, "login", "--token", "pod_bad")
    assert_one_line_error(result, "invalid, expired or revoked token", "podium login")
    assert not isolated_config.exists()


def test_login_wrong_password(fake: FakeAPI, isolated_config: Path) -> None:
    fake.add("POST", "/tokens", reply(401, {"detail": "wrong username or password"}))
    result = run(fake, "login", "-u", "ada", input="nope\n")
    assert_one_line_error(result, "wrong username or password")
    assert not isolated_config.exists()


def test_login_token_and_username_is_a_usage_error(fake: FakeAPI) -> None:
    result = run(fake, "login", "--token", "t", "--username", "u")
    assert result.exit_code == 2
    assert fake.requests == []


def test_login_warns_when_env_token_overrides(fake: FakeAPI) -> None:
    fake.add("GET", "/me", reply(200, USER))
    result = run(fake, "login", "--token", "pod_other")
    assert result.exit_code == 0
    assert "PODIUM_TOKEN is set" in result.stderr


def test_whoami(fake: FakeAPI) -> None:
    fake.add("GET", "/me", reply(200, USER))
    result = run(fake, "whoami")
    assert result.exit_code == 0
    assert result.stdout.startswith("ada (participant) on http://podium.test")
    as_json = json.loads(run(fake, "whoami", "--json").stdout)
    assert as_json["username"] == "ada" and as_json["server"] == "http://podium.test"


def test_insecure_config_warning_is_one_line(
    fake: FakeAPI, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODIUM_TOKEN")
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text('{"token": "pod_cfg"}')
    isolated_config.chmod(0o644)
    fake.add("GET", "/me", reply(200, USER))
    result = run(fake, "whoami")
    assert result.exit_code == 0
    assert result.stderr.startswith("Warning: ")
    assert "chmod 600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- the one-line errors -----------------------------------------------------------


def test_unknown_challenge(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges/nope/files", reply(404, {"detail": "challenge 'nope' not found"}))
    assert_one_line_error(run(fake, "download", "nope"), "challenge 'nope' not found", "404")


def test_expired_token(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", reply(401, {"detail": "invalid, expired or revoked token"}))
    assert_one_line_error(run(fake, "challenges"), "expired", "run `podium login`")


def test_network_down(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", fail_with(httpx.ConnectError("[Errno 111] Connection refused")))
    assert_one_line_error(run(fake, "challenges"), "cannot reach", "http://podium.test")


def test_server_error(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", reply(500, {"detail": "internal error"}))
    assert_one_line_error(run(fake, "challenges"), "server failed (HTTP 500)")


def test_multiline_detail_is_one_line(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", reply(409, {"detail": "first line\nsecond line"}))
    assert_one_line_error(run(fake, "challenges"), "first line second line")


def test_missing_local_file(fake: FakeAPI, tmp_path: Path) -> None:
    result = run(fake, "submit", "mnist", "-f", str(tmp_path / "nope.csv"))
    assert_one_line_error(result, "file not found", "nope.csv")
    assert fake.requests == []
    assert "ubmitted" not in result.output


def test_usage_error_exits_2(fake: FakeAPI) -> None:
    result = run(fake, "submit", "mnist")  # no -f
    assert result.exit_code == 2
    assert run(fake, "submit", "mnist", "-f", "x.csv", "--kind", "zip").exit_code == 2
    assert run(fake, "no-such-command").exit_code == 2
    assert fake.requests == []


# -- submit --------------------------------------------------------------------------


def test_submit_accepted(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission()))
    result = run(fake, "submit", "mnist", "-f", str(preds), "-m", "cnn")
    assert result.exit_code == 0, result.output
    assert "Submitted preds.csv to mnist: submission #12 is queued." in result.stdout
    assert "  4 left today" in result.stdout
    assert "podium submission 12" in result.stdout


def test_submit_rejected_file_never_says_submitted(fake: FakeAPI, preds: Path) -> None:
    detail = "rows 3, 9: id 17 appears twice; and 2 more"
    fake.add("POST", SUBMIT, reply(422, {"detail": detail}))
    result = run(fake, "submit", "mnist", "-f", str(preds), "--wait")
    assert_one_line_error(result, detail)
    assert "ubmitted" not in result.output
    assert result.stdout == ""


def test_submit_daily_limit_never_says_submitted(fake: FakeAPI, preds: Path) -> None:
    fake.add(
        "POST",
        SUBMIT,
        reply(429, {"detail": "daily limit of 5 reached"}, headers={"Retry-After": "5400"}),
    )
    result = run(fake, "submit", "mnist", "-f", str(preds))
    assert_one_line_error(result, "daily limit of 5 reached", "try again in 1h 30m")
    assert "ubmitted" not in result.output
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("status", "detail"),
    [(409, "the challenge is closed"), (403, "the challenge is not open yet")],
)
def test_submit_closed_or_not_open(fake: FakeAPI, preds: Path, status: int, detail: str) -> None:
    fake.add("POST", SUBMIT, reply(status, {"detail": detail}))
    result = run(fake, "submit", "mnist", "-f", str(preds))
    assert_one_line_error(result, detail)
    assert "ubmitted" not in result.output


def test_submit_wait_scored(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission()))
    fake.add(
        "GET",
        "/submissions/12",
        reply(200, submission(status="running")),
        reply(200, submission(status="scored", public_score=0.98, remaining_today=None)),
    )
    fake.add("GET", "/challenges/mnist/leaderboard", reply(200, LEADERBOARD))
    fake.add("GET", "/challenges/mnist/team", reply(200, TEAM))
    result = run(fake, "submit", "mnist", "-f", str(preds), "--wait")
    assert result.exit_code == 0, result.output
    assert "Public score (accuracy): 0.98" in result.stdout
    assert "Team rank: 2 of 2" in result.stdout
    assert "Submissions left:\n  4 of 5 left today" in result.stdout


def test_submit_wait_json(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission(status="scored", public_score=0.5)))
    fake.add("GET", "/challenges/mnist/leaderboard", reply(200, LEADERBOARD))
    fake.add("GET", "/challenges/mnist/team", reply(200, TEAM))
    result = run(fake, "submit", "mnist", "-f", str(preds), "--wait", "--json")
    data = json.loads(result.stdout)
    assert (data["public_score"], data["team_rank"], data["remaining_today"]) == (0.5, 2, 4)


def test_submit_wait_failed_prints_the_reason(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission()))
    fake.add(
        "GET",
        "/submissions/12",
        reply(200, submission(status="failed", error="model output has shape (10,), not (100,)")),
    )
    result = run(fake, "submit", "mnist", "-f", str(preds), "--wait")
    assert result.exit_code == 1
    assert "Error: submission #12 failed: model output has shape (10,), not (100,)" in (
        result.stderr
    )
    assert "ubmitted" not in result.output


def test_submit_scored_at_once_shows_the_score(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission(status="scored", public_score=0.9)))
    fake.add("GET", "/challenges/mnist/leaderboard", reply(200, LEADERBOARD))
    fake.add("GET", "/challenges/mnist/team", reply(200, TEAM))
    result = run(fake, "submit", "mnist", "-f", str(preds))
    assert result.exit_code == 0
    assert "Public score (accuracy): 0.9" in result.stdout


def test_submit_failed_at_once_exits_1_without_wait(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission(status="failed", error="model crashed")))
    result = run(fake, "submit", "mnist", "-f", str(preds))
    assert_one_line_error(result, "submission #12 failed: model crashed")
    assert "ubmitted" not in result.output


def test_submit_queued_json(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission()))
    result = run(fake, "submit", "mnist", "-f", str(preds), "--json")
    assert json.loads(result.stdout)["status"] == "queued"


def test_submit_wait_timeout_exits_1(fake: FakeAPI, preds: Path) -> None:
    fake.add("POST", SUBMIT, reply(201, submission()))
    fake.add("GET", "/submissions/12", reply(200, submission(status="running")))
    result = run(fake, "submit", "mnist", "-f", str(preds), "--wait", "--timeout", "5")
    assert result.exit_code == 1
    assert "still running after 5 s" in result.stderr


def test_submit_checkpoint_sends_config(fake: FakeAPI, tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"w")
    config = tmp_path / "model.json"
    config.write_text("{}")
    fake.add("POST", SUBMIT, reply(201, submission(kind="checkpoint")))
    result = run(
        fake,
        "submit",
        "mnist",
        "-f",
        str(weights),
        "--kind",
        "checkpoint",
        "--config",
        str(config),
    )
    assert result.exit_code == 0, result.output
    assert b'name="config"; filename="model.json"' in fake.bodies[0]


# -- listings --------------------------------------------------------------------------


def test_challenges_table_and_json(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", reply(200, [CHALLENGE]))
    result = run(fake, "challenges")
    assert result.exit_code == 0
    assert "mnist" in result.stdout and "MNIST digits" in result.stdout
    assert json.loads(run(fake, "challenges", "--json").stdout)[0]["slug"] == "mnist"


def test_challenge_details(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges/mnist", reply(200, CHALLENGE))
    result = run(fake, "challenge", "mnist")
    assert "submission limits:      5 per day (UTC)" in result.stdout
    assert "Classify handwritten digits." in result.stdout


def test_download(fake: FakeAPI, tmp_path: Path) -> None:
    data = b"id,label\n0,1\n"
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, [{"name": "train.csv", "size": len(data), "sha256": sha256(data)}]),
    )
    fake.add("GET", "/challenges/mnist/files/train.csv", file_server(data))
    result = run(fake, "download", "mnist", "-p", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert "downloaded  train.csv" in result.stdout
    assert (tmp_path / "d" / "train.csv").read_bytes() == data
    again = run(fake, "download", "mnist", "-p", str(tmp_path / "d"))
    assert "skipped  train.csv" in again.stdout
    [as_json] = json.loads(
        run(fake, "download", "mnist", "-p", str(tmp_path / "d"), "--json").stdout
    )
    assert as_json["status"] == "skipped" and as_json["path"].endswith("train.csv")


def test_download_checksum_mismatch(fake: FakeAPI, tmp_path: Path) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, [{"name": "train.csv", "size": 3, "sha256": "0" * 64}]),
    )
    fake.add("GET", "/challenges/mnist/files/train.csv", file_server(b"abc", sha="0" * 64))
    result = run(fake, "download", "mnist", "-p", str(tmp_path))
    assert_one_line_error(result, "train.csv: sha256 mismatch")


def test_submissions_and_submission(fake: FakeAPI) -> None:
    fake.add(
        "GET",
        SUBMIT,
        reply(200, [submission(status="scored", public_score=0.97, selected_for_final=True)]),
    )
    fake.add("GET", "/submissions/12", reply(200, submission(status="failed", error="bad csv")))
    listing = run(fake, "submissions", "mnist")
    assert listing.exit_code == 0 and "0.97" in listing.stdout and "private" not in listing.stdout
    assert json.loads(run(fake, "submissions", "mnist", "--json").stdout)[0]["id"] == 12
    one = run(fake, "submission", "12")
    assert "error:" in one.stdout and "bad csv" in one.stdout
    assert json.loads(run(fake, "submission", "12", "--json").stdout)["status"] == "failed"


def test_leaderboard_formats(fake: FakeAPI) -> None:
    private = {
        "board": "private",
        "entries": [
            {"rank": 1, "team": "ada", "score": 0.97, "submissions": 2, "public_rank": 2, "move": 1}
        ],
    }
    fake.add(
        "GET",
        "/challenges/mnist/leaderboard",
        lambda r: httpx.Response(
            200, json=private if r.url.params["board"] == "private" else LEADERBOARD
        ),
    )
    table = run(fake, "leaderboard", "mnist")
    assert table.exit_code == 0 and "grace" in table.stdout and "0.99" in table.stdout
    as_json = json.loads(run(fake, "leaderboard", "mnist", "--json").stdout)
    assert as_json["entries"][1]["team"] == "ada"
    as_csv = run(fake, "leaderboard", "mnist", "--private", "--csv").stdout.splitlines()
    assert as_csv[0] == "rank,team,score,submissions,last_submission_at,public_rank,move"
    assert as_csv[1] == "1,ada,0.97,2,,2,1"
    assert "+1" in run(fake, "leaderboard", "mnist", "--private").stdout
    assert run(fake, "leaderboard", "mnist", "--json", "--csv").exit_code == 2


def test_select(fake: FakeAPI) -> None:
    fake.add("PUT", "/challenges/mnist/selection", reply(200, {"selected": [12, 15]}))
    result = run(fake, "select", "mnist", "12", "15")
    assert result.exit_code == 0
    assert "#12, #15" in result.stdout
    assert json_of(fake.requests[0]) == {"submission_ids": [12, 15]}


def test_team_commands(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges/mnist/team", reply(200, TEAM))
    fake.add("POST", "/challenges/mnist/team/invite", reply(200, {"code": "K7Q2"}))
    fake.add("POST", "/challenges/mnist/team/join", reply(200, {**TEAM, "members": ["g", "ada"]}))
    fake.add("PATCH", "/challenges/mnist/team", reply(200, {**TEAM, "name": "owls"}))
    fake.add("POST", "/challenges/mnist/join", reply(200, TEAM))
    show = run(fake, "team", "show", "mnist")
    assert "submissions left: 4 of 5 left today" in show.stdout
    assert json.loads(run(fake, "team", "show", "mnist", "--json").stdout)["name"] == "ada"
    invite = run(fake, "team", "invite", "mnist")
    assert invite.stdout.strip() == "K7Q2"
    assert "podium team join K7Q2 mnist" in invite.stderr
    assert run(fake, "team", "invite", "mnist", "--rotate").exit_code == 0
    assert fake.requests[-1].url.params["rotate"] == "true"
    assert "g, ada" in run(fake, "team", "join", "K7Q2", "mnist").stdout
    assert "'owls'" in run(fake, "team", "rename", "owls", "mnist").stdout
    assert "Joined mnist" in run(fake, "join", "mnist").stdout


# -- organizers ------------------------------------------------------------------------


def test_admin_create_and_update(fake: FakeAPI, tmp_path: Path) -> None:
    description = tmp_path / "README.md"
    description.write_text("# Digits\n")
    fake.add(
        "POST", "/challenges", lambda r: httpx.Response(201, json={**json_of(r), "state": "draft"})
    )
    fake.add(
        "PATCH",
        "/challenges/mnist",
        lambda r: httpx.Response(200, json={**CHALLENGE, **json_of(r)}),
    )
    result = run(
        fake,
        "admin",
        "create",
        "mnist",
        "--title",
        "MNIST",
        "--metric",
        "accuracy",
        "--closes-at",
        "2025-02-01T12:00:00Z",
        "--daily-limit",
        "5",
        "--kinds",
        "csv,checkpoint",
        "--description-file",
        str(description),
    )
    assert result.exit_code == 0, result.output
    assert "Created mnist: draft" in result.stdout
    assert json_of(fake.requests[0]) == {
        "slug": "mnist",
        "title": "MNIST",
        "metric": "accuracy",
        "description": "# Digits\n",
        "closes_at": "2025-02-01T12:00:00Z",
        "daily_submission_limit": 5,
        "submission_kinds": ["csv", "checkpoint"],
    }
    assert run(fake, "admin", "create", "x", "--closes-at", "tomorrow").exit_code == 2
    update = run(fake, "admin", "update", "mnist", "--team-size", "2")
    assert update.exit_code == 0 and json_of(fake.requests[-1]) == {"max_team_size": 2}
    hidden = run(fake, "admin", "update", "mnist", "--atlas", "after_finalize")
    assert hidden.exit_code == 0 and json_of(fake.requests[-1]) == {
        "atlas_visibility": "after_finalize"
    }
    assert run(fake, "admin", "update", "mnist").exit_code == 2
    assert "Opened mnist: open" in run(fake, "admin", "open", "mnist").stdout
    assert "Closed mnist: closed" in run(fake, "admin", "close", "mnist").stdout


def test_admin_uploads(fake: FakeAPI, tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_text("id,label\n")
    fake.add(
        "PUT",
        "/challenges/mnist/files/train.csv",
        reply(201, {"name": "train.csv", "size": 9, "sha256": "ab" * 32}),
    )
    fake.add(
        "PUT",
        "/challenges/mnist/solution",
        reply(
            200,
            {"sha256": "cd", "rows": 10, "public_rows": 3, "private_rows": 7, "target": "label"},
        ),
    )
    result = run(fake, "admin", "upload", "mnist", str(train))
    assert result.exit_code == 0, result.output
    assert "uploaded  train.csv (9 B" in result.stdout
    solution = run(fake, "admin", "solution", "mnist", str(train))
    assert "10 rows (3 public, 7 private), target label" in solution.stdout


def test_admin_forbidden_for_participants(fake: FakeAPI) -> None:
    fake.add("POST", "/challenges/mnist/rescore", reply(403, {"detail": "organizer role required"}))
    assert_one_line_error(run(fake, "admin", "rescore", "mnist"), "organizer role required")


def test_admin_finalize_rescore_export(fake: FakeAPI, tmp_path: Path) -> None:
    fake.add("POST", "/challenges/mnist/finalize", reply(200, {**CHALLENGE, "state": "finalized"}))
    fake.add("POST", "/challenges/mnist/rescore", reply(200, {"rescored": 3}))
    fake.add("GET", "/challenges/mnist/export", reply(200, content=b"rank,team\n1,ada\n"))
    aborted = run(fake, "admin", "finalize", "mnist", input="n\n")
    assert aborted.exit_code == 1 and fake.requests == []
    assert "Finalized mnist" in run(fake, "admin", "finalize", "mnist", "--yes").stdout
    assert "Re-scoring 3 submission(s)" in run(fake, "admin", "rescore", "mnist").stdout
    assert run(fake, "admin", "export", "mnist").stdout == "rank,team\n1,ada\n"
    out = tmp_path / "board.csv"
    result = run(fake, "admin", "export", "mnist", "--board", "private", "-o", str(out))
    assert result.exit_code == 0 and out.read_text() == "rank,team\n1,ada\n"
    assert fake.requests[-1].url.params["board"] == "private"


def test_version(fake: FakeAPI) -> None:
    result = run(fake, "--version")
    assert result.exit_code == 0 and result.stdout.startswith("podium-client ")


def test_admin_requeue_every_platform_failure_or_the_ids_given(fake: FakeAPI) -> None:
    fake.add("POST", "/challenges/mnist/queue/requeue", reply(200, {"requeued": [4, 9]}))
    result = run(fake, "admin", "requeue", "mnist")
    assert result.exit_code == 0, result.output
    assert "Queued again 2 submission(s) of mnist: 4, 9" in result.stdout
    assert json_of(fake.requests[-1]) == {}
    fake.add("POST", "/challenges/mnist/queue/requeue", reply(200, {"requeued": [9]}))
    assert run(fake, "admin", "requeue", "mnist", "9").exit_code == 0
    assert json_of(fake.requests[-1]) == {"submission_ids": [9]}
    fake.add(
        "POST",
        "/challenges/mnist/queue/requeue",
        reply(409, {"detail": "not platform failures: 7 (only those can be queued again)"}),
    )
    assert_one_line_error(run(fake, "admin", "requeue", "mnist", "7"), "not platform failures: 7")
    fake.add("POST", "/challenges/mnist/queue/requeue", reply(200, {"requeued": []}))
    assert "No platform failure to queue again" in run(fake, "admin", "requeue", "mnist").stdout
