"""Running a course: accounts made by organizers, hosts, private challenges, moderation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import PASSWORD, ChallengeFixture, auth, create_challenge, submit

NEW = "a-fresh-password-99"


@pytest.fixture
def browser_client(app):  # type: ignore[no-untyped-def]
    """Clients with cookie jars of their own (several browsers)."""
    clients: list[TestClient] = []

    def _make() -> TestClient:
        client = TestClient(app)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()


@pytest.fixture
def admin_token(make_user: Callable[..., str]) -> str:
    return make_user("ada", "admin")


def _login(api: TestClient, username: str, password: str = PASSWORD) -> str:
    response = api.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _welcome(api: TestClient, path: str, password: str = NEW) -> TestClient:
    """Use a sign-in link as a browser does; returns the signed-in client."""
    page = api.get(path)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    response = api.post(
        path,
        data={"csrf_token": csrf.group(1), "password": password, "confirm": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return api


def test_usernames_are_unique_without_regard_to_case(api: TestClient) -> None:
    first = api.post("/api/v1/users", json={"username": "Quinn", "password": PASSWORD})
    assert first.status_code == 201
    again = api.post("/api/v1/users", json={"username": "qUINN", "password": PASSWORD})
    assert again.status_code == 409 and "taken" in again.json()["detail"]
    assert _login(api, "quinn")  # signs in whatever the case


def test_the_database_refuses_a_second_quinn(data_dir: object) -> None:
    """The unique index itself, without the service's check (parallel sign-ups)."""
    from sqlalchemy.exc import IntegrityError

    from server.db import session_scope
    from server.models import User

    with session_scope() as session:
        session.add(User(username="Quinn", password_hash="", role="participant"))
    with pytest.raises(IntegrityError), session_scope() as session:
        session.add(User(username="quinn", password_hash="", role="participant"))
        session.flush()


def test_roster_import_is_all_or_nothing_and_names_the_bad_lines(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    bad = (
        "username,display_name,email,student_id\n"
        "ann,Ann,ann@ens.fr,1\npaul,P,,2\nANN,A,,3\nbo b,,,4\nzed,,not-an-email,5\n"
    )
    response = api.post("/api/v1/users/import", content=bad, headers=auth(organizer_token))
    assert response.status_code == 422
    detail = response.json()["detail"]
    for expected in ("line 3: username 'paul' exists already", "line 4", "line 5", "line 6"):
        assert expected in detail, detail
    assert api.get("/api/v1/users", headers=auth(organizer_token)).status_code == 403
    assert api.post("/api/v1/tokens", json={"username": "ann", "password": "x"}).status_code == 401
    refused = api.post("/api/v1/users/import", content=bad, headers=auth(participant_token))
    assert refused.status_code == 403
    header = api.post("/api/v1/users/import", content="name\nx\n", headers=auth(organizer_token))
    assert header.status_code == 422 and "username is required" in header.json()["detail"]


def test_a_sign_in_link_works_once_and_signs_in(
    api: TestClient, organizer_token: str, browser_client: Callable[[], TestClient]
) -> None:
    roster = "username,display_name,email,student_id\nann,Ann Lee,ann@ens.fr,S1\nbea,,,\n"
    response = api.post("/api/v1/users/import", content=roster, headers=auth(organizer_token))
    assert response.status_code == 201, response.text
    links = {row["username"]: row for row in response.json()}
    assert links["ann"]["student_id"] == "S1" and links["ann"]["path"].startswith("/welcome/")
    browser = _welcome(browser_client(), links["ann"]["path"])
    account = browser.get("/account")
    assert account.status_code == 200 and "Ann Lee" in account.text and "S1" in account.text
    assert _login(api, "ann", NEW)
    used = browser_client().get(links["ann"]["path"])
    assert used.status_code == 404 and "expired or was already used" in used.text
    # An expired link: a clear page too.
    from server.db import session_scope
    from server.models import ApiToken, utcnow

    with session_scope() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.kind == "welcome", ApiToken.revoked_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = browser_client().get(links["bea"]["path"])
    assert expired.status_code == 404 and "ask an organizer" in expired.text
    # A link is not a credential.
    secret = links["bea"]["path"].rsplit("/", 1)[-1]
    assert api.get("/api/v1/me", headers=auth(secret)).status_code == 401


def test_changing_the_password_revokes_the_other_tokens(
    api: TestClient, participant_token: str
) -> None:
    other = _login(api, "paul")
    body = {"current_password": "wrong-password", "new_password": NEW}
    assert api.put("/api/v1/me/password", json=body, headers=auth(other)).status_code == 403
    body["current_password"] = PASSWORD
    response = api.put("/api/v1/me/password", json=body, headers=auth(other))
    assert response.status_code == 200 and response.json()["revoked"] >= 1
    assert api.get("/api/v1/me", headers=auth(participant_token)).status_code == 401
    assert api.get("/api/v1/me", headers=auth(other)).status_code == 200
    assert _login(api, "paul", NEW)


def test_reset_links_and_disabling(
    api: TestClient,
    organizer_token: str,
    admin_token: str,
    participant_token: str,
    stranger_token: str,
    make_user: Callable[..., str],
) -> None:
    challenge = create_challenge(api, organizer_token)
    api.patch(
        f"/api/v1/challenges/{challenge.slug}",
        json={"state": "open"},
        headers=auth(organizer_token),
    )
    assert (
        submit(api, participant_token, challenge.slug, challenge.predictions())["status_code"]
        == 201
    )
    other_org = make_user("otto", "organizer")
    reset = api.post("/api/v1/users/paul/reset-link", headers=auth(organizer_token))
    assert reset.status_code == 200 and reset.json()["path"].startswith("/welcome/")
    assert api.post("/api/v1/users/paul/reset-link", headers=auth(other_org)).status_code == 403
    assert (
        api.post("/api/v1/users/sam/reset-link", headers=auth(organizer_token)).status_code == 403
    )
    assert api.post("/api/v1/users/olga/reset-link", headers=auth(admin_token)).status_code == 200
    # Disabled: every credential gets 401 at once; the team's submissions stay.
    response = api.patch("/api/v1/users/paul", json={"disabled": True}, headers=auth(admin_token))
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert api.get("/api/v1/me", headers=auth(participant_token)).status_code == 401
    assert (
        api.post("/api/v1/tokens", json={"username": "paul", "password": PASSWORD}).status_code
        == 401
    )
    board = api.get(f"/api/v1/challenges/{challenge.slug}/leaderboard").json()
    assert [e["team"] for e in board["entries"]] == ["paul"]
    assert (
        api.patch(
            "/api/v1/users/paul", json={"disabled": False}, headers=auth(admin_token)
        ).status_code
        == 200
    )
    assert _login(api, "paul")


def test_a_private_challenge_does_not_exist_for_the_uninvited(
    api: TestClient, organizer_token: str, participant_token: str, stranger_token: str
) -> None:
    create_challenge(api, organizer_token, "secret-course", visibility="private")
    api.patch(
        "/api/v1/challenges/secret-course", json={"state": "open"}, headers=auth(organizer_token)
    )
    create_challenge(api, organizer_token, "hidden-link", visibility="unlisted")
    api.patch(
        "/api/v1/challenges/hidden-link", json={"state": "open"}, headers=auth(organizer_token)
    )
    for token in (None, stranger_token):
        headers = auth(token) if token else {}
        for suffix in ("", "/leaderboard", "/files", "/files/train.csv"):
            hidden = api.get(f"/api/v1/challenges/secret-course{suffix}", headers=headers)
            missing = api.get(f"/api/v1/challenges/no-such-course{suffix}", headers=headers)
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text == missing.text.replace("no-such-course", "secret-course")
        listed = [c["slug"] for c in api.get("/api/v1/challenges", headers=headers).json()]
        assert listed == []  # neither the private nor the unlisted one
        assert "secret-course" not in api.get("/", headers=headers).text
        assert api.get("/api/v1/challenges/hidden-link", headers=headers).status_code == 200
    invited = api.post(
        "/api/v1/challenges/secret-course/participants",
        json={"usernames": ["paul"]},
        headers=auth(organizer_token),
    )
    assert invited.status_code == 200 and invited.json()["invited"] == ["paul"]
    listed = [
        c["slug"] for c in api.get("/api/v1/challenges", headers=auth(participant_token)).json()
    ]
    assert listed == ["secret-course"]
    unknown = api.post(
        "/api/v1/challenges/secret-course/participants",
        json={"usernames": ["sam", "nobody"]},
        headers=auth(organizer_token),
    )
    assert unknown.status_code == 422 and "nobody" in unknown.json()["detail"]
    assert (
        api.get("/api/v1/challenges/secret-course", headers=auth(stranger_token)).status_code == 404
    )


def test_invite_link_and_email_domains(
    api: TestClient,
    organizer_token: str,
    admin_token: str,
    participant_token: str,
    stranger_token: str,
) -> None:
    create_challenge(
        api, organizer_token, "ens-only", visibility="private", allowed_email_domains=["ENS.fr"]
    )
    api.patch("/api/v1/challenges/ens-only", json={"state": "open"}, headers=auth(organizer_token))
    api.patch("/api/v1/users/sam", json={"email": "sam@ens.fr"}, headers=auth(admin_token))
    assert api.get("/api/v1/challenges/ens-only", headers=auth(stranger_token)).status_code == 200
    assert (
        api.get("/api/v1/challenges/ens-only", headers=auth(participant_token)).status_code == 404
    )
    link = api.post("/api/v1/challenges/ens-only/invite-link", headers=auth(organizer_token)).json()
    assert link["path"] == f"/c/ens-only/join/{link['code']}"
    rotated = api.post(
        "/api/v1/challenges/ens-only/invite-link",
        params={"rotate": "true"},
        headers=auth(organizer_token),
    ).json()
    stale = api.post(
        "/api/v1/challenges/ens-only/join",
        params={"code": link["code"]},
        headers=auth(participant_token),
    )
    assert stale.status_code == 404
    joined = api.post(
        "/api/v1/challenges/ens-only/join",
        params={"code": rotated["code"]},
        headers=auth(participant_token),
    )
    assert joined.status_code == 200 and joined.json()["members"] == ["paul"]


def test_join_approval_hosts_and_moderation(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    make_user: Callable[..., str],
) -> None:
    challenge: ChallengeFixture = create_challenge(
        api, organizer_token, join_requires_approval=True
    )
    slug = challenge.slug
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "open"}, headers=auth(organizer_token))
    host = make_user("hana", "organizer")
    other = create_challenge(api, organizer_token, "other-course")
    api.patch(
        "/api/v1/challenges/other-course", json={"state": "open"}, headers=auth(organizer_token)
    )
    assert (
        api.post(
            f"/api/v1/challenges/{slug}/hosts",
            json={"username": "hana"},
            headers=auth(organizer_token),
        ).status_code
        == 201
    )
    hosts = api.get(f"/api/v1/challenges/{slug}/hosts", headers=auth(host)).json()
    assert [(h["username"], h["creator"]) for h in hosts] == [("olga", True), ("hana", False)]
    assert api.get(f"/api/v1/challenges/{other.slug}/hosts", headers=auth(host)).status_code == 403
    assert api.post(f"/api/v1/challenges/{slug}/join", headers=auth(host)).status_code == 403
    # A pending participant cannot submit or download.
    pending = api.post(f"/api/v1/challenges/{slug}/join", headers=auth(participant_token))
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    assert submit(api, participant_token, slug, challenge.predictions())["status_code"] == 403
    assert (
        api.get(
            f"/api/v1/challenges/{slug}/files/train.csv", headers=auth(participant_token)
        ).status_code
        == 403
    )
    api.post(f"/api/v1/challenges/{slug}/join", headers=auth(stranger_token))
    waiting = api.get(
        f"/api/v1/challenges/{slug}/participants", params={"status": "pending"}, headers=auth(host)
    )
    assert [p["username"] for p in waiting.json()] == ["paul", "sam"]
    assert (
        api.post(f"/api/v1/challenges/{slug}/participants/paul/approve", headers=auth(host)).json()[
            "status"
        ]
        == "active"
    )
    assert (
        api.post(f"/api/v1/challenges/{slug}/participants/sam/reject", headers=auth(host)).json()[
            "status"
        ]
        == "rejected"
    )
    assert (
        api.post(f"/api/v1/challenges/{slug}/join", headers=auth(stranger_token)).status_code == 403
    )
    assert submit(api, participant_token, slug, challenge.predictions())["status_code"] == 201
    assert (
        api.get(
            f"/api/v1/challenges/{slug}/files/train.csv", headers=auth(participant_token)
        ).status_code
        == 200
    )
    # Disqualified: gone from the boards and the export's ranking; the team sees why.
    reason = {"reason": "labels copied from the internet"}
    assert (
        api.post(
            f"/api/v1/challenges/{slug}/teams/paul/disqualify", json=reason, headers=auth(host)
        ).status_code
        == 200
    )
    assert api.get(f"/api/v1/challenges/{slug}/leaderboard").json()["entries"] == []
    assert (
        api.get(
            f"/api/v1/challenges/{slug}/leaderboard",
            params={"board": "private"},
            headers=auth(host),
        ).json()["entries"]
        == []
    )
    export = api.get(f"/api/v1/challenges/{slug}/export", headers=auth(host)).text
    assert export.splitlines()[1:] == []
    team = api.get(f"/api/v1/challenges/{slug}/team", headers=auth(participant_token)).json()
    assert team["disqualified"] and team["disqualified_reason"] == reason["reason"]
    assert api.get(f"/c/{slug}/teams/paul").status_code == 404
    rows = api.get(f"/api/v1/challenges/{slug}/participants", headers=auth(host)).json()
    paul = next(r for r in rows if r["username"] == "paul")
    assert paul["status"] == "disqualified" and paul["submissions"] == 1
    assert submit(api, participant_token, slug, challenge.predictions())["status_code"] == 403
    assert (
        api.post(f"/api/v1/challenges/{slug}/teams/paul/reinstate", headers=auth(host)).status_code
        == 200
    )
    export = api.get(f"/api/v1/challenges/{slug}/export", headers=auth(host)).text
    assert export.splitlines()[1].startswith("1,paul,1.0,1,") and export.splitlines()[1].endswith(
        ",paul,"
    )
