"""The console's People and Announcements pages in real Chromium: a roster import whose
links come down as a CSV, a student using one, disqualify and reinstate, an announcement
with its preview. Each step is checked on the page and through the API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import BrowserLog, open_context, watch
from tests.browser.test_pages import open_digits, sign_in
from tests.conftest import auth, submit

ROSTER = (
    b"username,display_name,email,student_id\nana,Ana Lima,ana@uni.edu,S001\nben,Ben Ode,,S002\n"
)
NEW_PASSWORD = "blue-river-7-stones"


def _participants(http: httpx.Client, token: str) -> dict[str, dict[str, Any]]:
    response = http.get("/api/v1/challenges/digits/participants", headers=auth(token))
    assert response.status_code == 200, response.text
    return {row["username"]: row for row in response.json()}


def _board(http: httpx.Client) -> list[str]:
    return [e["team"] for e in http.get("/api/v1/challenges/digits/leaderboard").json()["entries"]]


def test_roster_links_csv_moderation_and_an_announcement(
    page: Any,
    chromium: Any,
    live_url: str,
    browser_log: BrowserLog,
    http: httpx.Client,
    make_user: Callable[..., str],
    tmp_path: Path,
) -> None:
    olga = make_user("olga", "organizer")
    paul = make_user("paul")
    digits = open_digits(http, olga)
    assert submit(http, paul, "digits", digits.predictions(wrong={0}))["status_code"] == 201  # type: ignore[arg-type]
    sign_in(page, "olga")
    page.goto("/manage/digits")
    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()

    # 1. Roster import: the links are shown once, and come down as a CSV.
    page.get_by_label("Roster CSV").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": ROSTER}]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="2 accounts created and invited")).to_be_visible()
    expect(page.locator("#links-once")).to_contain_text("shown once")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the links (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "digits-sign-in-links.csv"
    saved = tmp_path / "links.csv"
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [r["username"] for r in rows] == ["ana", "ben"]
    for row in rows:
        expect(page.locator(f'tr[data-username="{row["username"]}"]')).to_contain_text(row["url"])
    invited = _participants(http, olga)
    assert invited["ana"]["status"] == "invited" and invited["ana"]["student_id"] == "S001"

    # A student uses her link in a browser of her own.
    student = watch(open_context(chromium, live_url, browser_log).new_page(), browser_log)
    student.goto(rows[0]["url"])
    student.get_by_label("Password", exact=False).first.fill(NEW_PASSWORD)
    student.get_by_label("Password again").fill(NEW_PASSWORD)
    student.get_by_role("button", name="Set the password and sign in").click()
    expect(student.get_by_role("link", name="ana", exact=True)).to_be_visible()
    student.context.close()
    token = http.post("/api/v1/tokens", json={"username": "ana", "password": NEW_PASSWORD})
    assert token.status_code == 201, token.text
    # The page does not show the links again.
    page.get_by_role("link", name="Back to People").click()
    expect(page.locator("body")).not_to_contain_text(rows[1]["url"])

    # 2. Disqualify with a reason, then reinstate.
    team = page.locator('tr[data-team="paul"]')
    team.get_by_label("Reason").fill("shared predictions with another team")
    team.get_by_role("button", name="Disqualify").click()
    expect(page.get_by_role("status")).to_contain_text("The team is disqualified")
    expect(team).to_contain_text("shared predictions with another team")
    assert _board(http) == []
    assert _participants(http, olga)["paul"]["status"] == "disqualified"
    team.get_by_role("button", name="Reinstate").click()
    expect(page.get_by_role("status")).to_contain_text("The team is reinstated")
    expect(team.get_by_role("button", name="Disqualify")).to_be_visible()
    assert _board(http) == ["paul"]
    assert _participants(http, olga)["paul"]["status"] == "active"

    # 3. An announcement: preview (the challenge page's renderer), then post.
    page.get_by_role("link", name="Announcements").click()
    page.get_by_label("Title").fill("Office hours")
    page.get_by_label("Text (Markdown)").fill("Friday at **10:00**, room B2.")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview.locator("strong")).to_have_text("10:00")
    assert http.get("/api/v1/challenges/digits/announcements").json() == []
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The announcement is posted.")
    (posted,) = http.get("/api/v1/challenges/digits/announcements").json()
    assert posted["title"] == "Office hours"
    page.goto("/c/digits")
    expect(page.locator("article.announcement strong")).to_have_text("10:00")
    assert re.search(r"room B2", page.content())
