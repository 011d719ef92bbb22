"""A student's account pages in real Chromium, one live server for the module's story:
the welcome link sets a password and signs in (once), the account page changes it
(a wrong current password is refused with a message; other tokens stop working), and
an invite link lets the student into a private challenge after signing in."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import BrowserLog, open_context, watch
from tests.conftest import auth, create_challenge, open_challenge_now

FIRST = "chosen-by-the-student"
SECOND = "changed-on-the-account-page"


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()


def sign_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_welcome_link_account_page_and_invite_link(
    page: Any,
    chromium: Any,
    live_url: str,
    browser_log: BrowserLog,
    http: httpx.Client,
    make_user: Callable[..., str],
) -> None:
    olga = make_user("olga", "organizer")
    made = http.post(
        "/api/v1/users", json={"username": "kim", "display_name": "Kim Lee"}, headers=auth(olga)
    )
    assert made.status_code == 201, made.text
    link = made.json()["sign_in_link"]["path"]
    assert link.startswith("/welcome/")

    # The welcome link: two different passwords are refused, then the password is set.
    page.goto(link)
    expect(page.get_by_role("heading", name="Welcome, Kim Lee")).to_be_visible()
    page.locator('input[name="password"]').fill(FIRST)
    page.get_by_label("Password again").fill(FIRST + "x")
    page.get_by_role("button", name="Set the password and sign in").click()
    expect(page.get_by_role("alert")).to_have_text("the two passwords differ")
    page.locator('input[name="password"]').fill(FIRST)
    page.get_by_label("Password again").fill(FIRST)
    page.get_by_role("button", name="Set the password and sign in").click()
    expect(page).to_have_url(re.compile(r"/account\?welcome=1$"))
    expect(page.get_by_role("status")).to_have_text("Your password is set; you are signed in.")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The link works once: a second visit gets a clear page, not a form.
    other = open_context(chromium, live_url, browser_log)
    try:
        again = watch(other.new_page(), browser_log)
        response = again.goto(link)
        assert response is not None and response.status == 404
        expect(
            again.get_by_text("this sign-in link has expired or was already used")
        ).to_be_visible()
        expect(again.locator('input[name="password"]')).to_have_count(0)
    finally:
        other.close()

    # A token made with the first password stops working when the password changes.
    token = http.post(
        "/api/v1/tokens", json={"username": "kim", "password": FIRST, "name": "laptop"}
    ).json()["token"]
    assert http.get("/api/v1/me", headers=auth(token)).status_code == 200

    page.goto("/account")
    page.get_by_label("Current password").fill("not-my-password")
    page.locator('input[name="new"]').fill(SECOND)
    page.get_by_label("New password again").fill(SECOND)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("alert")).to_have_text("the current password is wrong")
    assert http.get("/api/v1/me", headers=auth(token)).status_code == 200

    page.get_by_label("Current password").fill(FIRST)
    page.locator('input[name="new"]').fill(SECOND)
    page.get_by_label("New password again").fill(SECOND)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed.")
    assert http.get("/api/v1/me", headers=auth(token)).status_code == 401
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # this session stays

    # A private challenge: a 404 until the invite link; signed out, the link asks to sign in.
    create_challenge(http, olga, slug="lab", visibility="private")  # type: ignore[arg-type]
    open_challenge_now(http, olga, "lab")  # type: ignore[arg-type]
    invite = http.post("/api/v1/challenges/lab/invite-link", headers=auth(olga))
    assert invite.status_code == 200, invite.text
    assert page.goto("/c/lab").status == 404
    sign_out(page)
    page.goto(invite.json()["path"])
    expect(page).to_have_url(re.compile(r"/login\?next="))
    sign_in(page, "kim", FIRST)
    expect(page.get_by_role("alert")).to_be_visible()  # the old password no longer works
    sign_in(page, "kim", SECOND)
    expect(page.get_by_text("You are invited to this challenge.")).to_be_visible()
    page.get_by_role("button", name="Enter the challenge").click()
    expect(page).to_have_url(re.compile(r"/c/lab$"))
    expect(page.get_by_text("Your team:")).to_be_visible()
    page.get_by_role("link", name="Submit and see your submissions").click()
    expect(page.get_by_role("heading", name="Your submissions")).to_be_visible()
