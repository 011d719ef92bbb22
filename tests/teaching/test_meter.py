"""The overfitting meter: validation vs public, marked beyond the bootstrap interval;
the private score joins only after finalize."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth
from tests.teaching.test_metadata import post
from tests.web.conftest import sign_in

METER = re.compile(r'<script type="application/json" id="meter-data">(.*?)</script>')


def meter_on_page(client: TestClient, slug: str) -> list[dict]:
    page = client.get(f"/c/{slug}/submissions")
    assert page.status_code == 200
    match = METER.search(page.text)
    assert match is not None, "no meter on the page"
    return json.loads(match.group(1))


def test_meter_marks_public_beating_validation_and_hides_private_until_finalize(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    organizer_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    slug = open_challenge.slug
    # All predictions right: public score 1.0. Validation 0.5 (far below), 1.0 (equal).
    low = post(api, participant_token, open_challenge, json.dumps({"val_metric": 0.5}))
    same = post(api, participant_token, open_challenge, json.dumps({"val_metric": 1.0}))
    post(api, participant_token, open_challenge, json.dumps({"model": "no val"}))
    assert low["public_score"] == 1.0 and same["public_score"] == 1.0
    client = browser_client()
    sign_in(client, "paul")
    points = {p["id"]: p for p in meter_on_page(client, slug)}
    assert set(points) == {low["id"], same["id"]}  # the one without val_metric is left out
    ci = points[low["id"]]["public_ci_halfwidth"] or 0.0
    assert points[low["id"]]["marked"] and ci < 0.5
    assert "probably tuned to the public board" in points[low["id"]]["reading"]
    assert not points[same["id"]]["marked"]
    assert all(p["private_score"] is None for p in points.values())
    assert "meter-marked" in client.get(f"/c/{slug}/submissions").text

    org = auth(organizer_token)
    assert api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=org).is_success
    assert api.post(f"/api/v1/challenges/{slug}/finalize", headers=org).status_code == 200
    after = {p["id"]: p for p in meter_on_page(client, slug)}
    assert after[low["id"]]["private_score"] == 1.0
