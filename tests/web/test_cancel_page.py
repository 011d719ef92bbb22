"""The cancel button of the submissions page: the team's own queued submissions only,
through the service of POST /api/v1/submissions/{id}/cancel, with its refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update

from server.db import session_scope
from server.models import Submission, SubmissionStatus
from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit
from tests.web.conftest import sign_in


def queued(api: TestClient, token: str, slug: str, content: bytes) -> int:
    """A submission waiting for a worker. The tests' embedded scorer scores an upload
    before answering, so the upload goes through the API and back into the queue."""
    created = submit(api, token, slug, content)
    assert created["status_code"] == 201, created
    submission_id = int(str(created["id"]))
    with session_scope() as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(
                status=SubmissionStatus.queued,
                public_score=None,
                private_score=None,
                extra_scores=None,
                scored_at=None,
            )
        )
    return submission_id


def status_of(api: TestClient, token: str, submission_id: int) -> str:
    response = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def cancel_button(submission_id: int) -> str:
    return f'form="cancel-{submission_id}"'


def test_the_team_cancels_its_queued_submission_from_the_page(
    api: TestClient,
    participant_token: str,
    organizer_token: str,
    open_challenge: ChallengeFixture,
) -> None:
    scored = submit(api, participant_token, "digits", open_challenge.predictions())
    waiting = queued(api, participant_token, "digits", open_challenge.predictions(wrong={0}))
    before = api.get("/api/v1/challenges/digits/team", headers=auth(participant_token)).json()
    csrf = sign_in(api, "paul")

    page = api.get("/c/digits/submissions")
    assert page.status_code == 200
    assert cancel_button(waiting) in page.text
    assert f'action="/c/digits/submissions/{waiting}/cancel"' in page.text
    assert cancel_button(int(str(scored["id"]))) not in page.text  # scored: nothing to cancel

    done = api.post(
        f"/c/digits/submissions/{waiting}/cancel",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/c/digits/submissions?cancelled={waiting}"
    page = api.get(done.headers["location"])
    assert f"Submission #{waiting} cancelled" in page.text
    assert cancel_button(waiting) not in page.text
    assert re.search(rf'id="submission-{waiting}".*?status-cancelled', page.text, re.S)
    assert status_of(api, participant_token, waiting) == "cancelled"
    # A cancelled submission uses no quota.
    after = api.get("/api/v1/challenges/digits/team", headers=auth(participant_token)).json()
    assert after["remaining_today"] == before["remaining_today"] + 1


def test_the_page_refuses_what_the_api_refuses(
    api: TestClient,
    browser_client: Callable[[], TestClient],
    participant_token: str,
    stranger_token: str,
    organizer_token: str,
    open_challenge: ChallengeFixture,
) -> None:
    create_challenge(api, organizer_token, slug="other")
    open_challenge_now(api, organizer_token, "other")
    scored = int(str(submit(api, participant_token, "digits", open_challenge.predictions())["id"]))
    waiting = queued(api, participant_token, "digits", open_challenge.predictions(wrong={0}))

    def post(client: TestClient, slug: str, submission_id: int, csrf: str | None) -> httpx.Response:
        data = {"csrf_token": csrf} if csrf is not None else {}
        return client.post(
            f"/c/{slug}/submissions/{submission_id}/cancel", data=data, follow_redirects=False
        )

    anonymous = browser_client()
    refused = post(anonymous, "digits", waiting, "")
    assert refused.status_code == 303 and "/login" in refused.headers["location"]

    paul = browser_client()
    paul_csrf = sign_in(paul, "paul")
    assert post(paul, "digits", waiting, None).status_code == 403
    finished = post(paul, "digits", scored, paul_csrf)
    assert finished.status_code == 409
    assert "only queued or running submissions can be cancelled" in finished.text
    # The submission's challenge must be the page's.
    assert post(paul, "other", waiting, paul_csrf).status_code == 404

    sam = browser_client()
    stranger = post(sam, "digits", waiting, sign_in(sam, "sam"))
    assert stranger.status_code == 404
    assert cancel_button(waiting) not in sam.get("/c/digits/submissions").text

    olga = browser_client()
    olga_csrf = sign_in(olga, "olga")
    listed = olga.get("/c/digits/submissions").text
    assert f'id="submission-{waiting}"' in listed and cancel_button(waiting) not in listed
    manager = post(olga, "digits", waiting, olga_csrf)
    assert manager.status_code == 403
    assert "only a member of the team" in manager.text

    assert status_of(api, participant_token, waiting) == "queued"
    assert status_of(api, participant_token, scored) == "scored"
