"""Efficiency columns: always in the JSON board, optional (a toggle) on the page.

The figures are written into the database the way the checkpoint runner records
them (``test_checkpoints`` checks a real model end to end); here they are seeded
directly, so that several teams and sizes are cheap.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit
from tests.insight.helpers import FIGURES, npy_rows, seed_figures
from tests.web.test_security import audit


def board_with_models(api: TestClient, organizer: str, make_user: Any) -> ChallengeFixture:
    fixture = create_challenge(api, organizer, submission_kinds=["csv", "checkpoint"])
    upload = api.put(
        "/api/v1/challenges/digits/hidden-inputs",
        content=npy_rows(len(fixture.labels)),
        headers=auth(organizer),
    )
    assert upload.status_code == 200, upload.text
    open_challenge_now(api, organizer, "digits")
    submit(api, make_user("ada"), "digits", fixture.predictions())
    submit(api, make_user("bob"), "digits", fixture.predictions(wrong={0, 3}))
    submit(api, make_user("cyd"), "digits", fixture.predictions(wrong={0, 3, 6}))  # a CSV team
    seed_figures(FIGURES)
    return fixture


def test_json_always_carries_the_figures(
    api: TestClient, organizer_token: str, make_user: Any
) -> None:
    board_with_models(api, organizer_token, make_user)
    entries = api.get("/api/v1/challenges/digits/leaderboard").json()["entries"]
    figures = {
        e["team"]: (e["parameter_count"], e["inference_seconds_per_1k"], e["peak_memory_mb"])
        for e in entries
    }
    assert figures == FIGURES | {"cyd": (None, None, None)}


def test_page_has_optional_columns_and_a_size_chart(
    api: TestClient, organizer_token: str, make_user: Any
) -> None:
    board_with_models(api, organizer_token, make_user)
    html = api.get("/c/digits").text
    assert 'id="efficiency-toggle"' in html
    # Hidden until toggled (CSS: .leaderboard .eff), present for every row.
    assert html.count('class="num hide-narrow eff"') == 3 + 3 * 3
    assert "1,199,882" in html and "0.812" in html and "312.5" in html
    assert '<canvas id="efficiency-chart"' in html
    assert 'data-source="/api/v1/challenges/digits/leaderboard?board=public"' in html
    assert "insight.js" in html and "chart.umd.min.js" in html
    assert audit(html).problems == []  # nothing the CSP would block


def test_csv_only_challenges_have_neither(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    submit(api, participant_token, "digits", open_challenge.predictions())
    html = api.get("/c/digits").text
    assert "efficiency-toggle" not in html
    assert "efficiency-chart" not in html
    assert "chart.umd.min.js" not in html
