"""The console's People page (/manage/{slug}/people) through the ASGI app: roster import
with one-time links, join requests, hosts, reset links, disqualify and reinstate.

Each action is checked on the page and through the API, with refusals as the API
gives them, and cross-site posts refused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlalchemy import select

from server.accounts.security import hash_token
from server.db import session_scope
from server.models import ApiToken
from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.web.conftest import sign_in

ROSTER = (
    "username,display_name,email,student_id\n"
    "ana,Ana Lima,ana@uni.edu,S001\n"
    "ben,Ben Ode,,S002\n"
    'cy,=HYPERLINK("http://x"),,S003\n'
)
DATA_CSV = re.compile(r'href="data:text/csv;charset=utf-8,([^"]+)" download="([^"]+)"')


def _post(client: TestClient, url: str, csrf: str, **fields: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def _import(client: TestClient, csrf: str, content: str, invite: bool = True) -> Any:
    data = {"csrf_token": csrf}
    if invite:
        data["invite"] = "yes"
    return client.post(
        "/manage/digits/people/roster",
        data=data,
        files={"roster": ("roster.csv", io.BytesIO(content.encode()), "text/csv")},
        follow_redirects=False,
    )


def _links_csv(html: str) -> tuple[str, list[dict[str, str]]]:
    match = DATA_CSV.search(html)
    assert match, html
    return match.group(2), list(csv.DictReader(io.StringIO(unquote(match.group(1)))))


def _participants(api: TestClient, token: str, **params: str) -> dict[str, dict[str, Any]]:
    response = api.get("/api/v1/challenges/digits/participants", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return {row["username"]: row for row in response.json()}


def test_roster_import_shows_the_links_once_as_a_csv(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    create_challenge(api, organizer_token, visibility="private")
    open_challenge_now(api, organizer_token, "digits")
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    people = olga.get("/manage/digits/people")
    assert people.status_code == 200
    assert 'action="/manage/digits/people/roster"' in people.text
    assert 'href="/manage/digits/people"' in olga.get("/manage/digits").text

    answer = _import(olga, csrf, ROSTER)
    assert answer.status_code == 200, answer.text
    assert "3 accounts created and invited" in answer.text
    assert "shown once" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    name, rows = _links_csv(answer.text)
    assert name == "digits-sign-in-links.csv"
    assert [r["username"] for r in rows] == ["ana", "ben", "cy"]
    assert rows[0]["email"] == "ana@uni.edu" and rows[0]["student_id"] == "S001"
    # A spreadsheet shows the formula-like name as text.
    assert rows[2]["display_name"] == '\'=HYPERLINK("http://x")'
    secrets = {}
    for row in rows:
        assert row["url"].startswith("http://testserver/welcome/"), row
        assert row["url"] in answer.text  # the same links in the table
        secrets[row["username"]] = row["url"].rsplit("/", 1)[1]

    # Only hashes are stored; the page never shows the links again.
    with session_scope() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    for secret in secrets.values():
        assert secret not in stored
        assert hash_token(secret) in stored
    again = olga.get("/manage/digits/people").text
    assert not any(secret in again for secret in secrets.values())
    for username in ("ana", "ben"):
        assert username in again

    # Through the API: the accounts exist and are invited to the private challenge.
    invited = _participants(api, organizer_token, status="invited")
    assert {"ana", "ben", "cy"} <= set(invited)
    assert invited["ana"]["student_id"] == "S001"
    # The link works for its student.
    welcome = browser_client().get(f"/welcome/{secrets['ana']}")
    assert welcome.status_code == 200

    # All or nothing, with the service's words and status.
    refused = _import(olga, csrf, ROSTER + "cara,Cara,,S004\n")
    assert refused.status_code == 422
    assert "exists already" in refused.text
    assert "cara" not in _participants(api, organizer_token)
    cara = api.post("/api/v1/users/cara/reset-link", headers=auth(organizer_token))
    assert cara.status_code == 404  # no such account
    empty = _import(olga, csrf, "")
    assert empty.status_code == 422

    # A participant is refused (the challenge is private: 404, as the API answers).
    paul = browser_client()
    paul_csrf = sign_in(paul, "paul")
    assert _import(paul, paul_csrf, "username\nzed\n").status_code == 404
    assert paul.get("/manage/digits/people").status_code == 404
    # A cross-site post with the organizer's cookie: refused, nothing imported.
    forged = _import(olga, "forged", "username\nzed\n")
    assert forged.status_code == 403
    assert "did not come from this site" in forged.text
    assert (
        api.post("/api/v1/users/zed/reset-link", headers=auth(organizer_token)).status_code == 404
    )


def test_roster_import_without_invitation(
    api: TestClient, organizer_token: str, browser_client: Callable[[], TestClient]
) -> None:
    create_challenge(api, organizer_token, visibility="private")
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    answer = _import(olga, csrf, "username\nsolo\n", invite=False)
    assert answer.status_code == 200
    assert "<h1>1 account created</h1>" in answer.text
    assert "solo" not in _participants(api, organizer_token)


def test_join_requests_hosts_and_reset_links(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    make_user: Callable[..., str],
    browser_client: Callable[[], TestClient],
) -> None:
    create_challenge(api, organizer_token, join_requires_approval=True)
    open_challenge_now(api, organizer_token, "digits")
    make_user("hana", "organizer")
    for token in (participant_token, stranger_token):
        response = api.post("/api/v1/challenges/digits/join", headers=auth(token))
        assert response.status_code == 202, response.text
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    page = olga.get("/manage/digits/people").text
    requests = re.search(r'<table class="history" id="requests">(.*?)</table>', page, re.S)
    assert requests and "paul" in requests.group(1) and "sam" in requests.group(1)

    approved = _post(
        olga, "/manage/digits/people/requests", csrf, username="paul", decision="approve"
    )
    assert approved.status_code == 303
    shown = olga.get(approved.headers["location"]).text
    assert "paul: The request is approved." in shown
    assert _participants(api, organizer_token)["paul"]["status"] == "active"
    assert 'data-team="paul"' in shown
    rejected = _post(
        olga, "/manage/digits/people/requests", csrf, username="sam", decision="reject"
    )
    assert rejected.status_code == 303
    assert _participants(api, organizer_token)["sam"]["status"] == "rejected"
    # Rejecting a member: the service's 409, on the page.
    again = _post(olga, "/manage/digits/people/requests", csrf, username="paul", decision="reject")
    assert again.status_code == 409
    assert "disqualify the team instead" in again.text

    # Hosts: add, refuse, remove.
    added = _post(olga, "/manage/digits/people/hosts", csrf, username="hana")
    assert added.status_code == 303
    assert 'data-username="hana"' in olga.get("/manage/digits/people").text
    hosts = api.get("/api/v1/challenges/digits/hosts", headers=auth(organizer_token)).json()
    assert [h["username"] for h in hosts] == ["olga", "hana"]
    hana = browser_client()
    sign_in(hana, "hana")
    assert hana.get("/manage/digits/people").status_code == 200  # a host manages it
    member = _post(olga, "/manage/digits/people/hosts", csrf, username="paul")
    assert member.status_code == 409
    assert "a participant cannot host it" in member.text
    unknown = _post(olga, "/manage/digits/people/hosts", csrf, username="nobody")
    assert unknown.status_code == 404
    creator = _post(olga, "/manage/digits/people/hosts/remove", csrf, username="olga")
    assert creator.status_code == 409
    removed = _post(olga, "/manage/digits/people/hosts/remove", csrf, username="hana")
    assert removed.status_code == 303
    hosts = api.get("/api/v1/challenges/digits/hosts", headers=auth(organizer_token)).json()
    assert [h["username"] for h in hosts] == ["olga"]
    assert hana.get("/manage/digits/people").status_code == 403  # no longer a host

    # A reset link for a student: shown once, it works, the earlier one ends.
    first = _post(olga, "/manage/digits/people/reset-link", csrf, username="paul")
    assert first.status_code == 200
    assert "A new sign-in link for paul" in first.text
    _, (row,) = _links_csv(first.text)
    second = _post(olga, "/manage/digits/people/reset-link", csrf, username="paul")
    _, (newer,) = _links_csv(second.text)
    visitor = browser_client()
    assert visitor.get(urlpath(newer["url"])).status_code == 200
    assert visitor.get(urlpath(row["url"])).status_code == 404
    # An organizer who does not manage paul's challenges is refused as by the API.
    make_user("otto", "organizer")
    otto = browser_client()
    otto_csrf = sign_in(otto, "otto")
    assert (
        _post(otto, "/manage/digits/people/reset-link", otto_csrf, username="paul").status_code
        == 403
    )
    assert otto.get("/manage/digits/people").status_code == 403


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_disqualify_and_reinstate_with_a_reason(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    digits = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, "digits")
    assert (
        submit(api, participant_token, "digits", digits.predictions(wrong={0}))["status_code"]
        == 201
    )
    assert (
        submit(api, stranger_token, "digits", digits.predictions(wrong={0, 3}))["status_code"]
        == 201
    )
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    page = olga.get("/manage/digits/people").text
    row = re.search(r'<tr data-team="paul">(.*?)</tr>', page, re.S)
    assert row, page
    assert f"{33 / 34:.5f}" in row.group(1)  # best public score
    assert "Disqualify" in row.group(1)

    no_reason = _post(olga, "/manage/digits/people/disqualify", csrf, team="paul", reason="  ")
    assert no_reason.status_code == 422
    assert "give a reason" in no_reason.text
    forged = _post(olga, "/manage/digits/people/disqualify", "forged", team="paul", reason="x")
    assert forged.status_code == 403
    board = api.get("/api/v1/challenges/digits/leaderboard").json()
    assert [e["team"] for e in board["entries"]] == ["paul", "sam"]

    done = _post(olga, "/manage/digits/people/disqualify", csrf, team="paul", reason="shared files")
    assert done.status_code == 303
    shown = olga.get(done.headers["location"]).text
    assert "The team is disqualified" in shown
    row = re.search(r'<tr data-team="paul" class="disqualified">(.*?)</tr>', shown, re.S)
    assert row and "shared files" in row.group(1) and "Reinstate" in row.group(1)
    board = api.get("/api/v1/challenges/digits/leaderboard").json()
    assert [e["team"] for e in board["entries"]] == ["sam"]
    paul = _participants(api, organizer_token)["paul"]
    assert paul["status"] == "disqualified" and paul["disqualified_reason"] == "shared files"

    back = _post(olga, "/manage/digits/people/reinstate", csrf, team="paul")
    assert back.status_code == 303
    assert "The team is reinstated" in olga.get(back.headers["location"]).text
    board = api.get("/api/v1/challenges/digits/leaderboard").json()
    assert [e["team"] for e in board["entries"]] == ["paul", "sam"]
    assert _participants(api, organizer_token)["paul"]["status"] == "active"
    twice = _post(olga, "/manage/digits/people/reinstate", csrf, team="paul")
    assert twice.status_code == 409
    missing = _post(olga, "/manage/digits/people/reinstate", csrf, team="nobody")
    assert missing.status_code == 404

    # A participant may not moderate (403 on a public challenge, as the API).
    sam = browser_client()
    sam_csrf = sign_in(sam, "sam")
    response = _post(sam, "/manage/digits/people/disqualify", sam_csrf, team="paul", reason="x")
    assert response.status_code == 403
    assert _participants(api, organizer_token)["paul"]["status"] == "active"


def test_private_scores_wait_for_finalization(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    digits = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, "digits")
    private_wrong = {i for i in range(100) if not digits.public[i]}
    wrong = set(sorted(private_wrong)[:7])
    result = submit(api, participant_token, "digits", digits.predictions(wrong=wrong))
    assert result["status_code"] == 201
    private = f"{(66 - 7) / 66:.5f}"
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    for url in ("/manage/digits/people", "/manage/digits/submissions", "/manage/digits/queue"):
        page = olga.get(url)
        assert page.status_code == 200
        assert private not in page.text, url
    olga.post("/manage/digits/close", data={"csrf_token": csrf, "confirmed": "yes"})
    olga.post("/manage/digits/finalize", data={"csrf_token": csrf, "confirmed": "yes"})
    assert api.get("/api/v1/challenges/digits").json()["state"] == "finalized"
    for url in ("/manage/digits/people", "/manage/digits/submissions"):
        assert private in olga.get(url).text, url
