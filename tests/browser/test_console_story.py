"""Issue 16's "Must show": the whole organizer story, in real Chromium, in the browser only.

An admin signs in, creates a challenge from the form, uploads MNIST files cut from the
real MNIST that ships with the server (300 test images, their labels as the solution),
opens it after the confirmation, imports a roster of five students and downloads their
one-time links. One student, in a browser of her own, uses her link, sets a password and
submits a predictions file through the page. The admin disqualifies and reinstates her
team with a reason, posts an announcement (she sees it), closes and finalizes the
challenge after the confirmation, and downloads the private leaderboard from Exports.

Every step is checked on the page and through the API (httpx against the same live
server with the admin's token), and no page may log an error.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from playwright.sync_api import expect

from server.demo import MNIST_DIR, read_idx_labels, solution_csv
from tests.browser.conftest import BrowserLog, open_context, watch
from tests.browser.test_pages import sign_in
from tests.conftest import auth

SLUG = "mnist-fall"
ROWS = 300
STUDENTS = ["ana", "ben", "chloe", "dev", "eli"]
ROSTER = "username,display_name,email,student_id\n" + "".join(
    f"{name},{name.title()} Student,{name}@uni.edu,S{i:03d}\n"
    for i, name in enumerate(STUDENTS, start=1)
)
NEW_PASSWORD = "digits-all-term-long"
WRONG = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}  # rows ana gets wrong (of 300)
REASON = "predictions shared with another team"
FINALIZE_WARNING = "Finalizing reveals the private leaderboard to everyone; it cannot be undone."


def cut_idx(source: Path, target: Path, rows: int) -> Path:
    """The first ``rows`` items of an IDX file (labels or images), gzipped, as MNIST ships them."""
    with gzip.open(source, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    item = int(np.prod(shape[1:])) if dims > 1 else 1
    header = data[:4] + rows.to_bytes(4, "big") + data[8 : 4 + 4 * dims]
    body = data[4 + 4 * dims : 4 + 4 * dims + rows * item]
    target.write_bytes(gzip.compress(header + body))
    return target


def predictions(labels: np.ndarray, wrong: set[int]) -> bytes:
    out = io.StringIO()
    out.write("id,label\n")
    for i, label in enumerate(labels):
        out.write(f"{i},{(int(label) + 1) % 10 if i in wrong else int(label)}\n")
    return out.getvalue().encode()


def accuracy(labels: np.ndarray, usage: list[str], wrong: set[int], board: str) -> float:
    rows = [i for i in range(len(labels)) if usage[i] == board]
    return sum(i not in wrong for i in rows) / len(rows)


def collect_page_errors(page: Any, log: BrowserLog) -> Any:
    """The conftest's console watch, plus uncaught exceptions of the page itself."""
    page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
    return page


def confirm_lifecycle(page: Any, title: str, what: str, button: str) -> None:
    page.get_by_role("link", name=title).click()
    expect(page.locator("#consequence")).to_contain_text(what)
    page.get_by_role("button", name=button, exact=True).click()


def test_the_whole_organizer_story_in_the_browser(
    page: Any,
    chromium: Any,
    live_url: str,
    browser_log: BrowserLog,
    http: httpx.Client,
    make_user: Callable[..., str],
    tmp_path: Path,
) -> None:
    admin = make_user("ada", "admin")
    collect_page_errors(page, browser_log)
    images = cut_idx(
        MNIST_DIR / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-images-idx3-ubyte.gz", ROWS
    )
    labels = read_idx_labels(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[:ROWS]
    solution = tmp_path / "solution.csv"
    solution.write_bytes(solution_csv(labels))
    usage = [row["usage"] for row in csv.DictReader(io.StringIO(solution.read_text()))]
    public_share = usage.count("public")

    def api(path: str) -> Any:
        response = http.get(f"/api/v1/challenges/{SLUG}{path}", headers=auth(admin))
        assert response.status_code == 200, response.text
        return response.json() if "json" in response.headers["content-type"] else response.text

    # 1. Sign in as an admin.
    sign_in(page, "ada")
    page.get_by_role("link", name="Manage").click()
    expect(page.get_by_role("link", name="New challenge")).to_be_visible()
    assert http.get("/api/v1/me", headers=auth(admin)).json()["role"] == "admin"

    # 2. Create the challenge from the form.
    page.get_by_role("link", name="New challenge").click()
    page.get_by_label("Slug").fill(SLUG)
    page.get_by_label("Title").fill("MNIST, fall term")
    page.get_by_label("Description").fill("## Digits\n\nClassify **28x28** images.")
    page.get_by_label("Closes at").fill("2031-06-30T18:00")
    page.get_by_label("Timezone").fill("Europe/Paris")
    page.get_by_role("button", name="Create the challenge").click()
    expect(page.get_by_role("status")).to_contain_text("Challenge created as a draft")
    created = api("")
    assert (created["state"], created["title"]) == ("draft", "MNIST, fall term")
    assert created["timezone"] == "Europe/Paris"

    # 3. Upload the MNIST images and the solution (through the progress-bar script).
    for section, path in (("files-title", images), ("solution-title", solution)):
        card = page.locator("section.card", has=page.locator(f"#{section}"))
        card.locator('input[type="file"]').set_input_files(str(path))
        with page.expect_navigation():
            card.get_by_role("button", name="Upload").click()
        expect(page.locator(".alert-ok")).to_contain_text("uploaded")
    expect(page.locator(f'tr[data-file="{images.name}"] td.rows')).to_have_text(str(ROWS))
    facts = page.locator("#solution-facts")
    expect(facts.locator("dd.rows")).to_have_text(str(ROWS))
    expect(facts.locator("dd.split")).to_have_text(
        f"{public_share} public / {ROWS - public_share} private"
    )
    expect(page.locator("body")).not_to_contain_text("0,7,public")  # its rows stay hidden
    assert [f["name"] for f in api("/files")] == [images.name]
    assert api("")["has_solution"] is True

    # 4. Open it, after the confirmation.
    page.goto(f"/manage/{SLUG}")
    confirm_lifecycle(page, "Open the challenge", "Opening lets participants join", "Open it")
    expect(page.get_by_role("status")).to_have_text("The challenge is open.")
    assert api("")["state"] == "open"

    # 5. Import a roster of five; the links come down as a CSV.
    page.get_by_role("link", name="People").click()
    page.get_by_label("Roster CSV").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": ROSTER.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="5 accounts created and invited")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the links (CSV)").click()
    saved = tmp_path / "links.csv"
    download_info.value.save_as(saved)
    links = {r["username"]: r["url"] for r in csv.DictReader(io.StringIO(saved.read_text()))}
    assert list(links) == STUDENTS
    participants = {row["username"]: row for row in api("/participants")}
    assert {name: participants[name]["status"] for name in STUDENTS} == dict.fromkeys(
        STUDENTS, "invited"
    )
    assert participants["chloe"]["student_id"] == "S003"

    # 6. Ana, in a browser of her own, uses her link, sets a password and submits.
    student = collect_page_errors(
        watch(open_context(chromium, live_url, browser_log).new_page(), browser_log),
        browser_log,
    )
    student.goto(links["ana"])
    student.get_by_label("Password", exact=False).first.fill(NEW_PASSWORD)
    student.get_by_label("Password again").fill(NEW_PASSWORD)
    student.get_by_role("button", name="Set the password and sign in").click()
    expect(student.get_by_role("link", name="ana", exact=True)).to_be_visible()
    student.goto(f"/c/{SLUG}")
    student.get_by_role("button", name="Join the challenge").click()
    expect(student).to_have_url(re.compile(rf"/c/{SLUG}/submissions$"))
    student.get_by_label("File").set_input_files(
        files=[{"name": "preds.csv", "mimeType": "text/csv", "buffer": predictions(labels, WRONG)}]
    )
    student.get_by_role("button", name="Submit", exact=True).click()
    expect(student.get_by_role("status")).to_contain_text("received")
    public_score = accuracy(labels, usage, WRONG, "public")
    row = student.locator("table.submissions tbody tr").first
    expect(row.locator(".status")).to_have_text("scored")
    expect(row.locator("td.score")).to_have_text(f"{public_score:.5f}")
    (submission,) = api("/submissions")
    assert (submission["status"], submission["public_score"]) == ("scored", public_score)
    assert api("/leaderboard")["entries"][0]["team"] == "ana"
    assert {row["username"]: row for row in api("/participants")}["ana"]["status"] == "active"

    # 7. Disqualify her team with a reason, then reinstate it.
    page.goto(f"/manage/{SLUG}/people")
    team = page.locator('tr[data-team="ana"]')
    team.get_by_label("Reason").fill(REASON)
    team.get_by_role("button", name="Disqualify").click()
    expect(page.get_by_role("status")).to_contain_text("The team is disqualified")
    expect(team).to_contain_text(REASON)
    assert api("/leaderboard")["entries"] == []
    assert {row["username"]: row for row in api("/participants")}["ana"]["status"] == (
        "disqualified"
    )
    team.get_by_role("button", name="Reinstate").click()
    expect(page.get_by_role("status")).to_contain_text("The team is reinstated")
    expect(team.get_by_role("button", name="Disqualify")).to_be_visible()
    assert [e["team"] for e in api("/leaderboard")["entries"]] == ["ana"]

    # 8. Post an announcement; Ana sees it on the challenge page.
    page.get_by_role("link", name="Announcements").click()
    page.get_by_label("Title").fill("Final picks")
    page.get_by_label("Text (Markdown)").fill("The board closes on **Friday**.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview strong")).to_have_text("Friday")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The announcement is posted.")
    assert [a["title"] for a in api("/announcements")] == ["Final picks"]
    student.goto(f"/c/{SLUG}")
    expect(student.locator("article.announcement strong")).to_have_text("Friday")
    expect(student.locator("article.announcement")).to_contain_text("Final picks")

    # 9. Close, then finalize after the confirmation (its text checked).
    page.goto(f"/manage/{SLUG}")
    confirm_lifecycle(page, "Close the challenge", "Closing stops new submissions", "Close it now")
    expect(page.get_by_role("status")).to_have_text("The challenge is closed: no new submissions.")
    assert api("")["state"] == "closed"
    page.get_by_role("link", name="Finalize the challenge").click()
    expect(page.locator("#consequence")).to_have_text(FINALIZE_WARNING)
    page.get_by_role("button", name="Finalize", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("private leaderboard is public")
    assert api("")["state"] == "finalized"

    # 10. Download the private export and check what it holds.
    page.get_by_role("link", name="Exports").click()
    private = page.locator("#exports li", has_text="Private leaderboard")
    with page.expect_download() as download_info:
        private.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"{SLUG}-private-leaderboard.csv"
    exported = tmp_path / "private.csv"
    download.save_as(exported)
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert [r["team"] for r in rows] == ["ana"]
    private_score = accuracy(labels, usage, WRONG, "private")
    assert float(rows[0]["score"]) == private_score
    assert (rows[0]["members"], rows[0]["student_ids"]) == ("ana", "S001")
    assert exported.read_bytes().decode() == api("/export?board=private&format=csv")
    assert api("/leaderboard?board=private")["entries"][0]["score"] == private_score

    student.context.close()
    assert browser_log.errors == []
    assert browser_log.outside_requests == []
