"""The organizer console (/manage) through the ASGI app: lists, lifecycle, refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import auth, create_challenge, submit
from tests.web.conftest import sign_in

FINALIZE_WARNING = "Finalizing reveals the private leaderboard to everyone; it cannot be undone."


def _act(client: TestClient, slug: str, action: str, csrf: str, confirmed: bool = True):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(f"/manage/{slug}/{action}", data=data, follow_redirects=False)


def _state(api: TestClient, token: str, slug: str) -> str:
    response = api.get(f"/api/v1/challenges/{slug}", headers=auth(token))
    assert response.status_code == 200, response.text
    return str(response.json()["state"])


def test_console_lists_every_challenge_with_activity(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    digits = create_challenge(api, organizer_token)
    create_challenge(api, organizer_token, slug="draft-one", title="Secret draft")
    api.patch("/api/v1/challenges/digits", json={"state": "open"}, headers=auth(organizer_token))
    assert submit(api, participant_token, "digits", digits.predictions())["status_code"] == 201
    assert (
        submit(api, participant_token, "digits", digits.predictions(wrong={1}))["status_code"]
        == 201
    )
    organizer = browser_client()
    sign_in(organizer, "olga")
    page = organizer.get("/manage")
    assert page.status_code == 200
    assert 'href="/manage"' in page.text  # the nav link, organizers only
    assert "Secret draft" in page.text
    row = re.search(r'<tr data-slug="digits">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    # teams, submissions today, in queue, failed in the last hour
    statuses = [
        s["status"]
        for s in api.get(
            "/api/v1/challenges/digits/submissions", headers=auth(participant_token)
        ).json()
    ]
    assert cells[-4:] == [
        "1",
        "2",
        str(sum(s in ("queued", "running") for s in statuses)),
        str(statuses.count("failed")),
    ]


def test_lifecycle_open_close_finalize_with_confirmation(
    api: TestClient, organizer_token: str, browser_client: Callable[[], TestClient]
) -> None:
    create_challenge(api, organizer_token)
    organizer = browser_client()
    csrf = sign_in(organizer, "olga")
    detail = organizer.get("/manage/digits")
    assert 'href="/manage/digits/open"' in detail.text
    assert 'href="/manage/digits/finalize"' not in detail.text  # only once closed
    assert "/api/v1/challenges/digits/export?board=private&amp;format=csv" in detail.text

    early = organizer.get("/manage/digits/finalize")  # a draft cannot be finalized
    assert "Not possible now: finalize needs the challenge to be closed." in early.text
    assert 'name="confirmed"' not in early.text

    confirm = organizer.get("/manage/digits/open")
    assert "An opened challenge cannot go back to draft." in confirm.text
    assert 'name="confirmed" value="yes"' in confirm.text
    response = _act(organizer, "digits", "open", csrf_field(confirm.text))
    assert response.status_code == 303
    assert response.headers["location"] == "/manage/digits?done=open"
    assert "The challenge is open." in organizer.get(response.headers["location"]).text
    assert _state(api, organizer_token, "digits") == "open"

    assert _act(organizer, "digits", "close", csrf).status_code == 303
    assert _state(api, organizer_token, "digits") == "closed"

    # Posting without the confirmation step shows the step and changes nothing.
    unconfirmed = _act(organizer, "digits", "finalize", csrf, confirmed=False)
    assert unconfirmed.status_code == 200
    assert FINALIZE_WARNING in unconfirmed.text
    assert _state(api, organizer_token, "digits") == "closed"

    assert FINALIZE_WARNING in organizer.get("/manage/digits/finalize").text
    assert _act(organizer, "digits", "finalize", csrf).status_code == 303
    assert _state(api, organizer_token, "digits") == "finalized"
    assert "nothing more to do" in organizer.get("/manage/digits").text

    # The service's refusal, as an HTML page: the same words as the API's 409.
    again = _act(organizer, "digits", "finalize", csrf)
    assert again.status_code == 409
    assert "already finalized" in again.text
    assert again.headers["content-type"].startswith("text/html")


def test_rescore_queues_through_the_api_service(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    digits = create_challenge(api, organizer_token)
    api.patch("/api/v1/challenges/digits", json={"state": "open"}, headers=auth(organizer_token))
    submit(api, participant_token, "digits", digits.predictions())
    organizer = browser_client()
    csrf = sign_in(organizer, "olga")
    assert "Rescoring queues every submission" in organizer.get("/manage/digits/rescore").text
    assert _act(organizer, "digits", "rescore", csrf).status_code == 303


def test_refusals(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    create_challenge(api, organizer_token)
    anonymous = browser_client()
    response = anonymous.get("/manage/digits", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fmanage%2Fdigits"

    participant = browser_client()
    csrf = sign_in(participant, "paul")
    assert 'href="/manage"' not in participant.get("/").text
    assert participant.get("/manage").status_code == 403
    # As the API answers: a draft is hidden from a participant (404), not merely refused.
    api_status = api.get("/api/v1/challenges/digits/hosts", headers=auth(participant_token))
    assert participant.get("/manage/digits").status_code == api_status.status_code == 404
    assert _act(participant, "digits", "open", csrf).status_code == 404
    assert _state(api, organizer_token, "digits") == "draft"

    organizer = browser_client()
    csrf = sign_in(organizer, "olga")
    assert organizer.get("/manage/nope").status_code == 404
    assert organizer.get("/manage/digits/delete").status_code == 422
    # A cross-site form: the organizer's cookie, but no token from our pages.
    forged = _act(organizer, "digits", "open", "forged")
    assert forged.status_code == 403
    assert "did not come from this site" in forged.text
    assert _state(api, organizer_token, "digits") == "draft"


def csrf_field(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_host_without_the_organizer_role_manages_its_challenge(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    create_challenge(api, organizer_token)
    create_challenge(api, organizer_token, slug="other", title="Not hosted")
    added = api.post(
        "/api/v1/challenges/digits/hosts", json={"username": "paul"}, headers=auth(organizer_token)
    )
    assert added.status_code in (200, 201), added.text
    host = browser_client()
    csrf = sign_in(host, "paul")
    listing = host.get("/manage")
    assert listing.status_code == 200
    assert 'data-slug="digits"' in listing.text
    assert 'data-slug="other"' not in listing.text  # only what it hosts
    assert host.get("/manage/digits").status_code == 200
    assert _act(host, "digits", "open", csrf).status_code == 303
    assert _state(api, organizer_token, "digits") == "open"
    # Another challenge of the same organizer: seen by nobody but its managers.
    assert host.get("/manage/other").status_code == 404
    assert host.get("/manage/new").status_code == 403  # creating needs the organizer role
    # A participant who hosts nothing is still refused the console.
    stranger = browser_client()
    sign_in(stranger, "sam")
    assert stranger.get("/manage").status_code == 403
