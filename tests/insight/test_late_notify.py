"""A late submission never reaches the webhooks: not as a new leader, not in the final
results (live local receiver, as in test_notify.py)."""

# ruff: noqa: F811 - the fixture of test_notify.py is imported, then requested.

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import get_settings
from server.insight.notify import send_due_notifications
from tests.conftest import ChallengeFixture, auth, submit
from tests.insight.conftest import Receiver
from tests.insight.helpers import settle
from tests.insight.test_notify import wired  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_retries")


def test_a_late_submission_is_never_announced(
    api: TestClient,
    wired: ChallengeFixture,
    organizer_token: str,
    make_user: Any,
    receiver: Receiver,
) -> None:
    ada, bob = make_user("ada"), make_user("bob")
    allowed = api.patch(
        "/api/v1/challenges/digits", json={"late_submissions": True}, headers=auth(organizer_token)
    )
    assert allowed.status_code == 200, allowed.text
    assert api.post("/api/v1/challenges/digits/join", headers=auth(bob)).status_code in (200, 201)
    submit(api, ada, "digits", wired.predictions(wrong={0, 3}))
    settle()
    assert [t.split(":")[0] for t in receiver.texts("/slack")] == [
        "🥇 ada takes first place on Digits"
    ]

    closed = {"state": "closed"}
    api.patch("/api/v1/challenges/digits", json=closed, headers=auth(organizer_token))
    late = submit(api, bob, "digits", wired.predictions())  # better on every row, but late
    assert late["status_code"] == 201 and late["late"] is True, late
    settle()
    done = api.post("/api/v1/challenges/digits/finalize", headers=auth(organizer_token))
    assert done.status_code == 200, done.text
    assert send_due_notifications(get_settings()) == 2
    settle()
    texts = receiver.texts("/slack")
    assert texts[-1].startswith("🏁 Digits is finalized: the private leaderboard is out. 🥇 ada.")
    for body in receiver.bodies("/slack") + receiver.bodies("/discord"):
        assert "bob" not in str(body)
