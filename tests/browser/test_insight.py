"""Insight (issue 11, see tests/insight): the shake-up chart and the efficiency toggle and
chart in real Chromium, under the CSP. Here rather than in tests/insight so that it shares
this folder's one Playwright session (a second one in the same process fails).

The page fixture (tests/browser) fails a test on any JavaScript error, CSP
violation or request leaving the live server.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.insight.helpers import FIGURES, npy_rows, seed_figures, settle

CHART_READY = "id => window.Chart && Chart.getChart(document.getElementById(id))"


def chart_points(page: Any, canvas_id: str) -> list[dict[str, Any]]:
    page.wait_for_function(CHART_READY, arg=canvas_id)
    return list(
        page.evaluate(
            "id => Chart.getChart(document.getElementById(id)).data.datasets[0].data", canvas_id
        )
    )


def test_shake_up_chart(page: Any, http: httpx.Client, make_user: Any) -> None:
    organizer = make_user("olga", "organizer")
    digits = create_challenge(http, organizer)  # type: ignore[arg-type]
    open_challenge_now(http, organizer, "digits")  # type: ignore[arg-type]
    private = [i for i, p in enumerate(digits.public) if not p]
    for name, wrong in (("ada", set(private[:30])), ("bob", {0, 3}), ("cyd", {0, 3, 6, 9})):
        submit(http, make_user(name), "digits", digits.predictions(wrong=wrong))  # type: ignore[arg-type]
    settle()
    http.patch("/api/v1/challenges/digits", json={"state": "closed"}, headers=auth(organizer))
    assert http.post("/api/v1/challenges/digits/finalize", headers=auth(organizer)).is_success

    page.goto("/c/digits")
    page.get_by_role("link", name="Shake-up").click()
    expect(page.locator("h1")).to_have_text("The shake-up")
    points = chart_points(page, "shakeup-chart")
    assert {(p["team"], p["x"], p["y"]) for p in points} == {
        ("ada", 1, 3),
        ("bob", 2, 1),
        ("cyd", 3, 2),
    }
    expect(page.locator("table.shakeup tbody tr")).to_have_count(3)


def test_efficiency_toggle_and_chart(page: Any, http: httpx.Client, make_user: Any) -> None:
    organizer = make_user("olga", "organizer")
    digits = create_challenge(http, organizer, submission_kinds=["csv", "checkpoint"])  # type: ignore[arg-type]
    response = http.put(
        "/api/v1/challenges/digits/hidden-inputs",
        content=npy_rows(len(digits.labels)),
        headers=auth(organizer),
    )
    assert response.is_success, response.text
    open_challenge_now(http, organizer, "digits")  # type: ignore[arg-type]
    submit(http, make_user("ada"), "digits", digits.predictions())  # type: ignore[arg-type]
    submit(http, make_user("bob"), "digits", digits.predictions(wrong={0}))  # type: ignore[arg-type]
    settle()
    seed_figures(FIGURES)

    page.goto("/c/digits")
    params = page.locator("table.leaderboard th", has_text="Params")
    expect(params).to_be_hidden()
    page.get_by_label("Model size and speed").check()
    expect(params).to_be_visible()
    expect(page.locator("table.leaderboard tbody tr").first.locator("td.eff").first).to_have_text(
        "1,199,882"
    )
    points = chart_points(page, "efficiency-chart")
    assert sorted((p["team"], p["x"]) for p in points) == [("ada", 1_199_882), ("bob", 101_770)]
    # The choice is remembered.
    page.reload()
    expect(page.locator("table.leaderboard th", has_text="Params")).to_be_visible()
