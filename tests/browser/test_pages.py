"""The pages in real Chromium, against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import BrowserLog, open_context, watch
from tests.conftest import PASSWORD, auth, create_challenge, open_challenge_now, submit

# Shorter than 64 characters, the longest team name.
HOSTILE_NAME = "<script>__pwned=1</script><img src=x onerror=__pwned=2>"
POLL_TIMEOUT_MS = 15_000


def open_digits(http: httpx.Client, organizer: str) -> Any:
    fixture = create_challenge(http, organizer)  # type: ignore[arg-type]
    open_challenge_now(http, organizer, fixture.slug)  # type: ignore[arg-type]
    return fixture


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_leaderboard_updates_without_reload(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    paul, sam = make_user("paul"), make_user("sam")
    digits = open_digits(http, organizer)
    submit(http, paul, "digits", digits.predictions(wrong={0, 3}))  # type: ignore[arg-type]
    page.goto("/c/digits")
    rows = page.locator("table.leaderboard tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.team")).to_have_text("paul")
    page.evaluate("window.__sameDocument = true")

    submit(http, sam, "digits", digits.predictions())  # type: ignore[arg-type]
    expect(rows).to_have_count(2, timeout=POLL_TIMEOUT_MS)
    expect(rows.first.locator("td.team")).to_have_text("sam")
    # The score, then its bootstrap interval (and ≈ when not significantly ahead).
    expect(rows.first.locator("td.score")).to_have_text(re.compile(r"^1\.00000( ± |$)"))
    expect(rows.first).to_have_class(re.compile(r"\bchanged\b"))
    expect(rows.nth(1).locator("td.team")).to_have_text("paul")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    expect(page.locator(".board-status")).to_contain_text("Updated")

    # The team page draws its chart next to the leader's.
    page.get_by_role("link", name="paul", exact=True).click()
    expect(page.locator("h1")).to_have_text("paul")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('score-chart'))"
    )
    labels = page.evaluate(
        "() => Chart.getChart(document.getElementById('score-chart')).data.datasets"
        ".map(d => d.label)"
    )
    assert labels == ["paul", "sam (leader)"]


def test_sign_in_upload_and_sign_out(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    make_user("paul")
    digits = open_digits(http, organizer)
    page.goto("/c/digits")
    page.get_by_role("link", name="Sign in to take part").click()
    page.get_by_label("Username").fill("paul")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/c/digits$"))

    page.get_by_role("button", name="Join the challenge").click()
    expect(page).to_have_url(re.compile(r"/c/digits/submissions$"))
    page.get_by_label("File").set_input_files(
        files=[
            {"name": "preds.csv", "mimeType": "text/csv", "buffer": digits.predictions(wrong={0})}
        ]
    )
    page.get_by_label("Message").fill("my first cnn")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("received")
    row = page.locator("table.submissions tbody tr").first
    expect(row.locator(".status")).to_have_text("scored")
    expect(row.locator("td.score")).to_have_text(f"{33 / 34:.5f}")
    expect(row).to_contain_text("my first cnn")

    # A rejected file explains itself and costs nothing.
    page.get_by_label("File").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"id,label\n0,1\n"}]
    )
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("predictions rejected")
    expect(page.locator("table.submissions tbody tr")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/c/digits/submissions")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_private_scores_never_reach_the_browser_before_finalize(
    chromium: Any,
    live_url: str,
    browser_log: BrowserLog,
    page: Any,
    http: httpx.Client,
    make_user: Callable[..., str],
) -> None:
    organizer = make_user("olga", "organizer")
    paul, sam = make_user("paul"), make_user("sam")
    digits = open_digits(http, organizer)
    private_ids = [i for i in range(100) if i % 3 != 0]
    submit(http, paul, "digits", digits.predictions(wrong=set(private_ids[:25])))  # type: ignore[arg-type]
    submit(http, sam, "digits", digits.predictions(wrong={0, 3}))  # type: ignore[arg-type]
    secret = f"{41 / 66:.4f}"  # paul's private score, 0.62121...

    seen: list[Any] = []
    page.on(
        "response",
        lambda r: seen.append(r) if r.request.resource_type in ("document", "fetch") else None,
    )

    def visit(tab: Any, path: str) -> None:
        tab.goto(path)
        assert secret not in tab.content(), path
        for response in seen:
            assert secret not in response.text(), response.url
        seen.clear()

    for path in ("/", "/c/digits?board=private", "/c/digits/teams/paul", "/c/digits"):
        visit(page, path)
    # Wait for the board to poll the JSON API once.
    with page.expect_response(re.compile(r"/leaderboard\?board=public")) as polled:
        pass
    assert secret not in polled.value.text()

    # The organizer on a projector: still nothing private.
    context = open_context(chromium, live_url, browser_log)
    organizer_tab = watch(context.new_page(), browser_log)
    sign_in(organizer_tab, "olga")
    for path in ("/c/digits?projector=1", "/c/digits/submissions", "/c/digits/teams/sam"):
        organizer_tab.goto(path)
        assert secret not in organizer_tab.content(), path
    expect(organizer_tab.get_by_role("link", name="Private (final)")).to_have_count(0)

    http.patch("/api/v1/challenges/digits", json={"state": "closed"}, headers=auth(organizer))
    response = http.post("/api/v1/challenges/digits/finalize", headers=auth(organizer))
    assert response.status_code == 200
    page.goto("/c/digits")
    expect(page.locator("#board-title")).to_have_text("Private leaderboard")
    rows = page.locator("table.leaderboard tbody tr")
    expect(rows.nth(0).locator("td.team")).to_have_text("sam")
    expect(rows.nth(0).locator("td.move")).to_have_text("▲ 1")
    expect(rows.nth(1).locator("td.move")).to_have_text("▼ 1")
    expect(rows.nth(1).locator("td.score")).to_contain_text(secret)
    context.close()


def test_script_in_a_team_name_stays_text(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    paul, sam = make_user("paul"), make_user("sam")
    digits = open_digits(http, organizer)
    http.post("/api/v1/challenges/digits/join", headers=auth(paul))
    renamed = http.patch(
        "/api/v1/challenges/digits/team", json={"name": HOSTILE_NAME}, headers=auth(paul)
    )
    assert renamed.status_code == 200, renamed.text
    submit(http, paul, "digits", digits.predictions(), message=HOSTILE_NAME)  # type: ignore[arg-type]
    page.goto("/c/digits")
    team_cell = page.locator("table.leaderboard td.team").first
    expect(team_cell).to_have_text(HOSTILE_NAME)
    # Again after the board re-renders itself from JSON.
    submit(http, sam, "digits", digits.predictions(wrong={0}))  # type: ignore[arg-type]
    expect(page.locator("table.leaderboard tbody tr")).to_have_count(2, timeout=POLL_TIMEOUT_MS)
    expect(team_cell).to_have_text(HOSTILE_NAME)
    assert page.locator("table.leaderboard img, table.leaderboard script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"

    team_cell.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(HOSTILE_NAME)
    assert page.locator("main img, main script:not([type='application/json'])").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_docs_render_offline(page: Any, browser_log: BrowserLog) -> None:
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Podium")
    expect(page.locator(".opblock-summary-path").filter(has_text="/api/v1/health")).to_have_count(1)
    assert browser_log.outside_requests == []


def test_pages_fit_a_phone(
    chromium: Any,
    live_url: str,
    browser_log: BrowserLog,
    http: httpx.Client,
    make_user: Callable[..., str],
) -> None:
    organizer = make_user("olga", "organizer")
    paul = make_user("paul")
    digits = open_digits(http, organizer)
    submit(http, paul, "digits", digits.predictions())  # type: ignore[arg-type]
    context = open_context(
        chromium, live_url, browser_log, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    phone = watch(context.new_page(), browser_log)
    for path in ("/", "/c/digits", "/c/digits/teams/paul", "/login"):
        phone.goto(path)
        overflow = phone.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    context.close()
    assert browser_log.errors == []
