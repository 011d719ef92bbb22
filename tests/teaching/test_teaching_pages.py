"""atlas_visibility, the meter on the public team page, the shake-up's links to it,
and the side-by-side comparison of two submissions (real HTTP, real database)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from server.submissions.metadata import with_architecture
from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now
from tests.teaching.test_metadata import GOOD, post
from tests.web.conftest import sign_in

METER = re.compile(r'<script type="application/json" id="meter-data">(.*?)</script>')
CURVES = re.compile(r'<script type="application/json" id="curves-data">(.*?)</script>')


def _finalize(api: TestClient, organizer: str, slug: str) -> None:
    org = auth(organizer)
    assert api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=org).is_success
    assert api.post(f"/api/v1/challenges/{slug}/finalize", headers=org).status_code == 200


def _meter(html: str) -> list[dict[str, Any]]:
    match = METER.search(html)
    assert match is not None, "no meter on the page"
    return list(json.loads(match.group(1)))


# ---- atlas_visibility -------------------------------------------------------------------


def test_atlas_after_finalize_is_for_hosts_until_finalized(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    fixture = create_challenge(api, organizer_token, atlas_visibility="after_finalize")
    open_challenge_now(api, organizer_token, fixture.slug)
    assert post(api, participant_token, fixture, json.dumps(GOOD))["status_code"] == 201
    slug, url = fixture.slug, f"/api/v1/challenges/{fixture.slug}/atlas"
    read = api.get(f"/api/v1/challenges/{slug}", headers=auth(participant_token)).json()
    assert read["atlas_visibility"] == "after_finalize"

    for headers in ({}, auth(participant_token)):
        refused = api.get(url, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "opens once the challenge is finalized" in refused.json()["detail"]
    assert api.get(url, headers=auth(organizer_token)).status_code == 200

    client = browser_client()
    sign_in(client, "paul")
    page = client.get(f"/c/{slug}/atlas")
    assert page.status_code == 403
    assert "opens once the challenge is finalized" in page.text
    assert f'href="/c/{slug}/atlas"' not in client.get(f"/c/{slug}").text  # no dead link
    hosts = browser_client()
    sign_in(hosts, "olga")
    assert hosts.get(f"/c/{slug}/atlas").status_code == 200
    assert f'href="/c/{slug}/atlas"' in hosts.get(f"/c/{slug}").text

    _finalize(api, organizer_token, slug)
    assert api.get(url, headers=auth(participant_token)).status_code == 200
    assert api.get(url).status_code == 200
    assert client.get(f"/c/{slug}/atlas").status_code == 200


def test_atlas_visibility_defaults_to_live_and_is_validated(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token)
    slug, org = fixture.slug, auth(organizer_token)
    assert api.get(f"/api/v1/challenges/{slug}", headers=org).json()["atlas_visibility"] == "live"
    bad = api.patch(f"/api/v1/challenges/{slug}", json={"atlas_visibility": "never"}, headers=org)
    assert bad.status_code == 422
    open_challenge_now(api, organizer_token, slug)
    assert api.get(f"/api/v1/challenges/{slug}/atlas").status_code == 200
    hidden = api.patch(
        f"/api/v1/challenges/{slug}", json={"atlas_visibility": "after_finalize"}, headers=org
    )
    assert hidden.json()["atlas_visibility"] == "after_finalize"
    assert api.get(f"/api/v1/challenges/{slug}/atlas").status_code == 403
    api.patch(f"/api/v1/challenges/{slug}", json={"atlas_visibility": "live"}, headers=org)
    assert api.get(f"/api/v1/challenges/{slug}/atlas").status_code == 200


# ---- the meter on the public team page, and the shake-up's links to it -------------------


def test_public_team_page_shows_the_meter_private_only_after_finalize(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
    stranger_token: str,
) -> None:
    slug = open_challenge.slug
    private_rows = {i for i, public in enumerate(open_challenge.public) if not public}
    # paul: perfect on the public rows, wrong on every private one; sam: the reverse, nearly.
    meta = json.dumps({"val_metric": 0.5})
    paul = api.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("p.csv", open_challenge.predictions(wrong=private_rows), "text/csv")},
        data={"metadata": meta},
        headers=auth(participant_token),
    ).json()
    api.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": ("p.csv", open_challenge.predictions(wrong={0, 3}), "text/csv")},
        data={"metadata": meta},
        headers=auth(stranger_token),
    )
    page = api.get(f"/c/{slug}/teams/paul")  # anonymous
    assert page.status_code == 200
    points = _meter(page.text)
    assert [p["id"] for p in points] == [paul["id"]]
    assert points[0]["public_score"] == 1.0 and points[0]["val_metric"] == 0.5
    assert points[0]["marked"] and points[0]["private_score"] is None
    assert 'id="overfitting-meter"' in page.text and "probably tuned" in page.text

    _finalize(api, organizer_token, slug)
    after = _meter(api.get(f"/c/{slug}/teams/paul").text)
    assert after[0]["private_score"] == 0.0
    shake = api.get(f"/c/{slug}/shake-up")
    assert shake.status_code == 200
    for team in ("paul", "sam"):
        assert f'href="/c/{slug}/teams/{team}#overfitting-meter"' in shake.text


def test_late_submissions_stay_off_the_public_meter(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, participant_token: str
) -> None:
    slug, org = open_challenge.slug, auth(organizer_token)
    on_time = post(api, participant_token, open_challenge, json.dumps({"val_metric": 0.9}))
    api.patch(f"/api/v1/challenges/{slug}", json={"late_submissions": True}, headers=org)
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=org)
    late = post(api, participant_token, open_challenge, json.dumps({"val_metric": 0.8}))
    assert late["status_code"] == 201 and late["late"], late
    assert [p["id"] for p in _meter(api.get(f"/c/{slug}/teams/paul").text)] == [on_time["id"]]


# ---- compare ----------------------------------------------------------------------------


def test_compare_two_of_the_teams_own_submissions(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    stranger_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    slug = open_challenge.slug
    first = post(api, participant_token, open_challenge, json.dumps(GOOD))
    second_sheet = {**GOOD, "activation": "sigmoid", "dropout": 0.0, "val_metric": 0.99}
    second = post(api, participant_token, open_challenge, json.dumps(second_sheet))
    theirs = post(api, stranger_token, open_challenge, json.dumps(GOOD))
    client = browser_client()
    sign_in(client, "paul")

    listing = client.get(f"/c/{slug}/submissions").text
    link = f"/c/{slug}/submissions/compare?a={first['id']}&amp;b={second['id']}"
    assert link in listing

    page = client.get(
        f"/c/{slug}/submissions/compare", params={"a": first["id"], "b": second["id"]}
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(
        r'<tr class="differs"><th scope="row">Activation</th><td>relu</td>'
        r"<td>sigmoid</td></tr>",
        html,
    ), html
    assert re.search(r'<tr class=""><th scope="row">Model</th><td>mlp</td><td>mlp</td>', html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    curves = CURVES.search(html)
    assert curves is not None
    assert set(json.loads(curves.group(1))) == {str(first["id"]), str(second["id"])}
    assert html.count('class="curve-chart"') == 2
    assert "Private score" not in html  # before finalize

    picker = client.get(f"/c/{slug}/submissions/compare")
    assert picker.status_code == 200 and 'name="a"' in picker.text
    assert f'value="{theirs["id"]}"' not in picker.text

    for a, b in ((first["id"], theirs["id"]), (theirs["id"], first["id"]), (first["id"], 999999)):
        refused = client.get(f"/c/{slug}/submissions/compare", params={"a": a, "b": b})
        assert refused.status_code == 404, (a, b)
    anonymous = browser_client().get(
        f"/c/{slug}/submissions/compare",
        params={"a": first["id"], "b": second["id"]},
        follow_redirects=False,
    )
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


# ---- model.json fills the architecture keys ----------------------------------------------


def test_model_json_fills_only_missing_architecture_keys() -> None:
    config = {
        "family": "mlp",
        "hidden": [256, 128],
        "activation": "relu",
        "dropout": 0.2,
        "input_shape": [1, 28, 28],
        "num_classes": 10,
    }
    assert with_architecture(None, config) == {
        "model": "mlp",
        "hidden_sizes": [256, 128],
        "activation": "relu",
        "dropout": 0.2,
    }
    sent = {"model": "my mlp", "val_metric": 0.9}
    assert with_architecture(sent, config) == {
        **sent,
        "hidden_sizes": [256, 128],
        "activation": "relu",
        "dropout": 0.2,
    }
    assert with_architecture(sent, None) is sent
    # What a fact sheet cannot hold stays out (model.json was checked on its own terms).
    odd = with_architecture(None, {"family": "cnn", "hidden": "wide", "dropout": 2})
    assert odd == {"model": "cnn"}
    assert with_architecture(None, {"input_shape": [1, 2, 2]}) is None
