"""The organizer console in real Chromium: close, then finalize after the confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.test_pages import open_digits, sign_in
from tests.conftest import auth, submit

FINALIZE_WARNING = "Finalizing reveals the private leaderboard to everyone; it cannot be undone."


def test_finalize_from_the_console_after_the_confirmation(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    paul = make_user("paul")
    digits = open_digits(http, organizer)
    submit(http, paul, "digits", digits.predictions(wrong={0, 3}))  # type: ignore[arg-type]
    sign_in(page, "olga")
    page.get_by_role("link", name="Manage").click()
    row = page.locator('tr[data-slug="digits"]')
    expect(row).to_contain_text("open")
    row.get_by_role("link", name="Digits").click()

    page.get_by_role("link", name="Close the challenge").click()
    expect(page.locator("#consequence")).to_contain_text("Closing stops new submissions")
    page.get_by_role("button", name="Close it now").click()
    expect(page.get_by_role("status")).to_have_text("The challenge is closed: no new submissions.")

    page.get_by_role("link", name="Finalize the challenge").click()
    expect(page.locator("#consequence")).to_have_text(FINALIZE_WARNING)
    # Cancel changes nothing.
    page.get_by_role("link", name="Cancel").click()
    state = http.get("/api/v1/challenges/digits", headers=auth(organizer)).json()["state"]
    assert state == "closed"

    page.get_by_role("link", name="Finalize the challenge").click()
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_role("status")).to_contain_text("private leaderboard is public")
    expect(page.get_by_text("nothing more to do")).to_be_visible()
    state = http.get("/api/v1/challenges/digits", headers=auth(organizer)).json()["state"]
    assert state == "finalized"
