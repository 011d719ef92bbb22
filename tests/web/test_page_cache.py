"""The anonymous challenge page from memory: no database query, nobody's parts in it.

Counts the SQL statements one page view sends (an engine event listener): 0 for a
cached anonymous view. The cached page follows a new score and a changed
challenge at once in this process, and signed-in viewers never get it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from server.config import get_settings
from server.db import get_engine
from server.insight.service import wait_idle
from tests.conftest import ChallengeFixture, auth, create_challenge
from tests.conftest import submit as submit_now
from tests.web.conftest import CSRF_META, sign_in


@pytest.fixture
def long_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Long enough that only this process's own commits can change the page here.
    monkeypatch.setenv("PODIUM_LEADERBOARD_CACHE_SECONDS", "600")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def submit(api: TestClient, token: str, slug: str, content: bytes) -> None:
    submit_now(api, token, slug, content)
    assert wait_idle(30), "insight work did not finish"  # its bootstrap bumps the board


def view(client: TestClient, url: str) -> tuple[int, str, int]:
    """Status, HTML and the number of SQL statements the view sent."""
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return response.status_code, response.text, statements


def test_cached_anonymous_view_sends_no_query_and_follows_scores_and_edits(
    long_cache: None,
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    slug, url = open_challenge.slug, f"/c/{open_challenge.slug}"
    submit(api, participant_token, slug, open_challenge.predictions())
    anonymous = browser_client()

    status, first, queries = view(anonymous, url)
    assert status == 200 and "paul" in first and queries > 0
    status, cached, queries = view(anonymous, url)
    assert (status, cached, queries) == (200, first, 0)
    # Nobody's parts: no CSRF token, no team, no sign-out form, no cookie set.
    assert CSRF_META.search(cached) is None and "Your team" not in cached
    assert "Sign out" not in cached and "podium_csrf" not in anonymous.cookies

    # Signed in: the page of that viewer, from the database as before.
    paul = browser_client()
    sign_in(paul, "paul")
    status, own, queries = view(paul, url)
    assert status == 200 and "Your team" in own and queries > 0
    assert CSRF_META.search(own) is not None
    assert view(anonymous, url) == (200, first, 0)

    # A new score lands: the next anonymous view shows it, then is cached again.
    submit(api, stranger_token, slug, open_challenge.predictions(wrong={0, 1, 2}))
    status, scored, queries = view(anonymous, url)
    assert status == 200 and "sam" in scored and queries > 0
    assert view(anonymous, url) == (200, scored, 0)

    # The challenge changes: at once too.
    response = api.patch(
        f"/api/v1/challenges/{slug}",
        json={"title": "Digits, renamed"},
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    status, renamed, _ = view(anonymous, url)
    assert status == 200 and "Digits, renamed" in renamed
    assert view(anonymous, url) == (200, renamed, 0)


def test_pages_nobody_anonymous_may_see_are_never_served_from_memory(
    long_cache: None,
    api: TestClient,
    organizer_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    draft = create_challenge(api, organizer_token, slug="draft-page")
    organizer = browser_client()
    sign_in(organizer, "olga")
    assert organizer.get(f"/c/{draft.slug}").status_code == 200
    anonymous = browser_client()
    for _ in range(2):
        assert anonymous.get(f"/c/{draft.slug}").status_code == 404


def test_cached_page_is_sent_gzipped_or_plain_and_stale_cookies_take_the_route(
    long_cache: None,
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    slug, url = open_challenge.slug, f"/c/{open_challenge.slug}"
    submit(api, participant_token, slug, open_challenge.predictions())
    anonymous = browser_client()
    assert anonymous.get(url).status_code == 200  # rendered and kept

    zipped = anonymous.get(url, headers={"Accept-Encoding": "gzip"})
    plain = anonymous.get(url, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.text == plain.text and "paul" in plain.text
    for response in (zipped, plain):
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"  # the security headers too

    # A query the route refuses is refused, page in memory or not.
    assert anonymous.get(f"{url}?board=other").status_code == 422
    # A session cookie (here a stale one) goes through the route, which checks it.
    anonymous.cookies.set("podium_session", "not-a-session")
    status, html, queries = view(anonymous, url)
    assert status == 200 and queries > 0 and "Your team" not in html and "paul" in html
