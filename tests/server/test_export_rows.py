"""What the exports rank: the teams. The baseline rows come unranked (JSON in ``baselines``,
CSV after the teams with an empty rank and the baseline's label); late submissions never."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, submit
from tests.server.test_baselines import add_baseline, public_ids


def export(api: TestClient, token: str, slug: str, board: str, fmt: str) -> str:
    response = api.get(
        f"/api/v1/challenges/{slug}/export",
        params={"board": board, "format": fmt},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    return response.text


def test_the_csv_export_has_the_baseline_rows_as_the_json_one(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    make_user: Callable[..., str],
) -> None:
    slug = open_challenge.slug
    alice, bob = make_user("alice"), make_user("bob")
    pub = public_ids(open_challenge)
    submit(api, alice, slug, open_challenge.predictions(wrong=set(pub[:2])))
    submit(api, bob, slug, open_challenge.predictions(wrong=set(pub[:10])))
    for name, wrong in (("CNN (course)", set()), ("MLP", set(pub[:5]))):
        added = add_baseline(api, organizer_token, slug, name, open_challenge.predictions(wrong))
        assert added.status_code == 201, added.text

    for board in ("public", "private"):
        if board == "private":
            closed = {"state": "closed"}
            api.patch(f"/api/v1/challenges/{slug}", json=closed, headers=auth(organizer_token))
            done = api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token))
            assert done.status_code == 200, done.text
        as_json = api.get(
            f"/api/v1/challenges/{slug}/export",
            params={"board": board, "format": "json"},
            headers=auth(organizer_token),
        ).json()
        rows = list(csv.DictReader(io.StringIO(export(api, organizer_token, slug, board, "csv"))))
        teams = [r for r in rows if r["rank"]]
        baselines = [r for r in rows if not r["rank"]]
        # The teams keep their ranks, first; the baselines follow, with no rank.
        assert rows[: len(teams)] == teams
        assert [(int(r["rank"]), r["team"]) for r in teams] == [
            (e["rank"], e["team"]) for e in as_json["entries"]
        ]
        assert len(as_json["baselines"]) == 2
        assert [(r["team"], float(r["score"])) for r in baselines] == [
            (b["label"], b["score"]) for b in as_json["baselines"]
        ]
        labels = {r["team"] for r in baselines}
        assert labels == {"Baseline · CNN (course)", "Baseline · MLP"}
        assert all(r["members"] == "" and r["student_ids"] == "" for r in baselines)
        assert all(r["submissions"] == "" for r in baselines)


def test_a_late_submission_never_enters_an_export(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    make_user: Callable[..., str],
) -> None:
    slug = open_challenge.slug
    alice, bob = make_user("alice"), make_user("bob")
    changed = api.patch(
        f"/api/v1/challenges/{slug}", json={"late_submissions": True}, headers=auth(organizer_token)
    )
    assert changed.status_code == 200, changed.text
    assert submit(api, alice, slug, open_challenge.predictions(wrong={0, 1, 2}))["late"] is False
    joined = api.post(f"/api/v1/challenges/{slug}/join", headers=auth(bob))
    assert joined.status_code in (200, 201), joined.text
    closed = {"state": "closed"}
    api.patch(f"/api/v1/challenges/{slug}", json=closed, headers=auth(organizer_token))
    late = submit(api, bob, slug, open_challenge.predictions())  # better, but late
    assert late["status_code"] == 201 and late["late"] is True, late
    done = api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token))
    assert done.status_code == 200, done.text
    for board in ("public", "private"):
        as_json = json.loads(export(api, organizer_token, slug, board, "json"))
        assert [e["team"] for e in as_json["entries"]] == ["alice"]
        rows = list(csv.DictReader(io.StringIO(export(api, organizer_token, slug, board, "csv"))))
        assert [(r["rank"], r["team"]) for r in rows] == [("1", "alice")]
