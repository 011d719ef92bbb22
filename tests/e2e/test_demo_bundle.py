"""The demo challenge ships as a bundle and is built from it; the course's baselines
(trained for real) become baseline rows on the live demo board."""

# ruff: noqa: F811 - the live demo fixture of test_demo_live.py is imported, then requested.

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from server.challenges.bundles import bundle_entries
from server.db import session_scope
from server.demo import BUNDLE_DIR, DEMO_SLUG, HIDDEN_LABELS, MNIST_DIR, read_idx_labels
from server.demo import solution_csv as demo_solution_csv
from server.models import Challenge
from server.storage import get_blob_store
from tests.e2e.test_demo_live import demo_url  # noqa: F401


def test_the_shipped_bundle_is_valid_and_matches_the_data() -> None:
    import podium

    settings = podium.check_bundle(BUNDLE_DIR)
    assert settings["slug"] == DEMO_SLUG and settings["metric"] == "accuracy"
    solution = (BUNDLE_DIR / "solution.csv").read_bytes()
    assert solution == demo_solution_csv(read_idx_labels(MNIST_DIR / HIDDEN_LABELS))
    for link in (BUNDLE_DIR / "files").iterdir():
        assert link.read_bytes()  # every file (or link to server/demo/mnist) resolves


def test_the_demo_is_built_from_its_bundle(demo_url: tuple[str, dict[str, str]]) -> None:
    url, tokens = demo_url
    challenge = httpx.get(f"{url}/api/v1/challenges/{DEMO_SLUG}").json()
    assert challenge["state"] == "open" and challenge["has_hidden_inputs"]
    shipped = {
        f"files/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (BUNDLE_DIR / "files").iterdir()
    } | {"solution.csv": hashlib.sha256((BUNDLE_DIR / "solution.csv").read_bytes()).hexdigest()}
    store = get_blob_store()
    with session_scope() as session:
        demo = session.query(Challenge).filter_by(slug=DEMO_SLUG).one()
        built = {
            name: hashlib.sha256(
                source if isinstance(source, bytes) else Path(source).read_bytes()
            ).hexdigest()
            for name, source in bundle_entries(demo, store)
            if name.startswith("files/") or name == "solution.csv"
        }
        description = demo.description
    assert built == shipped
    assert description == (BUNDLE_DIR / "description.md").read_text()


def test_the_course_baselines_become_baseline_rows(
    demo_url: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.demo import teams

    if not teams.baselines_available():
        pytest.skip("the course baselines need the baselines extra (torch)")
    url, tokens = demo_url
    # One of the three (the quickest to train): the others go the same way.
    monkeypatch.setattr(teams, "COURSE_BASELINES", teams.COURSE_BASELINES[:1])
    teams._add_course_baselines(url, DEMO_SLUG, tokens["organizer"], tmp_path)
    board = httpx.get(f"{url}/api/v1/challenges/{DEMO_SLUG}/leaderboard").json()
    assert board["entries"] == []  # a baseline is not a team
    [row] = board["baselines"]
    assert row["label"] == "Baseline · Neuron (course)" and row["score"] > 0.8
