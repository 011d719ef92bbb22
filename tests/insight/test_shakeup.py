"""The shake-up view: absent before finalization (except organizers' API), right after."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, create_challenge, submit
from tests.web.test_security import audit

PUBLIC = [i for i in range(100) if i % 3 == 0]  # the fixture's 34 public rows
PRIVATE = [i for i in range(100) if i % 3 != 0]


def finalize(api: TestClient, organizer: str, slug: str = "digits") -> None:
    response = api.patch(
        f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer)
    )
    assert response.status_code == 200, response.text
    response = api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer))
    assert response.status_code == 200, response.text


@pytest.fixture
def shaken(api: TestClient, open_challenge: ChallengeFixture, make_user: Any) -> dict[str, str]:
    """Three teams whose order flips on the private rows, and a steady one."""
    tokens = {name: make_user(name) for name in ("overfit", "steady", "humble", "bold")}
    # Team names are free text: this one must stay text on the page.
    api.post("/api/v1/challenges/digits/join", headers=auth(tokens["bold"]))
    response = api.patch(
        "/api/v1/challenges/digits/team", json={"name": "<b>bold</b>"}, headers=auth(tokens["bold"])
    )
    assert response.status_code == 200, response.text
    # overfit: perfect in public, half the private rows wrong.
    submit(api, tokens["overfit"], "digits", open_challenge.predictions(wrong=set(PRIVATE[::2])))
    # steady: 2 public and 4 private rows wrong.
    submit(api, tokens["steady"], "digits", open_challenge.predictions(wrong={0, 3, *PRIVATE[:4]}))
    # humble: 6 public rows wrong, private perfect.
    submit(api, tokens["humble"], "digits", open_challenge.predictions(wrong=set(PUBLIC[:6])))
    # <b>bold</b>: 10 public and 40 private rows wrong.
    submit(
        api,
        tokens["bold"],
        "digits",
        open_challenge.predictions(wrong=set(PUBLIC[:10]) | set(PRIVATE[:40])),
    )
    return tokens


def test_hidden_before_finalization(
    api: TestClient, shaken: dict[str, str], organizer_token: str, participant_token: str
) -> None:
    for headers in ({}, auth(participant_token), auth(shaken["overfit"])):
        response = api.get("/api/v1/challenges/digits/shake-up", headers=headers)
        assert response.status_code == 403
        assert "revealed when the challenge is finalized" in response.json()["detail"]
        assert "rank" not in response.text.replace("private board", "")
    # The page is refused to everyone, organizers included (pages may be on a projector).
    page = api.get("/c/digits/shake-up")
    assert page.status_code == 403
    assert "finalized" in page.text
    assert "Shake-up</a>" not in api.get("/c/digits").text
    # Organizers may preview it through the API.
    preview = api.get("/api/v1/challenges/digits/shake-up", headers=auth(organizer_token))
    assert preview.status_code == 200
    assert preview.json()["state"] == "open"


def test_drafts_do_not_exist_for_participants(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    create_challenge(api, organizer_token, slug="later")
    response = api.get("/api/v1/challenges/later/shake-up", headers=auth(participant_token))
    assert response.status_code == 404
    assert api.get("/c/later/shake-up").status_code == 404


def test_after_finalization(api: TestClient, shaken: dict[str, str], organizer_token: str) -> None:
    finalize(api, organizer_token)
    response = api.get("/api/v1/challenges/digits/shake-up")
    assert response.status_code == 200, response.text
    view = response.json()
    rows = {e["team"]: e for e in view["entries"]}
    assert [e["team"] for e in view["entries"]] == ["humble", "steady", "overfit", "<b>bold</b>"]
    assert [(rows[t]["public_rank"], rows[t]["private_rank"]) for t in rows] == [
        (3, 1),
        (2, 2),
        (1, 3),
        (4, 4),
    ]
    assert rows["humble"]["move"] == 2 and rows["overfit"]["move"] == -2
    assert rows["steady"]["move"] == 0
    # Gap: public minus private accuracy (higher is better: positive means worse privately).
    assert rows["overfit"]["public_score"] == 1.0
    assert rows["overfit"]["private_score"] == pytest.approx(1 - 33 / 66)
    assert rows["overfit"]["gap"] == pytest.approx(33 / 66)
    assert rows["humble"]["gap"] == pytest.approx((1 - 6 / 34) - 1.0)
    # Spearman's rho of ranks (3,1) (2,2) (1,3) (4,4): 1 - 6*(4+0+4+0)/(4*15) = 0.2
    assert view["rank_correlation"] == pytest.approx(0.2)
    assert view["mean_gap"] == pytest.approx(sum(e["gap"] for e in rows.values()) / 4)
    assert "overfitting" in view["explanation"] or "overfit" in view["explanation"]

    page = api.get("/c/digits/shake-up")
    assert page.status_code == 200
    html = page.text
    assert '<canvas id="shakeup-chart"' in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    data = re.search(
        r'<script type="application/json" id="shakeup-data">(.*?)</script>', html, re.S
    )
    assert data is not None
    chart = json.loads(data.group(1))
    assert {(p["team"], p["x"], p["y"]) for p in chart["points"]} == {
        ("humble", 3, 1),
        ("steady", 2, 2),
        ("overfit", 1, 3),
        ("<b>bold</b>", 4, 4),
    }
    assert "Why ranks move" in html
    assert audit(html).problems == []  # nothing the CSP would block
    assert 'href="/c/digits/shake-up"' in api.get("/c/digits").text
