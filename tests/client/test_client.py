"""Each method calls the documented endpoint and returns a typed model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import podium
import pytest

from .conftest import (
    CHALLENGE,
    LEADERBOARD,
    TEAM,
    USER,
    FakeAPI,
    FakeClock,
    echo,
    json_of,
    reply,
    submission,
)


def test_sends_token_and_user_agent(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", reply(200, USER))
    user = client.whoami()
    assert user == podium.User(1, "ada", "participant", datetime(2025, 1, 1, tzinfo=UTC))
    request = fake.requests[0]
    assert request.headers["Authorization"] == "Bearer pod_test"
    assert request.headers["User-Agent"].startswith("podium-client/")
    assert str(request.url) == "http://podium.test/api/v1/me"


def test_explicit_timeouts(client: podium.Client) -> None:
    timeout = client._http.timeout
    assert (timeout.connect, timeout.read, timeout.write) == (10.0, 30.0, 30.0)


def test_context_manager_closes(fake: FakeAPI) -> None:
    with fake.client() as client:
        pass
    assert client._http.is_closed


def test_login_uses_and_returns_the_new_token(fake: FakeAPI) -> None:
    fake.add("POST", "/tokens", reply(201, {"id": 3, "token": "pod_new", "name": "x"}))
    fake.add("GET", "/me", reply(200, USER))
    with fake.client(token=None) as client:
        assert client.login("ada", "secret") == "pod_new"
        assert client.token == "pod_new"
        client.whoami()
    body = json_of(fake.calls("POST", "/tokens")[0])
    assert body["username"] == "ada" and body["password"] == "secret"
    assert body["name"].startswith("podium-cli@")
    assert fake.calls("GET", "/me")[0].headers["Authorization"] == "Bearer pod_new"


def test_challenges_and_challenge(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/challenges", reply(200, [CHALLENGE]))
    fake.add("GET", "/challenges/mnist", reply(200, {**CHALLENGE, "new_field": 1}))
    [listed] = client.challenges()
    assert listed.slug == "mnist" and listed.submission_kinds == ["csv", "checkpoint"]
    assert listed.closes_at == datetime(2025, 2, 1, tzinfo=UTC)
    one = client.challenge("mnist")
    assert one.daily_submission_limit == 5 and one.greater_is_better is True
    assert one.raw["new_field"] == 1  # fields the server adds are kept


def test_slugs_and_names_are_quoted(fake: FakeAPI, client: podium.Client) -> None:
    with pytest.raises(podium.NotFoundError):
        client.challenge("a/b?c")
    assert fake.requests[0].url.raw_path == b"/api/v1/challenges/a%2Fb%3Fc"


def test_files(fake: FakeAPI, client: podium.Client) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/files",
        reply(200, [{"name": "train.csv", "size": 3, "sha256": "AB", "created_at": None}]),
    )
    assert client.files("mnist") == [podium.ChallengeFile("train.csv", 3, "ab")]


def test_team_methods(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("POST", "/challenges/mnist/join", reply(200, TEAM))
    fake.add("GET", "/challenges/mnist/team", reply(200, TEAM))
    fake.add("POST", "/challenges/mnist/team/invite", reply(200, {"code": "XYZ123"}))
    fake.add(
        "POST",
        "/challenges/mnist/team/join",
        reply(200, {**TEAM, "name": "owls", "members": ["ada", "grace"]}),
    )
    fake.add("PATCH", "/challenges/mnist/team", reply(200, {**TEAM, "name": "hawks"}))
    assert client.join("mnist").name == "ada"
    team = client.team("mnist")
    assert (team.remaining_today, team.daily_submission_limit) == (4, 5)
    assert team.quota_resets_at == datetime(2025, 1, 2, tzinfo=UTC)
    assert client.team_invite("mnist") == "XYZ123"
    assert client.team_join("mnist", "XYZ123").members == ["ada", "grace"]
    assert json_of(fake.calls("POST", "/challenges/mnist/team/join")[0]) == {"code": "XYZ123"}
    assert client.rename_team("mnist", "hawks").name == "hawks"
    assert json_of(fake.calls("PATCH", "/challenges/mnist/team")[0]) == {"name": "hawks"}


def test_submit_multipart(fake: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    preds = tmp_path / "preds.csv"
    preds.write_text("id,label\n0,7\n")
    fake.add("POST", "/challenges/mnist/submissions", reply(201, submission()))
    sub = client.submit("mnist", preds, message="cnn, 5 epochs")
    assert (sub.id, sub.status, sub.remaining_today, sub.finished) == (12, "queued", 4, False)
    request = fake.requests[0]
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(request.headers["Content-Length"]) == len(fake.bodies[0])
    body = fake.bodies[0].decode()
    assert 'name="file"; filename="preds.csv"' in body
    assert "id,label\n0,7\n" in body
    assert re.search(r'name="message"\r\n\r\ncnn, 5 epochs\r\n', body)
    assert re.search(r'name="kind"\r\n\r\ncsv\r\n', body)
    assert 'name="config"' not in body


def test_submit_checkpoint_with_config(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00\x01weights")
    config = tmp_path / "model.json"
    config.write_text('{"family": "cnn"}')
    fake.add("POST", "/challenges/mnist/submissions", reply(201, submission(kind="checkpoint")))
    assert client.submit("mnist", weights, kind="checkpoint", config=config).kind == "checkpoint"
    body = fake.bodies[0]
    assert b'name="config"; filename="model.json"' in body
    assert b'{"family": "cnn"}' in body
    assert re.search(rb'name="kind"\r\n\r\ncheckpoint\r\n', body)


def test_submit_checks_local_files_before_sending(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        client.submit("mnist", tmp_path / "missing.csv")
    preds = tmp_path / "preds.csv"
    preds.write_text("id,label\n")
    with pytest.raises(FileNotFoundError):
        client.submit("mnist", preds, kind="checkpoint", config=tmp_path / "missing.json")
    with pytest.raises(ValueError, match="kind"):
        client.submit("mnist", preds, kind="zip")
    assert fake.requests == []


def test_wait_polls_until_finished(fake: FakeAPI, client: podium.Client, clock: FakeClock) -> None:
    fake.add(
        "GET",
        "/submissions/12",
        reply(200, submission(status="queued")),
        reply(200, submission(status="running")),
        reply(200, submission(status="running")),
        reply(200, submission(status="scored", public_score=0.98)),
    )
    sub = client.wait(12, poll=1.0)
    assert (sub.status, sub.public_score) == ("scored", 0.98)
    assert clock.sleeps == [0.25, 0.5, 1.0]


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_wait_returns_failed_and_cancelled(
    fake: FakeAPI, client: podium.Client, status: str
) -> None:
    fake.add("GET", "/submissions/12", reply(200, submission(status=status, error="bad shape")))
    sub = client.wait(12)
    assert sub.status == status and sub.error == "bad shape"


def test_wait_times_out(fake: FakeAPI, client: podium.Client, clock: FakeClock) -> None:
    fake.add("GET", "/submissions/12", reply(200, submission(status="running")))
    with pytest.raises(podium.TimeoutError, match="still running after 10 s"):
        client.wait(12, timeout=10, poll=2)
    assert sum(clock.sleeps) == pytest.approx(10)


def test_submissions_and_selection(fake: FakeAPI, client: podium.Client) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/submissions",
        reply(200, [submission(id=13, status="scored", public_score=0.9), submission()]),
    )
    fake.add("PUT", "/challenges/mnist/selection", reply(200, {"selected": [12, 13]}))
    subs = client.submissions("mnist")
    assert [s.id for s in subs] == [13, 12]
    assert client.select("mnist", [12, 13]) == [12, 13]
    assert json_of(fake.calls("PUT", "/challenges/mnist/selection")[0]) == {
        "submission_ids": [12, 13]
    }


def test_leaderboard(fake: FakeAPI, client: podium.Client) -> None:
    private = {
        "board": "private",
        "entries": [{"rank": 1, "team": "ada", "score": 0.97, "public_rank": 2, "move": 1}],
    }
    fake.add(
        "GET",
        "/challenges/mnist/leaderboard",
        lambda r: httpx.Response(
            200, json=private if r.url.params["board"] == "private" else LEADERBOARD
        ),
    )
    board = client.leaderboard("mnist")
    assert board.board == "public" and board.metric == "accuracy"
    ada = board.find("ada")
    assert ada is not None and ada.rank == 2
    assert board.find("nobody") is None
    entry = client.leaderboard("mnist", "private").entries[0]
    assert (entry.public_rank, entry.move) == (2, 1)
    with pytest.raises(ValueError):
        client.leaderboard("mnist", "secret")


def test_missing_scores_stay_none(fake: FakeAPI, client: podium.Client) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/leaderboard",
        reply(200, {"board": "public", "entries": [{"rank": 1, "team": "a", "score": None}]}),
    )
    assert client.leaderboard("mnist").entries[0].score is None


def test_organizer_methods(fake: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    fake.add("POST", "/challenges", reply(201, {**CHALLENGE, "state": "draft"}))
    fake.add("PATCH", "/challenges/mnist", echo(200, CHALLENGE))
    fake.add("POST", "/challenges/mnist/finalize", reply(200, {**CHALLENGE, "state": "finalized"}))
    fake.add("POST", "/challenges/mnist/rescore", reply(200, {"rescored": 17}))
    created = client.create_challenge(
        slug="mnist",
        title="MNIST",
        metric="accuracy",
        closes_at=datetime(2025, 2, 1, 12, 0),
        submission_kinds=("csv",),
    )
    assert created.state == "draft"
    body = json_of(fake.calls("POST", "/challenges")[0])
    assert body["closes_at"] == "2025-02-01T12:00:00+00:00"  # naive is UTC
    assert body["submission_kinds"] == ["csv"]
    assert client.update_challenge("mnist", daily_submission_limit=3).daily_submission_limit == 3
    assert client.open_challenge("mnist").state == "open"
    assert client.close_challenge("mnist").state == "closed"
    assert client.finalize("mnist").state == "finalized"
    assert client.rescore("mnist") == 17


def test_uploads_stream_the_raw_body(fake: FakeAPI, client: podium.Client, tmp_path: Path) -> None:
    source = tmp_path / "solution.csv"
    source.write_bytes(b"id,label,usage\n0,1,public\n1,2,private\n")
    blob = tmp_path / "hidden.npy"
    blob.write_bytes(b"\x93NUMPY" + b"\x00" * 100)
    fake.add(
        "PUT",
        "/challenges/mnist/files/sample.csv",
        reply(201, {"name": "sample.csv", "size": 38, "sha256": "cd"}),
    )
    fake.add(
        "PUT",
        "/challenges/mnist/solution",
        reply(
            200, {"sha256": "ef", "rows": 2, "public_rows": 1, "private_rows": 1, "target": "label"}
        ),
    )
    fake.add(
        "PUT",
        "/challenges/mnist/hidden-inputs",
        reply(200, {"sha256": "01", "rows": 2, "shape": [2, 28, 28], "dtype": "float32"}),
    )
    assert client.upload_file("mnist", source, name="sample.csv").name == "sample.csv"
    info = client.upload_solution("mnist", source)
    assert (info.rows, info.public_rows, info.private_rows, info.target) == (2, 1, 1, "label")
    assert client.upload_hidden_inputs("mnist", blob)["shape"] == [2, 28, 28]
    first = fake.requests[0]
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert first.headers["Content-Length"] == str(source.stat().st_size)
    assert "Transfer-Encoding" not in first.headers
    assert fake.bodies[0] == source.read_bytes()
    assert fake.bodies[2] == blob.read_bytes()


def test_export(fake: FakeAPI, client: podium.Client) -> None:
    fake.add(
        "GET",
        "/challenges/mnist/export",
        lambda r: httpx.Response(
            200, text=f"rank,team\n1,ada\n# {r.url.params['board']} {r.url.params['format']}"
        ),
    )
    assert client.export("mnist", "private", "csv").endswith("# private csv")
    with pytest.raises(ValueError):
        client.export("mnist", "public", "xlsx")


def test_no_token_sends_no_authorization(fake: FakeAPI) -> None:
    fake.add("GET", "/challenges", reply(200, []))
    with fake.client(token=None) as client:
        assert client.challenges() == []
    assert "Authorization" not in fake.requests[0].headers
