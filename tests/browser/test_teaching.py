"""The teaching pages in real Chromium (issue 17): the team's curves and overfitting meter,
the class atlas's charts and the side-by-side comparison, under the CSP, with no
console error (the page fixture fails the test on any, and on any outside request).

One test, so one live server for the module.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BrowserLog
from tests.browser.test_pages import open_digits, sign_in
from tests.conftest import auth
from tests.insight.helpers import settle

CHART_OF = "canvas => !!(window.Chart && Chart.getChart(canvas))"


def _sheet(activation: str, dropout: float, val_metric: float, hidden: list[int]) -> str:
    curve = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "val_metric": val_metric - 0.1 / e}
        for e in range(1, 4)
    ]
    return json.dumps(
        {
            "model": "mlp",
            "hidden_sizes": hidden,
            "activation": activation,
            "learning_rate": 0.001 if dropout else 0.01,
            "dropout": dropout,
            "val_metric": val_metric,
            "curve": curve,
        }
    )


def _submit(http: httpx.Client, token: str, content: bytes, metadata: str) -> int:
    response = http.post(
        "/api/v1/challenges/digits/submissions",
        files={"file": ("p.csv", io.BytesIO(content), "text/csv")},
        data={"metadata": metadata},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _every_canvas_drawn(page: Any, selector: str) -> int:
    canvases = page.locator(selector)
    count = canvases.count()
    for index in range(count):
        page.wait_for_function(CHART_OF, arg=canvases.nth(index).element_handle())
    return count


def test_curves_meter_atlas_and_compare_render_without_console_errors(
    page: Any, http: httpx.Client, make_user: Callable[..., str], browser_log: BrowserLog
) -> None:
    organizer = make_user("olga", "organizer")
    paul, sam = make_user("paul"), make_user("sam")
    digits = open_digits(http, organizer)
    first = _submit(http, paul, digits.predictions(wrong={0}), _sheet("relu", 0.2, 0.99, [128]))
    second = _submit(http, paul, digits.predictions(), _sheet("sigmoid", 0.0, 0.5, [64, 32]))
    _submit(http, sam, digits.predictions(wrong={0, 3}), _sheet("sigmoid", 0.0, 0.9, [32]))
    settle()  # the bootstrap intervals the meter reads

    sign_in(page, "paul")
    # The submissions page: a curve per fact sheet, and the meter.
    page.goto("/c/digits/submissions")
    assert _every_canvas_drawn(page, "canvas.curve-chart") == 2
    assert _every_canvas_drawn(page, "#meter-chart") == 1

    # The team page: the meter, the marked submission (public 1.0 against validation 0.5).
    page.goto("/c/digits/teams/paul")
    expect(page.locator("#overfitting-meter")).to_be_visible()
    assert _every_canvas_drawn(page, "#meter-chart") == 1
    points = page.evaluate(
        "() => Chart.getChart(document.getElementById('meter-chart')).data.datasets[0].data"
    )
    # Public scores only: 33 of the 34 public rows right, then all of them.
    assert sorted(p["y"] for p in points) == [pytest.approx(33 / 34), 1.0]
    expect(page.locator(f"#meter-{second}.meter-marked")).to_be_visible()
    expect(page.locator(f"#meter-{first}")).not_to_have_class("meter-marked")

    # The class atlas: every chart that has groups is drawn.
    page.goto("/c/digits/atlas")
    sections = page.locator("section.atlas-chart")
    expect(sections.first).to_be_visible()
    drawn = _every_canvas_drawn(page, "canvas.atlas-canvas")
    assert drawn == 5, drawn  # model, activation, depth, width, learning rate (no parameters)
    labels = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas.atlas-canvas')).data.labels"
    )
    assert labels == ["mlp (n=3)"]

    # Side by side, reached from the submissions page.
    page.goto("/c/digits/submissions")
    page.locator(f"#fact-sheet-{second} summary").click()
    page.get_by_role("link", name=f"Compare with #{first}").click()
    expect(page.locator("h1")).to_have_text("Compare two submissions")
    expect(page.locator("table.compare-table tr.differs").first).to_be_visible()
    assert _every_canvas_drawn(page, "canvas.curve-chart") == 2
    assert browser_log.errors == []
