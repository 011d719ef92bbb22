"""A whole class through live HTTP: one real server (``podium-server serve``) for the module,
on SQLite, or on PostgreSQL with ``PODIUM_TEST_DATABASE_URL``.

Sign-up is closed. The admin is made by ``podium-server create-organizer``, the teaching
assistant by ``create-user --role organizer`` (a sign-in link); the TA imports a roster
of 30 with ``podium admin users import``, the students use their links, one changes
the password (the old token gets 401), a host resets a forgotten one, and a team is
disqualified and disappears from every board. Parallel accounts named Quinn and quinn:
one 201, the others 409.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.security.live import REPO, LiveServer, upload, wait_until_settled
from tests.security.world import Hidden

STUDENTS = 30
SLUG = "ml-course"
NEW_PASSWORD = "my-own-password-1"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("class"), migrated_template, env={"PODIUM_ALLOW_SIGNUP": "false"}
    )
    live.start()
    yield live
    live.stop()


def server_cli(server: LiveServer, *args: str) -> str:
    """``podium-server ARGS`` against the live server's database; its last line."""
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=REPO,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def podium(server: LiveServer, token: str, *args: str, config: Path) -> str:
    """The ``podium`` CLI with this server and token."""
    from podium.cli import app

    env = {"PODIUM_URL": server.url, "PODIUM_TOKEN": token, "PODIUM_CONFIG": str(config)}
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def use_link(server: LiveServer, url: str, password: str) -> httpx.Client:
    """A browser opens a sign-in link and chooses a password; it is signed in."""
    path = url[url.index("/welcome/") :]
    browser = httpx.Client(base_url=server.url, timeout=60, follow_redirects=True)
    page = browser.get(path)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = browser.post(
        path, data={"csrf_token": csrf.group(1), "password": password, "confirm": password}
    )
    assert done.status_code == 200 and "Your password is set" in done.text, done.text
    return browser


def login(server: LiveServer, username: str, password: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/v1/tokens", json={"username": username, "password": password})


def token_of(server: LiveServer, username: str, password: str) -> str:
    response = login(server, username, password)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


def test_a_class_from_roster_to_final_board(server: LiveServer, tmp_path: Path) -> None:
    config = tmp_path / "podium.json"
    admin = server_cli(server, "create-organizer", "prof")
    with server.client(admin) as client:
        assert ok(client.get("/api/v1/me"))["role"] == "admin"
    # Sign-up is closed; the TA gets an account with a link.
    with server.client() as anonymous:
        closed = anonymous.post("/api/v1/users", json={"username": "eve", "password": "x" * 12})
        assert closed.status_code == 403 and "sign-up is closed" in closed.text
    ta_link = server_cli(server, "create-user", "tara", "--role", "organizer")
    use_link(server, ta_link, "ta-chooses-this-1").close()
    ta = token_of(server, "tara", "ta-chooses-this-1")
    hidden = Hidden.make()
    with server.client(ta) as client:
        body = {"slug": SLUG, "title": "ML course", "metric": "accuracy", "visibility": "private"}
        ok(client.post("/api/v1/challenges", json=body), 201)
        ok(client.put(f"/api/v1/challenges/{SLUG}/solution", content=hidden.solution_csv()))
        ok(client.patch(f"/api/v1/challenges/{SLUG}", json={"state": "open"}))
    # The roster, through the CLI.
    roster = tmp_path / "roster.csv"
    lines = ["username,display_name,email,student_id"] + [
        f"s{i:02d},Student {i},s{i:02d}@uni.example,ID{i:04d}" for i in range(STUDENTS)
    ]
    roster.write_text("\n".join(lines) + "\n")
    links_csv = tmp_path / "links.csv"
    podium(server, ta, "admin", "users", "import", str(roster), "-o", str(links_csv), config=config)
    links = {row["username"]: row["url"] for row in csv.DictReader(links_csv.open())}
    assert len(links) == STUDENTS
    podium(server, ta, "admin", "invite", SLUG, *links, config=config)
    # Every student uses the link once; a used link gets a clear page.
    tokens: dict[str, str] = {}
    for name, url in links.items():
        use_link(server, url, f"secret-pass-{name[::-1]}").close()
    for name in ("s00", "s01", "s02"):
        tokens[name] = token_of(server, name, f"secret-pass-{name[::-1]}")
    again = httpx.get(links["s00"], timeout=60)
    assert again.status_code == 404 and "expired or was already used" in again.text
    # Students submit; an uninvited account does not even see the course.
    for name, right in (("s00", 15), ("s01", 10)):
        with server.client(tokens[name]) as client:
            assert upload(client, SLUG, hidden.predictions(right, right)).status_code == 201
    with server.client(admin) as client:
        ok(
            client.post("/api/v1/users", json={"username": "outsider", "password": "out-side-r-1"}),
            201,
        )
    outsider = token_of(server, "outsider", "out-side-r-1")
    with server.client(outsider) as client:
        assert client.get(f"/api/v1/challenges/{SLUG}").status_code == 404
        assert client.get("/api/v1/challenges").json() == []
    # s02 changes the password: the old token gets 401 at once.
    old = tokens["s02"]
    second = token_of(server, "s02", "secret-pass-20s")
    with server.client(second) as client:
        body = {"current_password": "secret-pass-20s", "new_password": NEW_PASSWORD}
        assert ok(client.put("/api/v1/me/password", json=body))["revoked"] >= 1
        assert client.get("/api/v1/me").status_code == 200
    with server.client(old) as client:
        assert client.get("/api/v1/me").status_code == 401
    assert login(server, "s02", "secret-pass-20s").status_code == 401
    # s03 forgot the password: a host (added by the TA) resets it.
    host = server_cli(
        server, "create-user", "hugo", "--role", "organizer", "--password", "host-pass-123"
    )
    podium(server, ta, "admin", "hosts", "add", SLUG, "hugo", config=config)
    reset = podium(server, host, "admin", "users", "reset-link", "s03", config=config)
    use_link(server, reset.strip().splitlines()[-1], "brand-new-pw-three").close()
    assert login(server, "s03", "secret-pass-30s").status_code == 401
    assert token_of(server, "s03", "brand-new-pw-three")
    # s00's team is disqualified: gone from every board, the page and the export.
    podium(
        server, host, "admin", "disqualify", SLUG, "s00", "--reason", "shared labels", config=config
    )
    wait_until_settled(server, ta, SLUG)
    with server.client(ta) as client:
        ok(client.patch(f"/api/v1/challenges/{SLUG}", json={"state": "closed"}))
        ok(client.post(f"/api/v1/challenges/{SLUG}/finalize"))
        export = client.get(f"/api/v1/challenges/{SLUG}/export", params={"board": "private"}).text
        participants = ok(client.get(f"/api/v1/challenges/{SLUG}/participants"))
    assert [r.split(",")[1] for r in export.splitlines()[1:]] == ["s01"]
    assert export.splitlines()[1].endswith(",s01,ID0001")
    s00 = next(p for p in participants if p["username"] == "s00")
    assert s00["status"] == "disqualified" and s00["submissions"] == 1
    with server.client(tokens["s01"]) as client:
        for board in ("public", "private"):
            entries = ok(
                client.get(f"/api/v1/challenges/{SLUG}/leaderboard", params={"board": board})
            )
            assert [e["team"] for e in entries["entries"]] == ["s01"], board
        assert client.get(f"/c/{SLUG}/teams/s00").status_code == 404
    with server.client(tokens["s00"]) as client:
        team = ok(client.get(f"/api/v1/challenges/{SLUG}/team"))
        assert team["disqualified_reason"] == "shared labels"


def test_parallel_accounts_that_differ_in_case(server: LiveServer) -> None:
    admin = server_cli(
        server, "create-user", "root2", "--role", "admin", "--password", "root-pass-123"
    )
    names = ["Quinn", "quinn", "QUINN", "qUinn"]

    def create(name: str) -> int:
        with server.client(admin) as client:
            body = {"username": name, "password": "a-different-pass-1"}
            return client.post("/api/v1/users", json=body).status_code

    with ThreadPoolExecutor(len(names)) as pool:
        statuses = sorted(pool.map(create, names))
    assert statuses == [201, 409, 409, 409], statuses
