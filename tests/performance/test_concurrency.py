"""More concurrent requests than the server has threads: no deadlock, no 5xx.

Every request used to take SQLite's write lock at authentication (recording the
token's last use) and keep it across the route's thread hops; with more
concurrent submitters than worker threads (40), the waiters held every thread and
the holder never got one back until the 30 s timeouts turned into 500s.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, submit

CONCURRENT_TEAMS = 60  # more than anyio's 40 worker threads


def participants(count: int) -> list[str]:
    """Tokens of new participants (one password hash for all: argon2 is slow on purpose)."""
    from server.accounts.security import hash_password, hash_token, new_token
    from server.db import session_scope
    from server.models import ApiToken, User

    password_hash = hash_password("a-long-test-password")
    tokens = [new_token() for _ in range(count)]
    with session_scope() as session:
        for i, token in enumerate(tokens):
            user = User(username=f"team{i:02d}", password_hash=password_hash)
            session.add(ApiToken(user=user, token_hash=hash_token(token), prefix=token[:10]))
    return tokens


def test_first_submissions_of_more_teams_than_threads_all_score(
    api: TestClient, open_challenge: ChallengeFixture
) -> None:
    tokens = participants(CONCURRENT_TEAMS)
    content = open_challenge.predictions()
    with ThreadPoolExecutor(max_workers=CONCURRENT_TEAMS) as pool:
        results = list(pool.map(lambda t: submit(api, t, open_challenge.slug, content), tokens))
    assert sorted({r["status_code"] for r in results}) == [201]
    assert {r["status"] for r in results} == {"scored"}
    board = api.get(f"/api/v1/challenges/{open_challenge.slug}/leaderboard").json()
    assert len(board["entries"]) == CONCURRENT_TEAMS
