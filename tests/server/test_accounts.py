"""Accounts and tokens: registration, login, rate limiting, revocation, nothing in clear."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import get_settings
from server.db import session_scope
from server.models import ApiToken, LoginFailure, User
from tests.conftest import PASSWORD, auth


def register(api: TestClient, username: str, password: str = PASSWORD) -> object:
    return api.post("/api/v1/users", json={"username": username, "password": password})


def login(api: TestClient, username: str, password: str = PASSWORD) -> object:
    return api.post("/api/v1/tokens", json={"username": username, "password": password})


def test_register_login_me_and_revoke(api: TestClient) -> None:
    created = register(api, "ada")
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "participant"
    token_response = login(api, "ada")
    assert token_response.status_code == 201
    token = token_response.json()["token"]
    me = api.get("/api/v1/me", headers=auth(token))
    assert me.status_code == 200 and me.json()["username"] == "ada"
    tokens = api.get("/api/v1/tokens", headers=auth(token)).json()
    assert [t["id"] for t in tokens] == [token_response.json()["id"]]
    assert "token" not in tokens[0]
    revoked = api.delete(f"/api/v1/tokens/{token_response.json()['id']}", headers=auth(token))
    assert revoked.status_code == 204
    after = api.get("/api/v1/me", headers=auth(token))
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_passwords_and_tokens_are_never_stored_in_clear(api: TestClient) -> None:
    register(api, "bob", "another secret pass")
    token = login(api, "bob", "another secret pass").json()["token"]
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == "bob"))
        assert user is not None
        assert "another secret pass" not in user.password_hash
        assert user.password_hash.startswith("$argon2")
        stored = session.scalars(select(ApiToken)).all()
        assert stored and all(token not in (t.token_hash + t.prefix) for t in stored)
        assert all(len(t.token_hash) == 64 for t in stored)


def test_duplicate_username_is_409_case_insensitively(api: TestClient) -> None:
    assert register(api, "carol").status_code == 201
    again = register(api, "Carol")
    assert again.status_code == 409
    assert "taken" in again.json()["detail"]
    with session_scope() as session:
        assert len(session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("", "at least 8"),
        ("short", "at least 8"),
        ("aaaaaaaaaa", "4 different"),
        ("xdanielx123", "username"),
    ],
)
def test_weak_password_is_422_naming_the_rule(api: TestClient, password: str, rule: str) -> None:
    response = register(api, "daniel", password)
    assert response.status_code == 422
    assert rule in response.json()["detail"]
    with session_scope() as session:
        assert session.scalars(select(User)).all() == []


def test_bad_username_is_422(api: TestClient) -> None:
    response = register(api, "../etc/passwd")
    assert response.status_code == 422
    assert "username" in response.json()["detail"]


def test_bad_token_is_401_and_missing_token_is_401(api: TestClient) -> None:
    assert api.get("/api/v1/me", headers=auth("pod_nonsense")).status_code == 401
    assert api.get("/api/v1/me", headers=auth("garbage")).status_code == 401
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403(api: TestClient, participant_token: str) -> None:
    response = api.post(
        "/api/v1/challenges",
        json={"slug": "x1", "title": "X", "metric": "accuracy"},
        headers=auth(participant_token),
    )
    assert response.status_code == 403
    assert "organizer" in response.json()["detail"]


def test_signup_closed_is_403(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_ALLOW_SIGNUP", "false")
    get_settings.cache_clear()
    response = register(api, "eve")
    assert response.status_code == 403
    assert "sign-up is closed" in response.json()["detail"]


def test_login_failures_are_rate_limited(api: TestClient, make_user: Callable[..., str]) -> None:
    make_user("frank")
    limit = get_settings().login_max_failures
    for _ in range(limit):
        assert login(api, "frank", "wrong password!").status_code == 401
    blocked = login(api, "frank", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    # Another username from the same address is still allowed (classrooms share an address).
    make_user("grace")
    assert login(api, "grace").status_code == 201
    with session_scope() as session:
        assert len(session.scalars(select(LoginFailure)).all()) == limit


def test_unknown_user_login_is_401_without_saying_which(api: TestClient) -> None:
    register(api, "heidi")
    unknown = login(api, "nobody")
    wrong = login(api, "heidi", "wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


def test_oversized_json_body_is_413(api: TestClient) -> None:
    response = api.post(
        "/api/v1/users",
        content=b'{"username": "x", "password": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_health_reports_the_database(api: TestClient) -> None:
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_production_refuses_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from server.config import Settings

    monkeypatch.setenv("PODIUM_ENV", "production")
    monkeypatch.delenv("PODIUM_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="PODIUM_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("PODIUM_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PODIUM_WORKER_TOKEN", "w" * 40)
    assert Settings().env == "production"
