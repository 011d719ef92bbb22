"""The console's setup pages in real Chromium: create from the form, then upload MNIST.

The create form is filled like a person would: a wrong timezone first (the
inline message, what was typed kept), then fixed. The data page uploads the
MNIST files that ship with the server and the demo's solution through the
progress-bar script (an XMLHttpRequest), and a browser without JavaScript
posts the same form plainly. Every result is checked on the page and through
the API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from server.demo import BUNDLE_DIR, MNIST_DIR
from tests.browser.conftest import BrowserLog, open_context, watch
from tests.browser.test_pages import sign_in
from tests.conftest import auth

SLUG = "mnist-course"
TEST_IMAGES = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
TRAIN_LABELS = MNIST_DIR / "train-labels-idx1-ubyte.gz"
SOLUTION = BUNDLE_DIR / "solution.csv"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_upload(request: Any) -> bool:
    return request.method == "POST" and request.resource_type == "xhr"


def upload_with_progress(page: Any, section: str, path: Path) -> None:
    card = page.locator("section.card", has=page.locator(f"#{section}"))
    card.locator('input[type="file"]').set_input_files(str(path))
    # The progress script sends it (not a plain post), then goes to the page it led to.
    with page.expect_navigation(), page.expect_request(is_upload):
        card.get_by_role("button", name="Upload").click()
    expect(page.locator(".alert-ok")).to_contain_text("uploaded")


def test_create_from_the_form_then_upload_mnist(
    page: Any, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    sign_in(page, "olga")
    page.get_by_role("link", name="Manage").click()
    page.get_by_role("link", name="New challenge").click()

    page.get_by_label("Slug").fill(SLUG)
    page.get_by_label("Title").fill("MNIST for the course")
    page.get_by_label("Description").fill("## Digits\n\nClassify **28x28** images.")
    page.get_by_role("button", name="Preview the description").click()
    expect(page.locator("#description-preview h2", has_text="Digits")).to_be_visible()
    expect(page.locator("#description-preview strong")).to_have_text("28x28")

    page.get_by_label("Other metrics").fill("f1_macro")
    page.get_by_label("Closes at").fill("2031-06-30T18:00")
    page.get_by_label("Timezone").fill("Europe/Parris")
    page.get_by_label("Per day").fill("3")
    page.get_by_role("button", name="Create the challenge").click()

    expect(page.locator("#form-errors")).to_contain_text("Nothing was saved")
    expect(page.locator("#error-timezone")).to_contain_text("unknown timezone 'Europe/Parris'")
    expect(page.get_by_label("Slug")).to_have_value(SLUG)  # what was typed is kept
    expect(page.get_by_label("Per day")).to_have_value("3")
    assert http.get(f"/api/v1/challenges/{SLUG}", headers=auth(organizer)).status_code == 404

    page.get_by_label("Timezone").fill("Europe/Paris")
    page.get_by_role("button", name="Create the challenge").click()
    expect(page.get_by_role("status")).to_contain_text("Challenge created as a draft")
    created = http.get(f"/api/v1/challenges/{SLUG}", headers=auth(organizer)).json()
    assert created["state"] == "draft"
    assert created["metrics"] == ["accuracy", "f1_macro"]
    assert created["timezone"] == "Europe/Paris"
    assert created["limits"]["per_day"] == 3
    assert created["closes_at"].startswith("2031-06-30T18:00")

    upload_with_progress(page, "files-title", TEST_IMAGES)
    upload_with_progress(page, "files-title", TRAIN_LABELS)
    upload_with_progress(page, "solution-title", SOLUTION)

    images = page.locator(f'tr[data-file="{TEST_IMAGES.name}"]')
    expect(images.locator("td.rows")).to_have_text("10,000")
    expect(images.locator("code.sha256")).to_have_text(sha256(TEST_IMAGES))
    labels = page.locator(f'tr[data-file="{TRAIN_LABELS.name}"]')
    expect(labels.locator("td.rows")).to_have_text("60,000")
    expect(labels.locator("td.classes")).to_have_text("10: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
    facts = page.locator("#solution-facts")
    expect(facts.locator("code.sha256")).to_have_text(sha256(SOLUTION))
    expect(facts.locator("dd.rows")).to_have_text("10,000")
    expect(facts.locator("dd.split")).to_have_text("3,000 public / 7,000 private")
    expect(facts.locator("dd.classes")).to_have_text("10: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")

    files = http.get(f"/api/v1/challenges/{SLUG}/files", headers=auth(organizer)).json()
    assert {f["name"]: f["sha256"] for f in files} == {
        TEST_IMAGES.name: sha256(TEST_IMAGES),
        TRAIN_LABELS.name: sha256(TRAIN_LABELS),
    }
    assert http.get(f"/api/v1/challenges/{SLUG}", headers=auth(organizer)).json()["has_solution"]

    # A refused upload: the message on the page, nothing changed.
    page.locator("section.card", has=page.locator("#solution-title")).locator(
        'input[type="file"]'
    ).set_input_files(str(TRAIN_LABELS))
    page.locator("section.card", has=page.locator("#solution-title")).get_by_role(
        "button", name="Upload"
    ).click()
    expect(page.locator("#upload-refused")).to_contain_text("solution rejected")
    expect(page.locator("#solution-facts dd.rows")).to_have_text("10,000")


def test_the_data_form_posts_without_javascript(
    chromium: Any, live_url: str, http: httpx.Client, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    body = {"slug": SLUG, "title": "MNIST", "metric": "accuracy"}
    assert http.post("/api/v1/challenges", json=body, headers=auth(organizer)).status_code == 201
    log = BrowserLog()
    context = open_context(chromium, live_url, log, java_script_enabled=False)
    try:
        page = watch(context.new_page(), log)
        sign_in(page, "olga")
        page.goto(f"/manage/{SLUG}/data")
        card = page.locator("section.card", has=page.locator("#files-title"))
        card.locator('input[type="file"]').set_input_files(str(TRAIN_LABELS))
        card.get_by_label("Name").fill("labels.gz")
        card.get_by_role("button", name="Upload").click()
        expect(page.get_by_role("status")).to_have_text("File uploaded.")
        expect(page.locator('tr[data-file="labels.gz"] td.rows')).to_have_text("60,000")
    finally:
        context.close()
    files = http.get(f"/api/v1/challenges/{SLUG}/files", headers=auth(organizer)).json()
    assert [(f["name"], f["sha256"]) for f in files] == [("labels.gz", sha256(TRAIN_LABELS))]
    assert log.errors == [] and log.outside_requests == []
