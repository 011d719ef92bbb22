"""The pages through the ASGI app: what they show, to whom, and what they refuse."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import (
    ChallengeFixture,
    auth,
    create_challenge,
    open_challenge_now,
    submit,
)
from tests.web.conftest import sign_in

PUBLIC_IDS = {i for i in range(100) if i % 3 == 0}


def upload(client: TestClient, slug: str, csrf: str, content: bytes, message: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        f"/c/{slug}/submissions",
        data={"csrf_token": csrf, "message": message, "kind": "csv"},
        files={"file": ("preds.csv", io.BytesIO(content), "text/csv")},
        follow_redirects=False,
    )


def test_index_lists_open_challenges_with_counts(
    api: TestClient, organizer_token: str, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    create_challenge(api, organizer_token, slug="draft-one", title="Secret draft")
    submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/c/digits"' in page.text
    assert "Secret draft" not in page.text
    assert re.search(r"<dt>Teams</dt><dd>1</dd>", page.text)
    assert re.search(r"<dt>Submissions</dt><dd>1</dd>", page.text)


def test_organizer_sees_drafts(
    api: TestClient, organizer_token: str, browser_client: Callable[[], TestClient]
) -> None:
    create_challenge(api, organizer_token, slug="draft-one", title="Secret draft")
    organizer = browser_client()
    sign_in(organizer, "olga")
    assert "Secret draft" in organizer.get("/").text
    assert organizer.get("/c/draft-one").status_code == 200
    assert api.get("/c/draft-one").status_code == 404


def test_challenge_page_shows_description_files_rules_and_board(
    api: TestClient, organizer_token: str, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    api.patch(
        "/api/v1/challenges/digits",
        json={"description": "## Data\n\nUse **only** the `train.csv` file.", "closes_at": None},
        headers=auth(organizer_token),
    )
    submit(api, participant_token, "digits", open_challenge.predictions(wrong={0, 3}))
    page = api.get("/c/digits")
    assert page.status_code == 200
    assert "<h2>Data</h2>" in page.text
    assert "<strong>only</strong>" in page.text
    assert "train.csv" in page.text
    assert "Sign in to download" in page.text
    assert "5 submissions per team per day; a new day starts at midnight, UTC time" in page.text
    assert "a cancelled submission does not count" in page.text
    assert '<a href="/c/digits/teams/paul">paul</a>' in page.text
    # 2 of the 34 public rows are wrong.
    assert f"{32 / 34:.5f}" in page.text
    assert 'data-source="/api/v1/challenges/digits/leaderboard?board=public"' in page.text


def test_missing_challenge_is_an_html_404(api: TestClient) -> None:
    page = api.get("/c/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "challenge &#39;nope&#39; not found" in page.text


def test_team_page_history_and_chart(
    api: TestClient,
    participant_token: str,
    stranger_token: str,
    open_challenge: ChallengeFixture,
) -> None:
    submit(api, participant_token, "digits", open_challenge.predictions(wrong={0, 3, 6}), "first")
    submit(api, participant_token, "digits", open_challenge.predictions(wrong={0}), "second try")
    submit(api, stranger_token, "digits", open_challenge.predictions(), "perfect")
    page = api.get("/c/digits/teams/paul")
    assert page.status_code == 200
    assert f"{31 / 34:.5f}" in page.text and f"{33 / 34:.5f}" in page.text
    chart = json.loads(
        re.search(
            r'<script type="application/json" id="chart-data">(.*?)</script>', page.text, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    roles = {s["role"]: s for s in chart["series"]}
    assert [p["y"] for p in roles["team"]["points"]] == [31 / 34, 33 / 34]
    assert roles["leader"]["name"] == "sam"
    assert [p["y"] for p in roles["leader"]["points"]] == [1.0]
    # Messages are the team's business.
    assert "second try" not in page.text
    assert api.get("/c/digits/teams/nobody").status_code == 404


def test_team_details_only_for_members(
    api: TestClient,
    participant_token: str,
    open_challenge: ChallengeFixture,
    make_user: Callable[..., str],
    browser_client: Callable[[], TestClient],
) -> None:
    make_user("sam")
    submit(api, participant_token, "digits", open_challenge.predictions(), "secret recipe")
    member = browser_client()
    sign_in(member, "paul")
    assert "secret recipe" in member.get("/c/digits/teams/paul").text
    other = browser_client()
    sign_in(other, "sam")
    assert "secret recipe" not in other.get("/c/digits/teams/paul").text


def test_submissions_page_needs_sign_in(api: TestClient, open_challenge: ChallengeFixture) -> None:
    response = api.get("/c/digits/submissions", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fc%2Fdigits%2Fsubmissions"


def test_web_upload_is_scored_and_listed(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    csrf = sign_in(api, "paul")
    response = upload(api, "digits", csrf, open_challenge.predictions(wrong={0}), "from the web")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/c/digits/submissions?submitted=")
    page = api.get(response.headers["location"])
    assert "received" in page.text
    assert "status-scored" in page.text
    assert f"{33 / 34:.5f}" in page.text
    assert "from the web" in page.text
    board = api.get("/api/v1/challenges/digits/leaderboard").json()
    assert board["entries"][0]["team"] == "paul"


def test_web_upload_of_a_bad_file_shows_the_reason(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    csrf = sign_in(api, "paul")
    response = upload(api, "digits", csrf, b"id,label\n0,1\n")
    assert response.status_code == 422
    assert "predictions rejected" in response.text
    assert (
        api.get("/api/v1/challenges/digits/submissions", headers=auth(participant_token)).json()
        == []
    )


def test_web_upload_respects_the_daily_limit(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token, daily_submission_limit=1)
    open_challenge_now(api, organizer_token, fixture.slug)
    csrf = sign_in(api, "paul")
    assert upload(api, "digits", csrf, fixture.predictions()).status_code == 303
    refused = upload(api, "digits", csrf, fixture.predictions())
    assert refused.status_code == 429
    assert "daily limit reached" in refused.text


def test_final_selection_form(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    first = submit(api, participant_token, "digits", open_challenge.predictions())
    csrf = sign_in(api, "paul")
    response = api.post(
        "/c/digits/selection",
        data={"csrf_token": csrf, "submission_ids": [str(first["id"])]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    mine = api.get("/api/v1/challenges/digits/submissions", headers=auth(participant_token)).json()
    assert [s["selected_for_final"] for s in mine] == [True]
    cleared = api.post("/c/digits/selection", data={"csrf_token": csrf}, follow_redirects=False)
    assert cleared.status_code == 303
    mine = api.get("/api/v1/challenges/digits/submissions", headers=auth(participant_token)).json()
    assert [s["selected_for_final"] for s in mine] == [False]


def test_join_button_makes_a_team_of_one(
    api: TestClient, participant_token: str, open_challenge: ChallengeFixture
) -> None:
    csrf = sign_in(api, "paul")
    assert "Join the challenge" in api.get("/c/digits").text
    response = api.post("/c/digits/join", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert "Your team:" in api.get("/c/digits").text


def test_projector_view_shows_the_board_in_large_type(
    api: TestClient, open_challenge: ChallengeFixture
) -> None:
    page = api.get("/c/digits?projector=1")
    assert '<body class="projector">' in page.text
    assert "Rules" not in page.text
    assert "Exit projector view" in page.text


def test_private_scores_only_after_finalize(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    open_challenge: ChallengeFixture,
    browser_client: Callable[[], TestClient],
) -> None:
    # paul: perfect on public rows, 41/66 right on private rows; sam: the other way round.
    private_ids = [i for i in range(100) if i not in PUBLIC_IDS]
    paul_private = f"{41 / 66:.5f}"
    sam_private = f"{1:.5f}"
    submit(
        api, participant_token, "digits", open_challenge.predictions(wrong=set(private_ids[:25]))
    )
    submit(api, stranger_token, "digits", open_challenge.predictions(wrong={0, 3}))
    pages = ["/", "/c/digits", "/c/digits?board=private", "/c/digits/teams/paul"]
    paul = browser_client()
    sign_in(paul, "paul")
    olga = browser_client()
    sign_in(olga, "olga")
    for client in (api, paul, olga):
        for path in pages + ["/c/digits/submissions"]:
            text = client.get(path).text
            assert paul_private not in text, (path, text)
            assert "Private (final)" not in text
            assert ">Private<" not in text
    api.patch("/api/v1/challenges/digits", json={"state": "closed"}, headers=auth(organizer_token))
    assert (
        api.post("/api/v1/challenges/digits/finalize", headers=auth(organizer_token)).status_code
        == 200
    )
    page = api.get("/c/digits")
    assert "Private leaderboard" in page.text
    assert paul_private in page.text and sam_private in page.text
    # sam was second on the public board and first on the private one.
    assert "▲ 1" in page.text and "▼ 1" in page.text
    assert paul_private in api.get("/c/digits/teams/paul").text
    assert "Public leaderboard" in api.get("/c/digits?board=public").text
