"""The anonymous challenge page from memory: no database query, nobody's parts in it.

Counts the SQL statements one page view sends (an engine event listener): 0 for a
cached anonymous view; for a signed-in view, the viewer's own (a bound that does not
grow with the board), with their parts spliced into the page they share. The cached
page follows a new score and a changed challenge at once in this process, and
signed-in viewers never get the anonymous one.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from server.challenges import access
from server.config import get_settings
from server.db import get_engine, get_sessionmaker
from server.insight.service import wait_idle
from server.models import Challenge, ChallengeAccess, User, utcnow
from server.teams import service as teams
from server.web import pagecache, splice
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


# The server's own background threads (webhook sends, insight work, scoring pool, lease
# sweeper and heartbeats, blob GC) share the engine; what they send while a view is
# served is not the view's.
BACKGROUND_THREADS = ("podium-", "lease-", "blob-gc")


def _from_a_view() -> bool:
    return not threading.current_thread().name.startswith(BACKGROUND_THREADS)


def view(client: TestClient, url: str) -> tuple[int, str, int]:
    """Status, HTML and the number of SQL statements the view sent."""
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += _from_a_view()

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
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    draft = create_challenge(api, organizer_token, slug="draft-page")
    organizer = browser_client()
    sign_in(organizer, "olga")
    assert organizer.get(f"/c/{draft.slug}").status_code == 200
    anonymous = browser_client()
    for _ in range(2):
        assert anonymous.get(f"/c/{draft.slug}").status_code == 404
    # Signed in, but not allowed: the page the organizer's views keep is not served.
    sam = browser_client()
    sign_in(sam, "sam")
    for _ in range(2):
        response = sam.get(f"/c/{draft.slug}")
        assert response.status_code == 404 and "Not found" in response.text


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


def statements_of(client: TestClient, url: str, **headers: str) -> tuple[str, list[str]]:
    """The HTML and the SQL statements one page view sent."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if _from_a_view():
            sent.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.text
    return response.text, sent


# Token and user, challenge, the viewer's team, host row and access request (3 today),
# whatever the board's size.
SIGNED_IN_STATEMENTS = 8
BOARD_READ = re.compile(r"\b(from|join)\s+submission\b|count\(", re.IGNORECASE)


def test_signed_in_view_reads_only_the_viewer_and_splices_them_into_the_cached_page(
    long_cache: None,
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    slug, url = open_challenge.slug, f"/c/{open_challenge.slug}"
    submit(api, participant_token, slug, open_challenge.predictions())
    paul = browser_client()
    csrf = sign_in(paul, "paul")
    first, _ = statements_of(paul, url)  # renders the page signed-in viewers share
    html, sent = statements_of(paul, url)
    assert html == first
    # Only the viewer: no statement reads the board's submissions or counts anything.
    assert len(sent) <= SIGNED_IN_STATEMENTS, sent
    assert not any(BOARD_READ.search(statement) for statement in sent), sent
    # The viewer's parts, spliced where a full rendering puts them, and no marker left.
    assert CSRF_META.search(html).group(1) == csrf  # type: ignore[union-attr]
    assert 'class="who"' in html and ">paul<" in html and "Sign out" in html
    assert f'Your team: <a href="/c/{slug}/teams/paul"><strong>paul</strong></a>' in html
    assert "Submit and see your submissions" in html
    assert f"/api/v1/challenges/{slug}/files/" not in html or "download" in html
    assert "<!--" not in html
    zipped = paul.get(url, headers={"Accept-Encoding": "gzip"})
    plain = paul.get(url, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"  # decoded, CRC checked by httpx
    assert "content-encoding" not in plain.headers
    assert zipped.text == plain.text == html
    assert plain.headers["cache-control"] == "no-store"

    # Another viewer gets their own parts from the same cached page, same statements.
    sam = browser_client()
    sam_csrf = sign_in(sam, "sam")
    statements_of(sam, url)
    theirs, sam_sent = statements_of(sam, url)
    assert CSRF_META.search(theirs).group(1) == sam_csrf  # type: ignore[union-attr]
    assert ">sam<" in theirs and "Your team" not in theirs and "Join the challenge" in theirs
    assert ">paul<" in theirs  # on the board, not in the navigation
    assert 'class="who" href="/account" title="Your account">sam<' in theirs
    assert len(sam_sent) <= SIGNED_IN_STATEMENTS, sam_sent  # and their access request
    assert not any(BOARD_READ.search(statement) for statement in sam_sent), sam_sent

    # A bigger board: the same statements per view (nothing grows with the board).
    submit(api, stranger_token, slug, open_challenge.predictions(wrong={0, 1, 2}))
    statements_of(paul, url)  # the new version renders once
    bigger, more = statements_of(paul, url)
    assert "sam" in bigger and len(more) == len(sent)


def test_splicing_keeps_the_html_and_a_valid_gzip() -> None:
    marks = pagecache.SLOTS
    page = f"<p>{'row ' * 5000}</p>{marks['csrf']}<b>{'x' * 70000}</b>{marks['nav']}tail"
    shell = pagecache._cut(page, 0.0)
    assert shell.slots == ["csrf", "nav"]
    own = [b"token", "é".encode() * 40000]  # one over a stored block's 65,535 bytes
    expected = page.replace(marks["csrf"], "token").replace(marks["nav"], "é" * 40000)
    assert splice.joined(shell.parts, own).decode() == expected
    assert gzip.decompress(splice.gzipped(shell.parts, own)).decode() == expected
    assert gzip.decompress(splice.gzipped(shell.parts, [b"", b""])) == (
        page.replace(marks["csrf"], "").replace(marks["nav"], "").encode()
    )


def test_page_standing_answers_as_team_of_and_standing(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
) -> None:
    submit(api, participant_token, open_challenge.slug, open_challenge.predictions())

    def both(session: Session, username: str) -> tuple[dict[str, object], dict[str, object]]:
        user = session.scalar(select(User).where(User.username == username))
        challenge = session.scalar(select(Challenge).where(Challenge.slug == open_challenge.slug))
        assert user is not None and challenge is not None
        team = teams.team_of(session, challenge, user)
        expected = {
            "my_team": team.name if team else None,
            **access.standing(session, user, challenge, team),
        }
        return access.page_standing(session, user, challenge), expected

    with get_sessionmaker()() as session:
        for name in ("paul", "sam", "olga"):
            one, several = both(session, name)
            assert one == several, name
        # A disqualified team, a pending request to join.
        challenge = session.scalar(select(Challenge).where(Challenge.slug == open_challenge.slug))
        paul = session.scalar(select(User).where(User.username == "paul"))
        sam = session.scalar(select(User).where(User.username == "sam"))
        assert challenge is not None and paul is not None and sam is not None
        team = teams.team_of(session, challenge, paul)
        assert team is not None
        team.disqualified_at, team.disqualified_reason = utcnow(), "shared files"
        session.add(ChallengeAccess(challenge_id=challenge.id, user_id=sam.id, status="pending"))
        session.flush()
        for name, key, value in (
            ("paul", "my_team_disqualified", "shared files"),
            ("sam", "join_status", "pending"),
        ):
            one, several = both(session, name)
            assert one == several and one[key] == value, name
        session.rollback()
