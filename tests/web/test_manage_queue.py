"""The console's Submissions, Queue, Announcements, Baselines and Exports pages through
the ASGI app: every action's result on the page and through the API."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from server.db import session_scope
from server.models import Submission
from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.web.conftest import sign_in

WAIT_SECONDS = 30


def _post(client: TestClient, url: str, csrf: str, **fields: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def _fail(submission_id: int, platform: bool, detail: str | None = None) -> None:
    """Make a submission a failure as the scorer records one."""
    with session_scope() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(
                status="failed",
                platform_error=platform,
                error="scoring did not finish after 3 attempts (platform error)"
                if platform
                else "predictions rejected: row 5",
                error_detail=detail,
                public_score=None,
                private_score=None,
            )
        )


def _status(api: TestClient, token: str, submission_id: int) -> str:
    response = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


@pytest.fixture
def two_teams(
    api: TestClient, organizer_token: str, participant_token: str, stranger_token: str
) -> dict[str, int]:
    digits = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, "digits")
    ids = {}
    for name, token, wrong in (
        ("paul1", participant_token, {0}),
        ("paul2", participant_token, {0, 3}),
        ("sam1", stranger_token, {1}),
    ):
        result = submit(api, token, "digits", digits.predictions(wrong=wrong), name)
        assert result["status_code"] == 201, result
        ids[name] = int(result["id"])  # type: ignore[call-overload]
    return ids


def test_submissions_with_filters_and_full_failure_reasons(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    two_teams: dict[str, int],
    browser_client: Callable[[], TestClient],
) -> None:
    _fail(two_teams["paul2"], platform=False, detail="Traceback: line 5 has 'x' for an id")
    olga = browser_client()
    sign_in(olga, "olga")
    every = olga.get("/manage/digits/submissions")
    assert every.status_code == 200
    assert _ids(every.text) == sorted(two_teams.values(), reverse=True)
    assert 'href="/c/digits/teams/paul"' in every.text
    assert f'href="/api/v1/submissions/{two_teams["sam1"]}/file"' in every.text
    # The full reason, which the API gives managers only.
    assert "predictions rejected: row 5" in every.text
    assert "Traceback: line 5 has &#39;x&#39; for an id" in every.text
    seen = api.get(
        f"/api/v1/submissions/{two_teams['paul2']}", headers=auth(organizer_token)
    ).json()
    assert seen["error_detail"] == "Traceback: line 5 has 'x' for an id"
    own = api.get(f"/api/v1/submissions/{two_teams['paul2']}", headers=auth(participant_token))
    assert own.json().get("error_detail") is None  # the team sees the short reason only

    def shown(**query: str) -> list[int]:
        response = olga.get("/manage/digits/submissions", params=query)
        assert response.status_code == 200, response.text
        return _ids(response.text)

    assert shown(team="paul") == [two_teams["paul2"], two_teams["paul1"]]
    assert shown(team="sam", status="scored") == [two_teams["sam1"]]
    assert shown(status="failed") == [two_teams["paul2"]]
    assert shown(kind="checkpoint") == []
    assert shown(kind="csv", team="", status="") == sorted(two_teams.values(), reverse=True)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(shown(since=today, until=today)) == 3
    assert shown(since="2999-01-01") == []
    assert shown(until="2000-01-01") == []
    bad = olga.get("/manage/digits/submissions", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "must be a date" in bad.text
    assert olga.get("/manage/digits/submissions", params={"status": "lost"}).status_code == 422

    paul = browser_client()
    sign_in(paul, "paul")
    assert paul.get("/manage/digits/submissions").status_code == 403
    assert paul.get("/manage/digits/queue").status_code == 403


def test_queue_requeues_platform_failures_only(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    two_teams: dict[str, int],
    browser_client: Callable[[], TestClient],
) -> None:
    _fail(two_teams["paul1"], platform=True, detail="worker lost")
    _fail(two_teams["sam1"], platform=True)
    _fail(two_teams["paul2"], platform=False)
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    queue = olga.get("/manage/digits/queue")
    assert queue.status_code == 200
    failures = re.search(r'<table class="history" id="failures">(.*?)</table>', queue.text, re.S)
    assert failures
    assert sorted(_ids(failures.group(1))) == sorted([two_teams["paul1"], two_teams["sam1"]])
    assert "worker lost" in failures.group(1)
    assert 'href="/c/digits/teams/sam"' in failures.group(1)

    # The team's own failure is not requeued: the service's 409, and nothing changes.
    refused = _post(olga, "/manage/digits/queue/requeue", csrf, submission_ids=[two_teams["paul2"]])
    assert refused.status_code == 409
    assert str(two_teams["paul2"]) in refused.text
    assert _status(api, organizer_token, two_teams["paul1"]) == "failed"
    nothing = _post(olga, "/manage/digits/queue/requeue", csrf)
    assert nothing.status_code == 422
    forged = _post(olga, "/manage/digits/queue/requeue", "forged", every="yes")
    assert forged.status_code == 403

    done = _post(olga, "/manage/digits/queue/requeue", csrf, submission_ids=[two_teams["paul1"]])
    assert done.status_code == 303
    assert "1 submission queued again." in olga.get(done.headers["location"]).text
    _wait_scored(api, organizer_token, two_teams["paul1"])
    assert _status(api, organizer_token, two_teams["sam1"]) == "failed"

    # The same service through the API.
    response = api.post(
        "/api/v1/challenges/digits/queue/requeue", json={}, headers=auth(organizer_token)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"requeued": [two_teams["sam1"]]}
    _wait_scored(api, organizer_token, two_teams["sam1"])
    response = api.post(
        "/api/v1/challenges/digits/queue/requeue",
        json={"submission_ids": [two_teams["paul2"]]},
        headers=auth(organizer_token),
    )
    assert response.status_code == 409
    assert "No platform failure." in olga.get("/manage/digits/queue").text
    response = api.post(
        "/api/v1/challenges/digits/queue/requeue", json={}, headers=auth(participant_token)
    )
    assert response.status_code == 403


def _wait_scored(api: TestClient, token: str, submission_id: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while _status(api, token, submission_id) != "scored":
        assert time.monotonic() < deadline, f"submission {submission_id} was not scored"
        time.sleep(0.05)


def test_announcements_preview_post_and_delete(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, "digits")
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    body = "Office hours **Friday**.\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    preview = _post(
        olga, "/manage/digits/announcements", csrf, title="Week 2", body=body, intent="preview"
    )
    assert preview.status_code == 200
    shown = re.search(r'<article class="console-post preview.*?</article>', preview.text, re.S)
    assert shown, preview.text
    assert "<strong>Friday</strong>" in shown.group(0)
    assert "<script>" not in shown.group(0) and 'href="javascript' not in shown.group(0)
    assert "&lt;script&gt;" in shown.group(0)
    assert 'value="Week 2"' in preview.text  # the form keeps the draft
    listed = api.get("/api/v1/challenges/digits/announcements").json()
    assert listed == []  # a preview stores nothing

    empty = _post(olga, "/manage/digits/announcements", csrf, title="  ", body="x")
    assert empty.status_code == 422
    assert "title" in empty.text
    forged = _post(olga, "/manage/digits/announcements", "forged", title="Fake", body="")
    assert forged.status_code == 403

    posted = _post(olga, "/manage/digits/announcements", csrf, title="Week 2", body=body)
    assert posted.status_code == 303
    page = olga.get(posted.headers["location"]).text
    assert "The announcement is posted." in page
    (announcement,) = api.get("/api/v1/challenges/digits/announcements").json()
    assert announcement["title"] == "Week 2" and announcement["body"] == body
    assert "<strong>Friday</strong>" in api.get("/c/digits").text

    paul = browser_client()
    paul_csrf = sign_in(paul, "paul")
    refused = _post(
        paul, "/manage/digits/announcements/delete", paul_csrf, announcement_id=announcement["id"]
    )
    assert refused.status_code == 403
    gone = _post(
        olga, "/manage/digits/announcements/delete", csrf, announcement_id=announcement["id"]
    )
    assert gone.status_code == 303
    assert api.get("/api/v1/challenges/digits/announcements").json() == []
    again = _post(
        olga, "/manage/digits/announcements/delete", csrf, announcement_id=announcement["id"]
    )
    assert again.status_code == 404


def test_baseline_row_from_a_file(
    api: TestClient, organizer_token: str, browser_client: Callable[[], TestClient]
) -> None:
    digits = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, "digits")
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    assert 'action="/manage/digits/baselines"' in olga.get("/manage/digits/baselines").text

    def add(name: str, content: bytes, token: str = csrf) -> Any:
        return olga.post(
            "/manage/digits/baselines",
            data={"csrf_token": token, "name": name, "description": "the course's CNN"},
            files={"file": ("cnn.csv", io.BytesIO(content), "text/csv")},
            follow_redirects=False,
        )

    bad = add("CNN", b"id,label\n0,1\n")
    assert bad.status_code == 422
    assert "predictions rejected" in bad.text
    assert add("CNN", digits.predictions(), "forged").status_code == 403
    added = add("CNN", digits.predictions(wrong={0}))
    assert added.status_code == 303
    assert "The baseline is added" in olga.get(added.headers["location"]).text
    (baseline,) = api.get(
        "/api/v1/challenges/digits/baselines", headers=auth(organizer_token)
    ).json()
    assert baseline["name"] == "CNN" and baseline["description"] == "the course's CNN"
    assert baseline["public_score"] == pytest.approx(33 / 34)
    board = api.get("/api/v1/challenges/digits/leaderboard").json()
    assert [b["name"] for b in board["baselines"]] == ["CNN"]
    assert add("CNN", digits.predictions()).status_code == 409  # the name is taken

    deleted = _post(olga, "/manage/digits/baselines/delete", csrf, name="CNN")
    assert deleted.status_code == 303
    assert api.get("/api/v1/challenges/digits/baselines").json() == []


def test_exports_download_with_the_browser_session(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    two_teams: dict[str, int],
    browser_client: Callable[[], TestClient],
) -> None:
    olga = browser_client()
    sign_in(olga, "olga")
    page = olga.get("/manage/digits/exports")
    assert page.status_code == 200
    links = re.findall(r'<a href="([^"]+)" download', page.text)
    assert len(links) == 7, links
    for link in links:
        response = olga.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, (link, response.text[:200])
        if "participants" not in link or link.endswith(".csv"):
            assert response.headers["content-disposition"].startswith("attachment"), link
    rows = list(
        csv.DictReader(io.StringIO(olga.get("/manage/digits/exports/participants.csv").text))
    )
    assert {r["username"]: r["team"] for r in rows} == {"paul": "paul", "sam": "sam"}
    api_rows = api.get(
        "/api/v1/challenges/digits/participants", headers=auth(organizer_token)
    ).json()
    assert {r["username"] for r in api_rows} == {r["username"] for r in rows}
    assert rows[0]["private_score"] == ""  # not finalized: as the API, no private column

    # A participant's browser session gets the API's refusals.
    paul = browser_client()
    sign_in(paul, "paul")
    assert paul.get("/manage/digits/exports").status_code == 403
    assert paul.get("/manage/digits/exports/participants.csv").status_code == 403
    for link in links:
        assert paul.get(link.replace("&amp;", "&")).status_code == 403, link
