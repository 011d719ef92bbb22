"""Baseline rows in real Chromium: the live board re-renders them unranked between the
teams, and the team chart draws them as horizontal lines."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.test_pages import POLL_TIMEOUT_MS, open_digits
from tests.conftest import auth, submit


def test_baseline_rows_on_the_live_board_and_the_team_chart(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    paul, sam = make_user("paul"), make_user("sam")
    digits = open_digits(http, organizer)
    submit(http, paul, "digits", digits.predictions(wrong={0, 3, 6, 9}))  # type: ignore[arg-type]
    page.goto("/c/digits")
    rows = page.locator("table.leaderboard tbody tr")
    expect(rows).to_have_count(1)

    response = http.post(
        "/api/v1/challenges/digits/baselines",
        files={"file": ("cnn.csv", io.BytesIO(digits.predictions(wrong={0})), "text/csv")},
        data={"name": "CNN (course)"},
        headers=auth(organizer),
    )
    assert response.status_code == 201, response.text
    submit(http, sam, "digits", digits.predictions())  # type: ignore[arg-type]
    # Polled in: sam, then the baseline (no rank), then paul.
    expect(rows).to_have_count(3, timeout=POLL_TIMEOUT_MS)
    expect(rows.nth(0).locator("td.team")).to_have_text("sam")
    expect(rows.nth(1)).to_have_class("baseline-row")
    expect(rows.nth(1).locator("td.team")).to_have_text("Baseline · CNN (course)")
    expect(rows.nth(1).locator("td.rank")).to_have_text("–")
    expect(rows.nth(2).locator("td.rank")).to_have_text("2")

    page.goto("/c/digits/teams/paul")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('score-chart'))"
    )
    datasets = page.evaluate(
        "() => Chart.getChart(document.getElementById('score-chart')).data.datasets"
        ".map(d => [d.label, d.data.map(p => p.y)])"
    )
    line = next(d for d in datasets if d[0] == "Baseline · CNN (course)")
    assert len(line[1]) == 2 and line[1][0] == line[1][1]
