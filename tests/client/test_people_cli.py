"""``podium register``, ``passwd``, ``logout`` and the course commands against a fake server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from podium import save_config
from podium.cli import State, app
from typer.testing import CliRunner, Result

from .conftest import USER, FakeAPI, json_of, reply

runner = CliRunner()
LINK = {
    "username": "ann",
    "display_name": "Ann Lee",
    "email": "ann@ens.fr",
    "student_id": "S1",
    "path": "/welcome/secret",
    "url": "http://podium.test/welcome/secret",
    "expires_at": "2026-12-04T00:00:00Z",
}


def run(fake: FakeAPI, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), obj=State(transport=fake.transport), input=input)


def test_register_logs_in_and_saves_the_token(fake: FakeAPI, isolated_config: Path) -> None:
    fake.add("POST", "/users", reply(201, USER))
    fake.add("POST", "/tokens", reply(201, {"token": "pod_new", "id": 1}))
    result = run(
        fake,
        "register",
        "--url",
        "http://podium.test",
        "-u",
        "ada",
        input="pw-pw-pw-1\npw-pw-pw-1\n",
    )
    assert result.exit_code == 0, result.output
    assert json_of(fake.calls("POST", "/users")[0]) == {"username": "ada", "password": "pw-pw-pw-1"}
    assert json.loads(isolated_config.read_text())["token"] == "pod_new"


def test_passwd_and_logout(
    fake: FakeAPI, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODIUM_TOKEN", raising=False)
    save_config(url="http://podium.test", token="pod_0123456789abc")
    fake.add("PUT", "/me/password", reply(200, {"revoked": 2}))
    result = run(fake, "passwd", input="old-pass-1\nnew-pass-12\nnew-pass-12\n")
    assert result.exit_code == 0 and "2 other token(s)" in result.output, result.output
    body = json_of(fake.calls("PUT", "/me/password")[0])
    assert body == {"current_password": "old-pass-1", "new_password": "new-pass-12"}
    fake.add("GET", "/tokens", reply(200, [{"id": 5, "prefix": "pod_012345", "revoked_at": None}]))
    fake.add("DELETE", "/tokens/5", reply(204))
    result = run(fake, "logout")
    assert result.exit_code == 0 and "revoked on the server" in result.output, result.output
    assert "token" not in json.loads(isolated_config.read_text())
    assert len(fake.calls("DELETE", "/tokens/5")) == 1


def test_roster_import_writes_the_links(fake: FakeAPI, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("username,display_name,email,student_id\nann,Ann Lee,ann@ens.fr,S1\n")
    fake.add("POST", "/users/import", reply(201, [LINK]))
    out = tmp_path / "links.csv"
    result = run(fake, "admin", "users", "import", str(roster), "-o", str(out))
    assert result.exit_code == 0, result.output
    sent = fake.calls("POST", "/users/import")[0]
    assert sent.content == roster.read_bytes() and sent.headers["content-type"].startswith(
        "text/csv"
    )
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["username"] == "ann" and rows[0]["url"] == LINK["url"]
    assert out.stat().st_mode & 0o077 == 0


def test_hosts_reset_links_and_moderation(fake: FakeAPI) -> None:
    fake.add(
        "POST",
        "/challenges/ml/hosts",
        reply(201, [{"username": "olga", "creator": True}, {"username": "hugo", "creator": False}]),
    )
    result = run(fake, "admin", "hosts", "add", "ml", "hugo")
    assert result.exit_code == 0 and "olga (creator)\nhugo" in result.output
    fake.add("POST", "/users/s03/reset-link", reply(200, LINK))
    result = run(fake, "admin", "users", "reset-link", "s03")
    assert result.stdout.strip().splitlines()[-1] == LINK["url"]
    fake.add("POST", "/challenges/ml/teams/team x/disqualify", reply(200, {}))
    result = run(fake, "admin", "disqualify", "ml", "team x", "--reason", "copied")
    assert result.exit_code == 0, result.output
    assert json_of(fake.calls("POST", "/challenges/ml/teams/team x/disqualify")[0]) == {
        "reason": "copied"
    }
