"""The class atlas on a fixture class of 30 submissions, its aggregates computed here
independently; no private value before finalize."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth

MODELS = ["mlp", "cnn", "neuron"]
ACTIVATIONS = ["relu", "sigmoid"]
RATES = [1e-3, 1e-2, 3e-4]


def sheet(i: int) -> dict:
    return {
        "model": MODELS[i % 3],
        "activation": ACTIVATIONS[i % 2],
        "hidden_sizes": [[32, 64, 128][i // 10]] * (1 + i % 2),
        "learning_rate": RATES[i % 3],
        "dropout": 0.3 if i % 4 == 0 else 0.0,
        "val_metric": 0.9,
    }


def expected_groups(pairs: list[tuple[str, float]]) -> dict[str, tuple[int, float]]:
    values: dict[str, list[float]] = defaultdict(list)
    for key, value in pairs:
        values[key].append(value)
    return {k: (len(v), sum(v) / len(v)) for k, v in values.items()}


def as_groups(chart: dict) -> dict[str, tuple[int, float]]:
    return {g["key"]: (g["count"], g["mean"]) for g in chart["groups"]}


def assert_same(got: dict[str, tuple[int, float]], want: dict[str, tuple[int, float]]) -> None:
    assert set(got) == set(want)
    for key, (count, mean) in want.items():
        assert got[key][0] == count and got[key][1] == pytest.approx(mean), key


def test_atlas_of_a_class_of_30(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    make_user: Callable[..., str],
) -> None:
    slug = open_challenge.slug
    tokens = [make_user(f"student{n}") for n in range(6)]
    made = []  # (index, submission id, public score)
    for i in range(30):
        response = api.post(
            f"/api/v1/challenges/{slug}/submissions",
            files={
                "file": ("p.csv", open_challenge.predictions(wrong=set(range(i * 3))), "text/csv")
            },
            data={"metadata": json.dumps(sheet(i))},
            headers=auth(tokens[i // 5]),
        )
        assert response.status_code == 201, response.text
        made.append((i, response.json()["id"], response.json()["public_score"]))
    publics = [(i, public) for i, _, public in made]
    atlas = api.get(f"/api/v1/challenges/{slug}/atlas", headers=auth(tokens[0])).json()
    assert atlas["submissions"] == 30 and not atlas["finalized"]
    charts = {c["name"]: c for c in atlas["charts"]}
    assert "dropout_gap" not in charts  # needs private scores: only after finalize
    assert_same(
        as_groups(charts["model"]), expected_groups([(MODELS[i % 3], p) for i, p in publics])
    )
    assert_same(
        as_groups(charts["activation"]),
        expected_groups([(ACTIVATIONS[i % 2], p) for i, p in publics]),
    )
    assert_same(
        as_groups(charts["depth"]), expected_groups([(str(1 + i % 2), p) for i, p in publics])
    )
    assert_same(
        as_groups(charts["width"]),
        expected_groups([(str([32, 64, 128][i // 10]), p) for i, p in publics]),
    )
    decades = {1e-3: "1e-3", 1e-2: "1e-2", 3e-4: "1e-4"}
    assert_same(
        as_groups(charts["learning_rate"]),
        expected_groups([(decades[RATES[i % 3]], p) for i, p in publics]),
    )
    assert charts["parameters"]["groups"] == []  # CSV submissions: nothing measured
    # Earlier submissions made fewer mistakes: the best model family is i % 3 == 0's.
    assert charts["model"]["reading"].startswith("Submissions with model family mlp scored best")
    for chart in atlas["charts"]:
        for group in chart["groups"]:
            assert group["count"] > 0 and math.isfinite(group["mean"])

    org = auth(organizer_token)
    assert api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=org).is_success
    assert api.post(f"/api/v1/challenges/{slug}/finalize", headers=org).status_code == 200
    private = {
        s["id"]: s["private_score"]
        for s in api.get(f"/api/v1/challenges/{slug}/submissions", headers=org).json()
    }
    after = {c["name"]: c for c in api.get(f"/api/v1/challenges/{slug}/atlas").json()["charts"]}
    gaps = [
        ("with dropout" if i % 4 == 0 else "without dropout", public - private[sid])
        for i, sid, public in made
    ]
    assert_same(as_groups(after["dropout_gap"]), expected_groups(gaps))
    assert "Teams using dropout lost" in after["dropout_gap"]["reading"]


def test_atlas_page_shows_every_chart_as_text_and_data(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    hostile = {"model": "<script>alert(1)</script>", "activation": "relu", "learning_rate": 0.01}
    response = api.post(
        f"/api/v1/challenges/{open_challenge.slug}/submissions",
        files={"file": ("p.csv", open_challenge.predictions(), "text/csv")},
        data={"metadata": json.dumps(hostile)},
        headers=auth(participant_token),
    )
    assert response.status_code == 201, response.text
    page = api.get(f"/c/{open_challenge.slug}/atlas")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Score by model family" in page.text and "Not enough variety yet" in page.text
    assert page.text.count('class="atlas-canvas"') == 3  # model, activation, learning rate
