"""Late submissions on the pages: marked as late on the team's own pages, absent from the
public team page and the board."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, submit
from tests.web.conftest import sign_in

BADGE = 'class="badge badge-late"'


def test_late_submissions_are_marked_on_the_team_pages_only(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    open_challenge: ChallengeFixture,
    browser_client: Callable[[], TestClient],
) -> None:
    changed = api.patch(
        "/api/v1/challenges/digits", json={"late_submissions": True}, headers=auth(organizer_token)
    )
    assert changed.status_code == 200, changed.text
    ontime = submit(api, participant_token, "digits", open_challenge.predictions(wrong={0, 3, 6}))
    assert ontime["late"] is False
    closed = {"state": "closed"}
    api.patch("/api/v1/challenges/digits", json=closed, headers=auth(organizer_token))
    late = submit(api, participant_token, "digits", open_challenge.predictions())
    assert late["status_code"] == 201 and late["late"] is True, late
    ontime_score, late_score = f"{31 / 34:.5f}", f"{1:.5f}"

    paul = browser_client()
    sign_in(paul, "paul")
    own = paul.get("/c/digits/submissions").text
    assert "The deadline has passed: a submission now is late." in own
    row = own.split(f'id="submission-{late["id"]}"')[1].split("</tr>")[0]
    assert BADGE in row and late_score in row
    assert BADGE not in own.split(f'id="submission-{ontime["id"]}"')[1].split("</tr>")[0]
    team_page = paul.get("/c/digits/teams/paul").text
    assert team_page.count(BADGE) == 1 and late_score in team_page

    sam = browser_client()
    sign_in(sam, "sam")
    for client in (api, sam):
        public = client.get("/c/digits/teams/paul").text
        assert ontime_score in public
        assert BADGE not in public and late_score not in public
        board = client.get("/c/digits").text
        assert ontime_score in board and late_score not in board
