"""Announcements: hosts post Markdown; everyone in the challenge reads it newest first;
the challenge's Discord/Slack webhooks get it (live local receiver)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, create_challenge
from tests.insight.conftest import Receiver
from tests.insight.helpers import settle
from tests.insight.test_notify import hooks, set_webhooks

pytestmark = pytest.mark.usefixtures("fast_retries")


def announce(api: TestClient, token: str, title: str, body: str, slug: str = "digits") -> Any:
    return api.post(
        f"/api/v1/challenges/{slug}/announcements",
        json={"title": title, "body": body},
        headers=auth(token),
    )


def test_announcements_newest_first_and_sent_to_webhooks(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
    receiver: Receiver,
) -> None:
    assert set_webhooks(api, organizer_token, hooks(receiver)).status_code == 200
    settle()
    receiver.reset()
    first = announce(api, organizer_token, "Lab at 14:00", "Room **B12**.")
    assert first.status_code == 201, first.text
    second = announce(api, organizer_token, "Deadline moved", "@everyone <b>one</b> more day")
    assert second.status_code == 201
    assert announce(api, participant_token, "Hi", "me too").status_code == 403
    assert announce(api, organizer_token, "", "no title").status_code == 422

    for headers in ({}, auth(participant_token)):
        listed = api.get("/api/v1/challenges/digits/announcements", headers=headers).json()
        assert [a["title"] for a in listed] == ["Deadline moved", "Lab at 14:00"]
    page = api.get("/c/digits").text
    assert page.index("Deadline moved") < page.index("Lab at 14:00")
    assert "<strong>B12</strong>" in page and "<b>one</b>" not in page  # sanitized Markdown

    settle()
    slack = receiver.texts("/slack")
    assert len(slack) == 2 and "Lab at 14:00" in slack[0] and "B12" in slack[0]
    assert "&lt;b&gt;" in slack[1]
    discord = receiver.bodies("/discord")
    assert all(body["allowed_mentions"] == {"parse": []} for body in discord)

    removed = second.json()["id"]
    url = f"/api/v1/challenges/digits/announcements/{removed}"
    assert api.delete(url, headers=auth(participant_token)).status_code == 403
    assert api.delete(url, headers=auth(organizer_token)).status_code == 204
    listed = api.get("/api/v1/challenges/digits/announcements").json()
    assert [a["title"] for a in listed] == ["Lab at 14:00"]


def test_draft_announcements_stay_with_the_hosts(
    api: TestClient, organizer_token: str, participant_token: str, receiver: Receiver
) -> None:
    create_challenge(api, organizer_token, slug="later")
    set_webhooks_later = api.patch(
        "/api/v1/challenges/later",
        json={"webhooks": hooks(receiver)},
        headers=auth(organizer_token),
    )
    assert set_webhooks_later.status_code == 200
    assert announce(api, organizer_token, "Soon", "", slug="later").status_code == 201
    url = "/api/v1/challenges/later/announcements"
    assert api.get(url, headers=auth(participant_token)).status_code == 404
    assert len(api.get(url, headers=auth(organizer_token)).json()) == 1
    settle()
    assert receiver.bodies("/slack") == []  # a draft tells no channel
