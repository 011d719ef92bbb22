"""The challenge page says every limit in plain words; the team's submissions page says
what is left under each one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import create_challenge, open_challenge_now, submit
from tests.web.conftest import sign_in

LIMITS = {
    "per_day": 6,
    "per_window": {"count": 3, "minutes": 60},
    "total": 20,
    "min_interval_seconds": 900,
}


def test_the_challenge_page_says_every_limit_in_plain_words(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    lab = create_challenge(api, organizer_token, slug="lab", limits=LIMITS, timezone="Europe/Paris")
    open_challenge_now(api, organizer_token, "lab")
    page = api.get("/c/lab").text
    for words in (
        "6 submissions per team per day; a new day starts at midnight, Europe/Paris time",
        "at most 3 submissions in any 60 minutes (a rolling window: a place frees up as the "
        "oldest one leaves it)",
        "20 submissions per team over the whole challenge",
        "at least 900 seconds between two submissions of a team",
    ):
        assert words in page, words

    assert submit(api, participant_token, "lab", lab.predictions())["status_code"] == 201
    sign_in(api, "paul")
    own = api.get("/c/lab/submissions").text
    for label, left in (
        ("per day (from midnight Europe/Paris)", "5 / 6"),
        ("per 60 minutes (rolling)", "2 / 3"),
        ("in total", "19 / 20"),
        ("one every 900 seconds", "0 / 1"),
    ):
        assert f'Left {label}</span><span class="stat-value">{left}</span>' in own, label
    assert "next at" in own  # the cool-down says when the next submission is possible
