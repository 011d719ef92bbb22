"""Defect 10: failing on purpose must not lock the owner of an account out.

Failed logins are throttled per (username, address): the address that fails
is refused, even with the right password, while the owner signs in from
another address. A ceiling per username over all addresses bounds guessing
from many addresses: past it, only an address that has not failed for that
username in the window gets its password checked (once).
Runs on SQLite, and on PostgreSQL with ``PODIUM_TEST_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import get_settings
from tests.conftest import PASSWORD

MAX_FAILURES = 3
CEILING = 6


@pytest.fixture
def throttled_app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("PODIUM_LOGIN_MAX_FAILURES", str(MAX_FAILURES))
    monkeypatch.setenv("PODIUM_LOGIN_USERNAME_CEILING", str(CEILING))
    get_settings.cache_clear()
    from server.app import create_app

    return create_app(recover_jobs=False)


@pytest.fixture
def from_address(throttled_app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def client(address: str) -> TestClient:
        new = TestClient(throttled_app, client=(address, 40000))
        clients.append(new.__enter__())
        return new

    yield client
    for opened in clients:
        opened.__exit__(None, None, None)


def _login(client: TestClient, password: str, username: str = "student") -> int:
    body = {"username": username, "password": password}
    return client.post("/api/v1/tokens", json=body).status_code


def test_a_failing_address_cannot_lock_the_owner_out(
    from_address: Callable[[str], TestClient], make_user: Callable[..., str]
) -> None:
    make_user("student")
    attacker = from_address("203.0.113.66")
    statuses = [_login(attacker, f"guess-{i}-wrong") for i in range(MAX_FAILURES + 5)]
    assert statuses == [401] * MAX_FAILURES + [429] * 5, statuses
    # The failing address stays refused, even with the right password (no oracle) ...
    assert _login(attacker, PASSWORD) == 429
    # ... while the owner, elsewhere, signs in; case does not open another counter.
    assert _login(from_address("198.51.100.7"), PASSWORD) == 201
    assert _login(attacker, "guess-x-wrong", username="STUDENT") == 429


def test_guessing_from_many_addresses_stops_at_the_per_username_ceiling(
    from_address: Callable[[str], TestClient], make_user: Callable[..., str]
) -> None:
    make_user("student")
    checked = 0
    for index in range(CEILING // MAX_FAILURES):
        bot = from_address(f"203.0.113.{index + 1}")
        for guess in range(MAX_FAILURES + 1):
            status = _login(bot, f"bot-{index}-{guess}-wrong")
            assert status in (401, 429)
            checked += status == 401
    assert checked == CEILING
    # Past the ceiling a fresh address gets one check, then it is failing too.
    late = from_address("203.0.113.200")
    assert _login(late, "late-guess-wrong") == 401
    assert _login(late, "late-guess-2-wrong") == 429
    assert _login(late, PASSWORD) == 429
    # The owner, from an address that has not failed, still gets in.
    assert _login(from_address("198.51.100.7"), PASSWORD) == 201


def test_the_owner_signs_in_from_the_attackers_network_after_another_user_fails(
    from_address: Callable[[str], TestClient], make_user: Callable[..., str]
) -> None:
    """A classroom shares one address: one student's failures lock only that username."""
    make_user("student")
    make_user("classmate")
    lab = from_address("192.0.2.10")
    for index in range(MAX_FAILURES + 2):
        assert _login(lab, f"wrong-{index}-pass", username="classmate") in (401, 429)
    assert _login(lab, PASSWORD, username="student") == 201
