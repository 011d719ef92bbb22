"""Pages and sessions: escaping, CSP-compatible markup, CSRF, cookies, offline /docs."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import PASSWORD, ChallengeFixture, auth, submit
from tests.web.conftest import CSRF_FIELD, csrf_in, sign_in

HOSTILE_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class MarkupAudit(HTMLParser):
    """Collects what the CSP (script-src 'self', style-src 'self') would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script":
            attributes = dict(attrs)
            self.scripts.append(attributes)
            if "src" not in names and attributes.get("type") != "application/json":
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("inline <style>")
        if "style" in names:
            self.problems.append(f"style= on <{tag}>")
        self.problems += [f"{n}= on <{tag}>" for n in names if n.startswith("on")]
        for name, value in attrs:
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL on <{tag}>")


def audit(html: str) -> MarkupAudit:
    parser = MarkupAudit()
    parser.feed(html)
    return parser


def test_every_page_is_csp_compatible(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    submit(api, participant_token, "digits", open_challenge.predictions())
    anonymous = ["/", "/c/digits", "/c/digits/teams/paul", "/login", "/signup", "/c/nope", "/docs"]
    for path in anonymous:
        assert audit(api.get(path).text).problems == [], path
    sign_in(api, "paul")
    for path in ["/", "/c/digits", "/c/digits/teams/paul", "/c/digits/submissions"]:
        response = api.get(path)
        assert response.status_code == 200
        assert audit(response.text).problems == [], path


def test_pages_carry_security_headers(api: TestClient, open_challenge: ChallengeFixture) -> None:
    for path in ["/", "/c/digits", "/login", "/docs", "/c/nope"]:
        headers = api.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    assert api.get("/c/digits").headers["cache-control"] == "no-store"


def test_team_name_and_message_are_escaped(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    api.post("/api/v1/challenges/digits/join", headers=auth(participant_token))
    renamed = api.patch(
        "/api/v1/challenges/digits/team",
        json={"name": HOSTILE_NAME},
        headers=auth(participant_token),
    )
    assert renamed.status_code == 200, renamed.text
    submit(api, participant_token, "digits", open_challenge.predictions(), message=HOSTILE_NAME)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    board = api.get("/c/digits").text
    assert HOSTILE_NAME not in board
    assert escaped in board
    assert audit(board).problems == []
    team_url = "/c/digits/teams/" + quote(HOSTILE_NAME, safe="")
    assert "<" not in team_url and "/" not in team_url.removeprefix("/c/digits/teams/")
    assert f'href="{team_url}"' in board
    team_page = api.get(team_url)
    assert team_page.status_code == 200
    assert HOSTILE_NAME not in team_page.text and escaped in team_page.text
    assert audit(team_page.text).problems == []
    sign_in(api, "paul")
    mine = api.get("/c/digits/submissions").text
    assert HOSTILE_NAME not in mine and escaped in mine


def test_description_markdown_is_sanitized(
    api: TestClient, organizer_token: str, open_challenge: ChallengeFixture
) -> None:
    description = (
        "# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [ok](https://example.org)\n"
    )
    response = api.patch(
        "/api/v1/challenges/digits",
        json={"description": description},
        headers=auth(organizer_token),
    )
    assert response.status_code == 200
    page = api.get("/c/digits").text
    assert "<h1>Title</h1>" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'href="javascript' not in page
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in page
    assert audit(page).problems == []


def test_forms_without_a_valid_csrf_token_are_refused(
    api: TestClient,
    participant_token: str,
    open_challenge: ChallengeFixture,
    browser_client: Callable[[], TestClient],
) -> None:
    csrf = sign_in(api, "paul")
    body = {"file": ("p.csv", io.BytesIO(open_challenge.predictions()), "text/csv")}
    for token in ("", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
        refused = api.post(
            "/c/digits/submissions", data={"csrf_token": token}, files=body, follow_redirects=False
        )
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    # A token from someone else's session does not work either.
    other = browser_client()
    make_token = sign_in(other, "paul")
    assert make_token != csrf
    refused = api.post("/c/digits/submissions", data={"csrf_token": make_token}, files=body)
    assert refused.status_code == 403
    assert (
        api.get("/api/v1/challenges/digits/submissions", headers=auth(participant_token)).json()
        == []
    )
    for path in ("/c/digits/selection", "/c/digits/join", "/logout"):
        assert api.post(path, data={}, follow_redirects=False).status_code == 403, path
    # Still signed in: the refused logout did nothing.
    assert api.get("/api/v1/me").json()["username"] == "paul"


def test_login_form_needs_its_csrf_nonce(
    api: TestClient, participant_token: str, browser_client: Callable[[], TestClient]
) -> None:
    token = CSRF_FIELD.search(api.get("/login").text).group(1)  # type: ignore[union-attr]
    fresh = browser_client()  # no nonce cookie: a cross-site form post
    refused = fresh.post(
        "/login", data={"username": "paul", "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403
    assert "podium_session" not in refused.cookies


def test_cookie_authenticated_api_writes_need_the_csrf_header(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    csrf = sign_in(api, "paul")
    assert api.get("/api/v1/me").json()["username"] == "paul"  # reads: cookie is enough
    files = {"file": ("p.csv", io.BytesIO(open_challenge.predictions()), "text/csv")}
    refused = api.post("/api/v1/challenges/digits/submissions", files=files)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = api.post("/api/v1/challenges/digits/join", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    files = {"file": ("p.csv", io.BytesIO(open_challenge.predictions()), "text/csv")}
    accepted = api.post(
        "/api/v1/challenges/digits/submissions", files=files, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 201, accepted.text
    # Bearer tokens are unaffected (no ambient authority to abuse).
    bearer = api.post("/api/v1/challenges/digits/join", headers=auth(participant_token))
    assert bearer.status_code == 200


def test_session_cookie_flags_and_lifetime(
    api: TestClient,
    participant_token: str,
    app,  # type: ignore[no-untyped-def]
) -> None:
    sign_in(api, "paul")
    with TestClient(app, base_url="https://testserver") as secure:
        form = secure.get("/login")
        token = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
        response = secure.post(
            "/login",
            data={"username": "paul", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("podium_session=pod_")
    for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/", "Max-Age=604800"):
        assert flag in cookie
    plain = api.post(
        "/login",
        data={
            "username": "paul",
            "password": PASSWORD,
            "csrf_token": csrf_in(api.get("/login").text),
        },
        follow_redirects=False,
    )
    assert "Secure" not in plain.headers["set-cookie"]
    # Browser sessions are not listed among the user's API tokens.
    assert api.get("/api/v1/tokens", headers=auth(participant_token)).json()[0]["name"] == ""


def test_logout_revokes_the_session(api: TestClient, participant_token: str) -> None:
    csrf = sign_in(api, "paul")
    secret = api.cookies["podium_session"]
    response = api.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert api.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me", cookies={"podium_session": secret}).status_code == 401
    assert "Sign in" in api.get("/").text


def test_expired_session_is_anonymous(api: TestClient, participant_token: str) -> None:
    from server.db import session_scope
    from server.models import ApiToken, utcnow

    sign_in(api, "paul")
    with session_scope() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.kind == "session")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert "Sign out" not in api.get("/").text
    assert api.get("/c/nope/submissions", follow_redirects=False).status_code == 303


def test_wrong_password_and_open_redirects(api: TestClient, participant_token: str) -> None:
    token = csrf_in(api.get("/login").text)
    wrong = api.post("/login", data={"username": "paul", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert "wrong username or password" in wrong.text
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil"):
        token = csrf_in(api.get("/login").text)  # signing in changes the token
        response = api.post(
            "/login",
            data={"username": "paul", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/", target
    token = csrf_in(api.get("/login").text)
    response = api.post(
        "/login",
        data={"username": "paul", "password": PASSWORD, "csrf_token": token, "next": "/c/x?y=1"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/c/x?y=1"


def test_sign_up_creates_a_participant_and_signs_in(api: TestClient) -> None:
    token = csrf_in(api.get("/signup").text)
    form = {"username": "newbie", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
    mismatch = api.post("/signup", data={**form, "confirm": "something-else"})
    assert mismatch.status_code == 422 and "the two passwords differ" in mismatch.text
    response = api.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert api.get("/api/v1/me").json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "username": "newbie",
        "role": "participant",
        "display_name": "",
        "email": None,
        "student_id": None,
        "disabled": False,
        "created_at": "",
    }
    taken = api.post("/signup", data={**form, "csrf_token": csrf_in(api.get("/signup").text)})
    assert taken.status_code == 409


def test_sign_up_can_be_closed(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.config import get_settings

    monkeypatch.setenv("PODIUM_ALLOW_SIGNUP", "false")
    get_settings.cache_clear()
    assert api.get("/signup").status_code == 403
    assert "Sign up" not in api.get("/login").text


def test_docs_work_offline_from_vendored_assets(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    scripts = [s["src"] for s in audit(page.text).scripts]
    assert scripts == [s for s in scripts if s and s.startswith("/static/")], (
        "every script comes from this server"
    )
    assert "//" not in page.text.replace("http://www.w3.org", "")
    for src in scripts:
        asset = api.get(src)
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
    css = api.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    paths = api.get("/openapi.json").json()["paths"]
    assert "/api/v1/health" in paths
    assert not [p for p in paths if not p.startswith("/api/")], "pages stay out of the API schema"
