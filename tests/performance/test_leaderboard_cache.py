"""The leaderboard's fast path: cached JSON with ETag and gzip, never past the checks.

Boards are served from the process's memory; these tests pin down that the memory
path answers exactly what the checked path would: fresh after this process's own
commits, no drafts or private boards for those who may not see them, 401 for a bad
token, and, across processes, a bound on staleness (``leaderboard_cache_seconds``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from server.config import get_settings
from tests.conftest import ChallengeFixture, auth, create_challenge
from tests.conftest import submit as submit_now


def submit(api: TestClient, token: str, slug: str, content: bytes) -> dict[str, object]:
    """Submit, then wait for the insight thread, whose bootstrap bumps the board again."""
    from server.insight.service import wait_idle

    result = submit_now(api, token, slug, content)
    assert wait_idle(30), "insight work did not finish"
    return result


def board_url(slug: str, kind: str = "public") -> str:
    return f"/api/v1/challenges/{slug}/leaderboard?board={kind}"


@pytest.fixture
def cache_seconds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    def set_seconds(seconds: float) -> None:
        monkeypatch.setenv("PODIUM_LEADERBOARD_CACHE_SECONDS", str(seconds))
        get_settings.cache_clear()

    yield set_seconds
    get_settings.cache_clear()


def another_process_scores(slug: str, team_name: str, score: float) -> None:
    """What another server process would commit: a scored submission and a bump."""
    from sqlalchemy import select

    from server.db import session_scope
    from server.models import Challenge, Submission, Team

    with session_scope() as session:
        challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
        assert challenge is not None
        team = session.scalar(
            select(Team).where(Team.challenge_id == challenge.id, Team.name == team_name)
        )
        assert team is not None
        now = datetime.now(UTC)
        session.add(
            Submission(
                challenge_id=challenge.id,
                team_id=team.id,
                file_sha256="0" * 64,
                status="scored",
                public_score=score,
                private_score=score,
                created_at=now,
                scored_at=now,
            )
        )
        # Through SQL, not bump_board: this process must not hear about it.
        session.execute(
            update(Challenge)
            .where(Challenge.id == challenge.id)
            .values(board_version=Challenge.board_version + 1)
        )


def test_etag_gives_304_until_the_board_changes(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    slug = open_challenge.slug
    submit(api, participant_token, slug, open_challenge.predictions(wrong={0, 3, 6}))
    first = api.get(board_url(slug))
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = api.get(board_url(slug), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    submit(api, participant_token, slug, open_challenge.predictions())
    changed = api.get(board_url(slug), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["entries"][0]["score"] == 1.0


def test_gzip_and_identity_bodies_are_the_same_board(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    slug = open_challenge.slug
    submit(api, participant_token, slug, open_challenge.predictions())

    def fetch(accept_encoding: str) -> tuple[httpx.Headers, bytes]:
        headers = {"Accept-Encoding": accept_encoding}
        with api.stream("GET", board_url(slug), headers=headers) as response:
            return response.headers, b"".join(response.iter_raw())

    zipped_headers, zipped = fetch("gzip")
    plain_headers, plain = fetch("identity")
    refused_headers, refused = fetch("gzip;q=0, identity")
    assert zipped_headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain_headers and "content-encoding" not in refused_headers
    assert "Accept-Encoding" in zipped_headers["vary"]
    assert gzip.decompress(zipped) == plain == refused
    assert json.loads(plain)["entries"][0]["team"] == "paul"


def test_memory_path_keeps_drafts_private_boards_and_bad_tokens_out(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    draft = create_challenge(api, organizer_token, slug="draft-board")
    # The organizer's requests put both boards of the draft in this process's cache.
    assert api.get(board_url(draft.slug), headers=auth(organizer_token)).status_code == 200
    assert (
        api.get(board_url(draft.slug, "private"), headers=auth(organizer_token)).status_code == 200
    )
    assert api.get(board_url(draft.slug)).status_code == 404
    assert api.get(board_url(draft.slug), headers=auth(participant_token)).status_code == 404
    api.patch(
        f"/api/v1/challenges/{draft.slug}", json={"state": "open"}, headers=auth(organizer_token)
    )
    assert api.get(board_url(draft.slug)).status_code == 200
    assert api.get(board_url(draft.slug, "private")).status_code == 403
    assert (
        api.get(board_url(draft.slug, "private"), headers=auth(participant_token)).status_code
        == 403
    )
    bad = api.get(board_url(draft.slug), headers=auth("pod_not-a-real-token"))
    assert bad.status_code == 401
    assert api.get(board_url("no-such-challenge")).status_code == 404


def test_own_commits_show_at_once_even_with_a_long_cache(
    api: TestClient,
    open_challenge: ChallengeFixture,
    make_user: Callable[..., str],
    cache_seconds: Callable[[float], None],
) -> None:
    cache_seconds(3600)
    slug = open_challenge.slug
    alice, bob = make_user("alice"), make_user("bob")
    submit(api, alice, slug, open_challenge.predictions(wrong={0, 3}))
    assert [e["team"] for e in api.get(board_url(slug)).json()["entries"]] == ["alice"]
    submit(api, bob, slug, open_challenge.predictions())
    assert [e["team"] for e in api.get(board_url(slug)).json()["entries"]] == ["bob", "alice"]


def test_other_processes_commits_show_within_the_cache_time(
    api: TestClient,
    open_challenge: ChallengeFixture,
    make_user: Callable[..., str],
    cache_seconds: Callable[[float], None],
) -> None:
    slug = open_challenge.slug
    alice, bob = make_user("alice"), make_user("bob")
    submit(api, alice, slug, open_challenge.predictions())
    submit(api, bob, slug, open_challenge.predictions(wrong={0, 3}))
    cache_seconds(3600)  # this process trusts what it read: the other process's score waits
    assert api.get(board_url(slug)).json()["entries"][0]["team"] == "alice"
    another_process_scores(slug, "bob", 2.0)
    assert api.get(board_url(slug)).json()["entries"][0]["team"] == "alice"
    cache_seconds(0)  # 0: the version is read on every request
    assert api.get(board_url(slug)).json()["entries"][0]["team"] == "bob"
