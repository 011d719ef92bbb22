"""The console's setup pages through the ASGI app: create, edit, preview, bundle, clone, data.

Each form goes through the API's own schema and services; every check here
reads the result back through the API too.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import re
import struct
import zipfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, create_challenge
from tests.security.leaks import SOLUTION_LINE
from tests.web.conftest import sign_in

Clients = Callable[[], TestClient]


def settings_form(csrf: str, **changes: Any) -> dict[str, Any]:
    """A complete create form as a browser posts it (checkbox lists as lists)."""
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "slug": "course-digits",
        "title": "Course digits",
        "description": "# Welcome\n\nClassify **digits**.",
        "metric": "accuracy",
        "tie_breakers": "f1_macro",
        "opens_at": "",
        "closes_at": "2031-06-30T18:00",
        "timezone": "Europe/Paris",
        "visibility": "unlisted",
        "max_team_size": "3",
        "final_selection_count": "2",
        "allowed_email_domains": "",
        "limits.per_day": "4",
        "limits.per_window.count": "2",
        "limits.per_window.minutes": "60",
        "limits.total": "40",
        "limits.min_interval_seconds": "30",
        "submission_kinds": ["csv"],
        "checkpoint_spec.input_shape": "1, 28, 28",
        "checkpoint_spec.input_dtype": "float32",
        "checkpoint_spec.batch_size": "256",
        "checkpoint_spec.time_limit_seconds": "60",
        "checkpoint_spec.memory_limit_mb": "4096",
        "checkpoint_spec.formats": ["safetensors"],
        "late_submissions": "on",
        "atlas_visibility": "after_finalize",
        "tracks": "tiny: 10000, small: 200000",
        "intent": "save",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def field_errors(page: str, name: str) -> list[str]:
    anchor = "error-" + name.replace(".", "-")
    return [html.unescape(m) for m in re.findall(rf'id="{anchor}">(.*?)</p>', page, re.S)]


def input_value(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def read(api: TestClient, token: str, slug: str) -> Any:
    response = api.get(f"/api/v1/challenges/{slug}", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_create_shows_inline_errors_keeps_input_then_creates(
    api: TestClient, organizer_token: str, browser_client: Clients
) -> None:
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    blank = olga.get("/manage/new")
    assert blank.status_code == 200
    assert input_value(blank.text, "limits.per_day") == "5"  # the schema's default
    assert 'action="/manage/new/bundle"' in blank.text

    bad = settings_form(
        csrf,
        title="",
        opens_at="2031-07-01T00:00",
        timezone="Mars/Olympus",
        max_team_size="many",
        tracks="tiny",
        **{"limits.per_window.minutes": ""},
    )
    refused = olga.post("/manage/new", data=bad)
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text
    assert field_errors(refused.text, "title") == ["String should have at least 1 character"]
    assert "unknown timezone 'Mars/Olympus'" in field_errors(refused.text, "timezone")[0]
    assert "valid integer" in field_errors(refused.text, "max_team_size")[0]
    assert field_errors(refused.text, "limits.per_window.minutes") == ["Field required"]
    assert field_errors(refused.text, "tracks") == ["Field required"]  # no budget
    # What the user typed is still there.
    assert input_value(refused.text, "timezone") == "Mars/Olympus"
    assert input_value(refused.text, "max_team_size") == "many"
    assert input_value(refused.text, "slug") == "course-digits"
    assert (
        api.get("/api/v1/challenges/course-digits", headers=auth(organizer_token)).status_code
        == 404
    )

    # A model-level refusal (the dates) lands next to the deadline.
    backwards = olga.post("/manage/new", data=settings_form(csrf, opens_at="2031-07-01T00:00"))
    assert backwards.status_code == 422
    assert field_errors(backwards.text, "closes_at") == ["closes_at must be after opens_at"]

    created = olga.post("/manage/new", data=settings_form(csrf), follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/manage/course-digits/data?created=1"
    body = read(api, organizer_token, "course-digits")
    assert body["state"] == "draft"
    assert body["metrics"] == ["accuracy", "f1_macro"]
    assert body["closes_at"].startswith("2031-06-30T18:00")
    assert body["timezone"] == "Europe/Paris"
    assert body["visibility"] == "unlisted"
    assert body["max_team_size"] == 3
    assert body["late_submissions"] is True
    assert body["limits"] == {
        "per_day": 4,
        "per_window": {"count": 2, "minutes": 60},
        "total": 40,
        "min_interval_seconds": 30,
    }
    assert body["description"] == "# Welcome\n\nClassify **digits**."
    assert body["atlas_visibility"] == "after_finalize"
    assert body["tracks"] == [
        {"name": "tiny", "max_parameters": 10000},
        {"name": "small", "max_parameters": 200000},
    ]

    # The same slug again: the service's 409, next to the slug.
    again = olga.post("/manage/new", data=settings_form(csrf))
    assert again.status_code == 409
    assert "already exists" in field_errors(again.text, "slug")[0]


def test_preview_renders_sanitized_markdown_and_saves_nothing(
    api: TestClient, organizer_token: str, browser_client: Clients
) -> None:
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    source = "## Rules\n\n*One* team each. <script>alert(1)</script> [x](javascript:alert(1))"
    preview = olga.post(
        "/manage/new", data=settings_form(csrf, description=source, intent="preview")
    )
    assert preview.status_code == 200
    shown = re.search(r'id="description-preview">(.*?)</section>', preview.text, re.S)
    assert shown
    assert "<h2>Rules</h2>" in shown.group(1)
    assert "<em>One</em>" in shown.group(1)
    assert "<script>" not in shown.group(1)
    assert 'href="javascript' not in shown.group(1)
    assert "## Rules" in preview.text  # the textarea keeps the source
    assert (
        api.get("/api/v1/challenges/course-digits", headers=auth(organizer_token)).status_code
        == 404
    )


def test_edit_saves_through_the_patch_service(
    api: TestClient, organizer_token: str, browser_client: Clients
) -> None:
    create_challenge(api, organizer_token, daily_submission_limit=7)
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    page = olga.get("/manage/digits/edit")
    assert page.status_code == 200
    assert input_value(page.text, "title") == "Digits"
    assert input_value(page.text, "limits.per_day") == "7"
    assert 'name="slug"' not in page.text  # in every URL: not editable

    form = settings_form(csrf, title="Digits, spring term", slug=None, tie_breakers="")
    form["limits.per_day"] = ""
    saved = olga.post("/manage/digits/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/manage/digits/edit?saved=1"
    body = read(api, organizer_token, "digits")
    assert body["title"] == "Digits, spring term"
    assert body["limits"]["per_day"] is None  # blank: no daily limit
    assert body["limits"]["total"] == 40
    assert body["metrics"] == ["accuracy"]
    assert "Settings saved." in olga.get(saved.headers["location"]).text

    refused = olga.post("/manage/digits/edit", data={**form, "metric": "no-such-metric"})
    assert refused.status_code == 422
    assert "unknown metric 'no-such-metric'" in html.unescape(refused.text)
    assert read(api, organizer_token, "digits")["metric"] == "accuracy"

    for state in ("open", "closed"):
        api.patch("/api/v1/challenges/digits", json={"state": state}, headers=auth(organizer_token))
    api.post("/api/v1/challenges/digits/finalize", headers=auth(organizer_token))
    frozen = olga.post("/manage/digits/edit", data=form)
    assert frozen.status_code == 409
    assert "finalized and can no longer change" in html.unescape(frozen.text)


def idx_labels(labels: list[int]) -> bytes:
    raw = bytes([0, 0, 8, 1]) + struct.pack(">I", len(labels)) + bytes(labels)
    return gzip.compress(raw, mtime=0)


def upload(
    client: TestClient, slug: str, what: str, filename: str, content: bytes, csrf: str, **data: str
) -> Any:
    return client.post(
        f"/manage/{slug}/data/{what}",
        files={"file": (filename, io.BytesIO(content), "application/octet-stream")},
        data={"csrf_token": csrf, **data},
        follow_redirects=False,
    )


def test_data_page_uploads_and_describes_without_showing_the_solution(
    api: TestClient, organizer_token: str, browser_client: Clients
) -> None:
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    assert olga.post("/manage/new", data=settings_form(csrf)).status_code == 200
    slug = "course-digits"
    labels = [(i * 7 + i // 10) % 10 for i in range(120)]
    solution = "id,label,usage\n" + "".join(
        f"{i},{label},{'public' if i % 4 == 0 else 'private'}\n" for i, label in enumerate(labels)
    )
    train = b"id,pixel0,label\n" + b"".join(b"%d,0.5,%d\n" % (i, i % 3) for i in range(50))

    response = upload(olga, slug, "files", "train.csv", train, csrf)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/manage/{slug}/data?uploaded=file"
    assert (
        upload(
            olga, slug, "files", "x", idx_labels(labels), csrf, name="labels-idx1-ubyte.gz"
        ).status_code
        == 303
    )
    assert (
        upload(olga, slug, "solution", "solution.csv", solution.encode(), csrf).status_code == 303
    )

    page = olga.get(f"/manage/{slug}/data?uploaded=solution").text
    assert "Solution uploaded" in page
    train_row = re.search(r'<tr data-file="train.csv">(.*?)</tr>', page, re.S)
    assert train_row
    assert hashlib.sha256(train).hexdigest() in train_row.group(1)
    assert '<td class="rows">50</td>' in train_row.group(1)
    assert "3: 0, 1, 2" in train_row.group(1)
    idx_row = re.search(r'<tr data-file="labels-idx1-ubyte.gz">(.*?)</tr>', page, re.S)
    assert idx_row and '<td class="rows">120</td>' in idx_row.group(1)
    facts = re.search(r'id="solution-facts">(.*?)</dl>', page, re.S)
    assert facts
    assert hashlib.sha256(solution.encode()).hexdigest() in facts.group(1)
    assert '<dd class="rows">120</dd>' in facts.group(1)
    assert "30 public / 90 private" in facts.group(1)
    assert "10: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in facts.group(1)

    # The API agrees, and no /manage page shows a row of the solution.
    body = read(api, organizer_token, slug)
    assert body["has_solution"] is True
    files = {
        f["name"]: f["sha256"]
        for f in api.get(f"/api/v1/challenges/{slug}/files", headers=auth(organizer_token)).json()
    }
    assert files["train.csv"] == hashlib.sha256(train).hexdigest()
    run = "".join(str(label) for label in labels[:12])
    for url in (f"/manage/{slug}", f"/manage/{slug}/data", f"/manage/{slug}/edit", "/manage"):
        text = olga.get(url).text
        assert not SOLUTION_LINE.search(text), url
        assert run not in re.sub(r"\D", "", text), url

    # A refused solution changes nothing and says why, next to its form.
    bad = upload(olga, slug, "solution", "s.csv", b"id,label,usage\n0,1,somewhere\n", csrf)
    assert bad.status_code == 422
    assert "The upload was refused" in bad.text
    assert read(api, organizer_token, slug)["has_solution"] is True
    assert "30 public / 90 private" in bad.text
    bad_name = upload(olga, slug, "files", "x", b"a", csrf, name="../etc")
    assert bad_name.status_code == 422
    assert "file name must be" in bad_name.text


def bundle_zip(slug: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("challenge.yaml", f"slug: {slug}\ntitle: Bundled\nmetric: accuracy\n")
        archive.writestr("solution.csv", "id,label,usage\n0,1,public\n1,2,private\n")
        archive.writestr("files/train.csv", "id,label\n0,1\n")
    return buffer.getvalue()


def test_create_from_bundle_clone_and_download(
    api: TestClient, organizer_token: str, browser_client: Clients
) -> None:
    olga = browser_client()
    csrf = sign_in(olga, "olga")
    made = olga.post(
        "/manage/new/bundle",
        files={"file": ("b.zip", io.BytesIO(bundle_zip("bundled")), "application/zip")},
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == "/manage/bundled/data?created=bundle"
    assert read(api, organizer_token, "bundled")["has_solution"] is True
    assert "train.csv" in olga.get(made.headers["location"]).text

    broken = olga.post(
        "/manage/new/bundle",
        files={"file": ("b.zip", io.BytesIO(b"not a zip"), "application/zip")},
        data={"csrf_token": csrf},
    )
    assert broken.status_code == 422
    assert "a bundle must be a zip" in broken.text

    detail = olga.get("/manage/bundled").text
    assert 'href="/manage/bundled/clone"' in detail
    assert 'href="/api/v1/challenges/bundled/bundle"' in detail
    assert olga.get("/api/v1/challenges/bundled/bundle").status_code == 200  # the cookie is enough

    form = olga.get("/manage/bundled/clone")
    assert input_value(form.text, "slug") == "bundled-copy"
    wrong = olga.post(
        "/manage/bundled/clone", data={"csrf_token": csrf, "slug": "No Spaces", "title": "x"}
    )
    assert wrong.status_code == 422
    assert "should match pattern" in wrong.text
    copy = olga.post(
        "/manage/bundled/clone",
        data={"csrf_token": csrf, "slug": "bundled-2027", "title": "Bundled 2027"},
        follow_redirects=False,
    )
    assert copy.status_code == 303
    assert copy.headers["location"] == "/manage/bundled-2027/edit"
    cloned = read(api, organizer_token, "bundled-2027")
    assert cloned["title"] == "Bundled 2027" and cloned["has_solution"] is True
    taken = olga.post(
        "/manage/bundled/clone", data={"csrf_token": csrf, "slug": "bundled-2027", "title": "x"}
    )
    assert taken.status_code == 409


def test_refusals_match_the_api(
    api: TestClient, organizer_token: str, make_user: Callable[..., str], browser_client: Clients
) -> None:
    create_challenge(api, organizer_token)  # public draft? drafts are hidden: 404 for others
    create_challenge(api, organizer_token, slug="shown")
    api.patch("/api/v1/challenges/shown", json={"state": "open"}, headers=auth(organizer_token))
    rival_token = make_user("rita", "organizer")
    make_user("paul")
    pages = ["/manage/{}/edit", "/manage/{}/data", "/manage/{}/clone"]

    anonymous = browser_client()
    for url in ["/manage/new", *[p.format("digits") for p in pages]]:
        response = anonymous.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    refused = anonymous.post(
        "/manage/digits/data/solution",
        files={"file": ("s.csv", io.BytesIO(b"id,label,usage\n"), "text/csv")},
        follow_redirects=False,
    )
    assert refused.headers["location"].startswith("/login")

    paul = browser_client()
    csrf = sign_in(paul, "paul")
    assert paul.get("/manage/new").status_code == 403
    assert paul.post("/manage/new", data=settings_form(csrf)).status_code == 403
    for url in pages:
        assert paul.get(url.format("shown")).status_code == 403
    assert upload(paul, "shown", "files", "t.csv", b"x", csrf).status_code == 403

    # Another organizer: the API's answers (404 for a draft it cannot see, 403 otherwise).
    rita = browser_client()
    csrf = sign_in(rita, "rita")
    for slug in ("digits", "shown"):
        api_status = api.patch(
            f"/api/v1/challenges/{slug}", json={"title": "x"}, headers=auth(rival_token)
        ).status_code
        for url in pages:
            assert rita.get(url.format(slug)).status_code == api_status, (url, slug)
        assert upload(rita, slug, "solution", "s.csv", b"x", csrf).status_code == api_status
    assert read(api, organizer_token, "shown")["title"] == "Digits"

    # A cross-site form: the organizer's cookie, no token from our pages.
    olga = browser_client()
    sign_in(olga, "olga")
    forged = olga.post("/manage/new", data=settings_form("forged"))
    assert forged.status_code == 403
    assert "did not come from this site" in forged.text
    forged_upload = upload(olga, "digits", "files", "t.csv", b"x", "forged")
    assert forged_upload.status_code == 403
    assert (
        api.get("/api/v1/challenges/course-digits", headers=auth(organizer_token)).status_code
        == 404
    )
