"""Course milestones: beats, within noise of, or behind each baseline (the public score's
bootstrap interval decides "within noise"), in words on the team page."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient

from server.insight.service import wait_idle
from server.teaching.milestones import judge, milestones, passed, sentence
from tests.conftest import ChallengeFixture, auth, submit


@pytest.mark.parametrize(
    "score, ci, baseline, greater, verdict, words",
    [
        (0.95, 0.01, 0.90, True, "beats", "beats the MLP baseline"),
        (0.90, 0.01, 0.94, True, "below", "0.04 points to the MLP baseline"),
        (0.93, 0.02, 0.94, True, "within_noise", "within noise of the MLP baseline (0.01 behind"),
        (0.95, 0.02, 0.94, True, "within_noise", "within noise of the MLP baseline (0.01 ahead"),
        (0.94, None, 0.94, True, "within_noise", "within noise of the MLP baseline"),
        (0.93, None, 0.94, True, "below", "0.01 points to the MLP baseline"),
        (0.94, 0.0, 0.95, True, "below", "0.01 points to the MLP baseline"),
        # Lower is better (a loss): 0.30 beats a 0.40 baseline.
        (0.30, 0.05, 0.40, False, "beats", "beats the MLP baseline"),
        (0.50, 0.05, 0.40, False, "below", "0.1 points to the MLP baseline"),
        (0.42, 0.05, 0.40, False, "within_noise", "within noise of the MLP baseline (0.02 behind"),
    ],
)
def test_wording(
    score: float, ci: float | None, baseline: float, greater: bool, verdict: str, words: str
) -> None:
    found = judge(score, ci, "MLP", baseline, greater)
    assert found.verdict == verdict
    assert found.words.startswith(words), found.words


def test_the_sentence_goes_from_the_easiest_baseline_to_the_hardest() -> None:
    baselines = [("CNN", 0.98), ("Neuron", 0.80), ("MLP", 0.90)]
    found = milestones(0.975, 0.01, baselines, greater=True)
    assert [m.baseline for m in found] == ["Neuron", "MLP", "CNN"]
    assert sentence(found) == (
        "Beats the Neuron baseline; beats the MLP baseline; "
        "within noise of the CNN baseline (0.005 behind, ± 0.01)."
    )
    assert passed(found) is not None and passed(found).baseline == "MLP"
    assert milestones(None, None, baselines, greater=True) == []
    far = milestones(0.5, 0.01, baselines, greater=True)
    assert passed(far) is None and sentence(far).startswith("0.3 points to the Neuron baseline")


def test_the_team_page_says_which_milestones_it_passed(
    api: TestClient,
    open_challenge: ChallengeFixture,
    organizer_token: str,
    participant_token: str,
) -> None:
    slug = open_challenge.slug
    public = [i for i, p in enumerate(open_challenge.public) if p]  # 34 public rows
    half = set(public[:17])
    rights = {"MLP": set(public[:3]), "CNN": set(public[:18]), "Big": set(public)}
    for name, right in rights.items():
        response = api.post(
            f"/api/v1/challenges/{slug}/baselines",
            files={"file": ("b.csv", io.BytesIO(open_challenge.predictions(right)), "text/csv")},
            data={"name": name, "description": f"the {name} reference"},
            headers=auth(organizer_token),
        )
        assert response.status_code == 201 and response.json()["status"] == "scored"
    done = submit(api, participant_token, slug, open_challenge.predictions(half))
    assert done["status_code"] == 201 and done["status"] == "scored", done
    assert wait_idle(60)  # the public bootstrap interval
    board = api.get(f"/api/v1/challenges/{slug}/leaderboard").json()
    [entry] = board["entries"]
    assert entry["score"] == pytest.approx(0.5)
    # 17 of 34 right: the 95% interval is about ± 0.17, far wider than the 1/34 to CNN.
    assert entry["ci_halfwidth"] is not None and 1 / 34 < entry["ci_halfwidth"] < 0.5
    page = api.get(f"/c/{slug}/teams/{entry['team']}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Course milestones" in text
    assert "Beats the MLP baseline; within noise of the CNN baseline (0.0294 behind" in text
    assert "0.5 points to the Big baseline." in text
    assert "Milestone passed: <strong>MLP</strong> baseline" in text
    assert 'data-verdict="within_noise"' in text
