"""Discord/Slack notifications against a live local receiver (http.server on 127.0.0.1).

Retries are real (failed HTTP answers, then success); only their delays are made
short (``fast_retries``). Due events are checked by calling the sweeper's check
with a chosen "now" rather than waiting for its thread.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import get_settings
from server.insight.notify import notifier, send_due_notifications
from server.models import utcnow
from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit
from tests.insight.conftest import MAX_ATTEMPTS, Receiver
from tests.insight.helpers import settle

pytestmark = pytest.mark.usefixtures("fast_retries")


def hooks(receiver: Receiver) -> dict[str, str]:
    return {"discord_url": f"{receiver.url}/discord", "slack_url": f"{receiver.url}/slack"}


def set_webhooks(api: TestClient, organizer: str, webhooks: dict[str, Any]) -> Any:
    return api.patch(
        "/api/v1/challenges/digits", json={"webhooks": webhooks}, headers=auth(organizer)
    )


@pytest.fixture
def wired(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, receiver: Receiver
) -> ChallengeFixture:
    response = set_webhooks(api, organizer_token, hooks(receiver))
    assert response.status_code == 200, response.text
    send_due_notifications(get_settings())  # the opening message
    settle()
    receiver.reset()
    return open_challenge


# ---------------------------------------------------------------------------
# Settings


def test_urls_are_validated_and_kept_from_participants(
    api: TestClient, organizer_token: str, participant_token: str, monkeypatch: Any
) -> None:
    create_challenge(api, organizer_token)
    for bad in (
        "http://example.org/hook",
        "ftp://127.0.0.1/x",
        "https://user:pw@example.org/x",
        "https:///nohost",
        "javascript:alert(1)",
    ):
        response = set_webhooks(api, organizer_token, {"discord_url": bad})
        assert response.status_code == 422, bad
    secret = "https://discord.com/api/webhooks/1/secret-token"
    response = set_webhooks(
        api, organizer_token, {"discord_url": secret, "slack_url": "http://127.0.0.1:9/x"}
    )
    assert response.status_code == 200, response.text
    assert "secret-token" not in response.text  # not even in the organizer's ChallengeRead
    open_challenge_now(api, organizer_token, "digits")
    for headers in ({}, auth(participant_token), auth(organizer_token)):
        assert "secret-token" not in api.get("/api/v1/challenges/digits", headers=headers).text
        assert "secret-token" not in api.get("/api/v1/challenges", headers=headers).text
        assert "secret-token" not in api.get("/c/digits", headers=headers).text
    assert (
        api.get("/api/v1/challenges/digits/webhooks", headers=auth(participant_token)).status_code
        == 403
    )
    read = api.get("/api/v1/challenges/digits/webhooks", headers=auth(organizer_token)).json()
    assert read == {"discord_url": secret, "slack_url": "http://127.0.0.1:9/x"}
    # A null removes one URL; one left out is kept.
    set_webhooks(api, organizer_token, {"slack_url": None})
    read = api.get("/api/v1/challenges/digits/webhooks", headers=auth(organizer_token)).json()
    assert read == {"discord_url": secret, "slack_url": None}


def test_production_refuses_plain_http(monkeypatch: Any) -> None:
    from server.config import Settings
    from server.insight.notify import check_webhook_url

    production = Settings(env="production", secret_key="s" * 40, worker_token="w" * 40)
    with pytest.raises(ValueError, match="production"):
        check_webhook_url("http://127.0.0.1:8000/hook", production)
    assert check_webhook_url("https://hooks.slack.com/services/T/B/X", production)


# ---------------------------------------------------------------------------
# Delivery


def test_retries_until_the_receiver_answers(
    api: TestClient, wired: ChallengeFixture, organizer_token: str, receiver: Receiver
) -> None:
    receiver.reset(fail_first=2)
    response = api.post("/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token))
    assert response.json() == {"queued": 2}
    settle()
    for path in ("/discord", "/slack"):
        bodies = receiver.bodies(path)
        assert len(bodies) == 3  # two 500s, then 204
        assert bodies[0] == bodies[2]
    assert set(receiver.bodies("/discord")[0]) == {"content", "allowed_mentions"}
    assert set(receiver.bodies("/slack")[0]) == {"text"}
    assert "reach this channel" in receiver.texts("/slack")[0]


def test_gives_up_after_the_last_attempt(
    api: TestClient, wired: ChallengeFixture, organizer_token: str, receiver: Receiver
) -> None:
    receiver.reset(fail_first=100, fail_status=503)
    given_up = notifier.log.given_up
    api.post("/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token))
    settle()
    assert len(receiver.bodies("/discord")) == MAX_ATTEMPTS
    assert len(receiver.bodies("/slack")) == MAX_ATTEMPTS
    assert notifier.log.given_up == given_up + 2


def test_a_refusal_is_not_retried_but_429_is(
    api: TestClient, wired: ChallengeFixture, organizer_token: str, receiver: Receiver
) -> None:
    receiver.reset(fail_first=1, fail_status=404)
    api.post("/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token))
    settle()
    assert len(receiver.bodies("/discord")) == 1
    receiver.reset(fail_first=1, fail_status=429, **{"Retry-After": "0"})
    api.post("/api/v1/challenges/digits/webhooks/test", headers=auth(organizer_token))
    settle()
    assert len(receiver.bodies("/discord")) == 2


# ---------------------------------------------------------------------------
# Events


def test_a_new_leader_is_announced_with_public_facts_only(
    api: TestClient, wired: ChallengeFixture, make_user: Any, receiver: Receiver
) -> None:
    ada, bob = make_user("ada"), make_user("bob")
    private_rows = {i for i, p in enumerate(wired.public) if not p}
    # ada: public 33/34, private half wrong.
    submit(api, ada, "digits", wired.predictions(wrong={0} | set(sorted(private_rows)[:33])))
    settle()
    texts = receiver.texts("/slack")
    assert len(texts) == 1
    assert texts[0].startswith("🥇 ada takes first place on Digits: public accuracy 0.97059 ± ")
    assert texts[0].endswith("\nhttps://podium.example.org/c/digits")
    # A worse submission by bob: no news.
    submit(api, bob, "digits", wired.predictions(wrong={0, 3}))
    settle()
    assert len(receiver.texts("/slack")) == 1
    # bob takes the lead, but only by one public row: said so.
    submit(api, bob, "digits", wired.predictions())
    settle()
    texts = receiver.texts("/slack")
    assert len(texts) == 2
    assert texts[1].startswith("🥇 bob takes first place on Digits: public accuracy 1.00000")
    assert "Not significantly ahead of ada yet." in texts[1]
    assert len(receiver.texts("/discord")) == 2
    # ada's private accuracy (0.50000) appears nowhere.
    for body in receiver.bodies("/slack") + receiver.bodies("/discord"):
        assert "0.50000" not in str(body)
        assert "private" not in str(body)


def test_team_names_cannot_ping_or_format(
    api: TestClient, wired: ChallengeFixture, make_user: Any, receiver: Receiver
) -> None:
    token = make_user("eve")
    api.post("/api/v1/challenges/digits/join", headers=auth(token))
    name = "@everyone <!channel> [x](https://evil.example) **bold**"
    response = api.patch("/api/v1/challenges/digits/team", json={"name": name}, headers=auth(token))
    assert response.status_code == 200, response.text
    submit(api, token, "digits", wired.predictions())
    settle()
    discord = receiver.bodies("/discord")[0]
    assert discord["allowed_mentions"] == {"parse": []}
    assert r"\[x\](https://evil.example) \*\*bold\*\*" in discord["content"]
    slack = receiver.texts("/slack")[0]
    assert "&lt;!channel&gt;" in slack and "<!channel>" not in slack


def test_opening_closing_and_final_results_are_sent_once(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    make_user: Any,
    receiver: Receiver,
) -> None:
    closes_at = utcnow() + timedelta(days=3)
    response = api.patch(
        "/api/v1/challenges/digits",
        json={"webhooks": hooks(receiver), "closes_at": closes_at.isoformat()},
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    assert send_due_notifications(get_settings()) == 2  # opening, to both channels
    assert send_due_notifications(get_settings()) == 0
    settle()
    opening = receiver.texts("/slack")
    assert len(opening) == 1 and opening[0].startswith("📣 Digits is open")
    assert "deadline " + closes_at.strftime("%Y-%m-%d %H:%M UTC") in opening[0]

    # 23 hours before the deadline, then 50 minutes before: one message each.
    assert send_due_notifications(get_settings(), now=closes_at - timedelta(hours=23)) == 2
    assert send_due_notifications(get_settings(), now=closes_at - timedelta(hours=22)) == 0
    assert send_due_notifications(get_settings(), now=closes_at - timedelta(minutes=50)) == 2
    assert send_due_notifications(get_settings(), now=closes_at - timedelta(minutes=10)) == 0
    settle()
    texts = receiver.texts("/slack")
    assert texts[1].startswith("⏰ Digits closes in 23 hours")
    assert texts[2].startswith("⏰ Digits closes in 50 minutes")

    # Final results: the podium's names, no scores.
    token = make_user("ada")
    submit(api, token, "digits", open_challenge.predictions(wrong={1, 2}))
    settle()
    api.patch("/api/v1/challenges/digits", json={"state": "closed"}, headers=auth(organizer_token))
    api.post("/api/v1/challenges/digits/finalize", headers=auth(organizer_token))
    assert send_due_notifications(get_settings()) == 2
    assert send_due_notifications(get_settings()) == 0
    settle()
    final = receiver.texts("/slack")[-1]
    assert final.startswith("🏁 Digits is finalized: the private leaderboard is out. 🥇 ada.")
    assert not any(ch.isdigit() for ch in final.split("\n")[0])


def test_a_rescore_does_not_announce_passing_leaders(
    api: TestClient,
    wired: ChallengeFixture,
    organizer_token: str,
    make_user: Any,
    receiver: Receiver,
) -> None:
    tokens = [make_user(name) for name in ("ada", "bob", "cyd")]
    for errors, token in zip(({0}, {0, 3}, {0, 3, 6}), tokens, strict=True):
        submit(api, token, "digits", wired.predictions(wrong=errors))
    settle()
    assert len(receiver.texts("/slack")) == 1  # ada, once
    response = api.post("/api/v1/challenges/digits/rescore", headers=auth(organizer_token))
    assert response.status_code == 200
    from tests.insight.test_confidence import wait_scored

    for token, submission_id in zip(tokens, (1, 2, 3), strict=True):
        wait_scored(api, token, submission_id)
    settle()
    assert len(receiver.texts("/slack")) == 1  # the same leader: nothing to say
