"""Baseline rows: scored like submissions, shown apart, never ranked, never a team."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from server.storage import get_blob_store
from tests.conftest import ChallengeFixture, auth, submit


def add_baseline(
    api: TestClient, token: str, slug: str, name: str, content: bytes, description: str = ""
) -> Any:
    return api.post(
        f"/api/v1/challenges/{slug}/baselines",
        files={"file": ("base.csv", io.BytesIO(content), "text/csv")},
        data={"name": name, "description": description},
        headers=auth(token),
    )


def public_ids(fixture: ChallengeFixture) -> list[int]:
    return [i for i, p in enumerate(fixture.public) if p]


def test_baseline_rows_never_rank_and_never_count_as_teams(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    make_user: Callable[..., str],
) -> None:
    slug = open_challenge.slug
    alice, bob = make_user("alice"), make_user("bob")
    pub = public_ids(open_challenge)
    assert submit(api, alice, slug, open_challenge.predictions(wrong=set(pub[:2])))["status"]
    assert submit(api, bob, slug, open_challenge.predictions(wrong=set(pub[:10])))["status"]
    # One baseline better than every team, one between them.
    best = add_baseline(api, organizer_token, slug, "CNN (course)", open_challenge.predictions())
    assert best.status_code == 201, best.text
    assert best.json()["label"] == "Baseline · CNN (course)"
    assert best.json()["status"] == "scored"
    mid = add_baseline(
        api,
        organizer_token,
        slug,
        "MLP",
        open_challenge.predictions(wrong=set(pub[:5])),
        "2 layers",
    )
    assert mid.status_code == 201, mid.text

    board = api.get(f"/api/v1/challenges/{slug}/leaderboard").json()
    assert [(e["rank"], e["team"]) for e in board["entries"]] == [(1, "alice"), (2, "bob")]
    rows = {b["label"]: b for b in board["baselines"]}
    assert set(rows) == {"Baseline · CNN (course)", "Baseline · MLP"}
    assert rows["Baseline · CNN (course)"]["score"] == 1.0
    assert board["entries"][1]["score"] < rows["Baseline · MLP"]["score"]
    assert rows["Baseline · MLP"]["score"] < board["entries"][0]["score"]
    assert "rank" not in rows["Baseline · MLP"]

    # The page: a distinct, unranked row between the teams it sits between.
    page = api.get(f"/c/{slug}").text
    assert page.index("Baseline · CNN (course)") < page.index(">alice<")
    assert page.index(">alice<") < page.index("Baseline · MLP") < page.index(">bob<")
    assert page.count('class="baseline-row"') == 2
    assert "reference models: they have no rank" in page
    # The team chart draws them as horizontal lines.
    team_page = api.get(f"/c/{slug}/teams/bob").text
    chart = json.loads(team_page.split('id="chart-data">')[1].split("</script>")[0])
    assert {b["name"] for b in chart["baselines"]} == {"Baseline · CNN (course)", "Baseline · MLP"}

    challenge = api.get(f"/api/v1/challenges/{slug}").json()
    assert (challenge["teams_count"], challenge["submissions_count"]) == (2, 2)
    # The organizer's list of every submission shows them without a team.
    listed = api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(organizer_token))
    assert sorted(s["team"] for s in listed.json()) == ["(baseline)", "(baseline)", "alice", "bob"]
    page = api.get(
        f"/c/{slug}/submissions", headers={"Cookie": f"podium_session={organizer_token}"}
    )
    assert page.status_code == 200 and "(baseline)" in page.text
    # A participant sees public scores only, and no submission of the baselines.
    seen = api.get(f"/api/v1/challenges/{slug}/baselines", headers=auth(alice)).json()
    assert [b["name"] for b in seen] == ["CNN (course)", "MLP"]
    assert all(b["private_score"] is None and b["submission_id"] is None for b in seen)
    assert [
        s["team"]
        for s in api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(alice)).json()
    ] == ["alice"]

    # After finalization: on the private board too, still without a rank.
    patch = api.patch(
        f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer_token)
    )
    assert patch.status_code == 200
    assert (
        api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token)).status_code
        == 200
    )
    private = api.get(f"/api/v1/challenges/{slug}/leaderboard?board=private").json()
    assert [e["team"] for e in private["entries"]] == ["alice", "bob"]
    assert {b["name"] for b in private["baselines"]} == {"CNN (course)", "MLP"}
    seen = api.get(f"/api/v1/challenges/{slug}/baselines", headers=auth(alice)).json()
    assert all(b["private_score"] is not None for b in seen)


def test_refused_baselines_create_nothing(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
) -> None:
    slug = open_challenge.slug
    good = open_challenge.predictions()
    assert add_baseline(api, participant_token, slug, "x", good).status_code == 403
    assert add_baseline(api, "", slug, "x", good).status_code == 401
    refused_file = b"id,label\n0,1\n0,1\n"
    bad = add_baseline(api, organizer_token, slug, "bad", refused_file)
    assert bad.status_code == 422 and "predictions rejected" in bad.json()["detail"]
    assert not get_blob_store().exists(hashlib.sha256(refused_file).hexdigest())
    assert add_baseline(api, organizer_token, slug, " ", good).status_code == 422
    assert add_baseline(api, organizer_token, slug, "CNN", good).status_code == 201
    again = add_baseline(api, organizer_token, slug, "CNN", good)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    names = [b["name"] for b in api.get(f"/api/v1/challenges/{slug}/baselines").json()]
    assert names == ["CNN"]
    listed = api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(organizer_token))
    assert len(listed.json()) == 1


def test_deleting_a_baseline_removes_its_row(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, participant_token: str
) -> None:
    slug = open_challenge.slug
    assert add_baseline(api, organizer_token, slug, "CNN", open_challenge.predictions()).is_success
    assert len(api.get(f"/api/v1/challenges/{slug}/leaderboard").json()["baselines"]) == 1
    url = f"/api/v1/challenges/{slug}/baselines/CNN"
    assert api.delete(url, headers=auth(participant_token)).status_code == 403
    assert api.delete(url, headers=auth(organizer_token)).status_code == 204
    assert api.delete(url, headers=auth(organizer_token)).status_code == 404
    assert api.get(f"/api/v1/challenges/{slug}/leaderboard").json()["baselines"] == []
    assert (
        api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(organizer_token)).json()
        == []
    )
