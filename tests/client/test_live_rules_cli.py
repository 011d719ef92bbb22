"""``podium admin create`` and ``update`` with the rules' options (limits, timezone, late
submissions, several metrics) against a live server (uvicorn in a thread, real HTTP)."""

# ruff: noqa: F811 - the live server fixtures of test_live.py are imported, then requested.

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("server.app", reason="server.app is not importable yet")

import podium  # noqa: E402

from tests.client.test_live import live_url, real_clock  # noqa: E402, F401
from tests.client.test_live_course import cli_as  # noqa: E402
from tests.conftest import ChallengeFixture  # noqa: E402

RULES = [
    "--metrics", "accuracy,f1_macro",
    "--per-day", "4",
    "--per-window", "3/60",
    "--total", "20",
    "--min-interval-seconds", "600",
    "--timezone", "Europe/Paris",
    "--late-submissions",
]  # fmt: skip


def read(live_url: str, token: str, slug: str) -> dict[str, Any]:
    with podium.Client(url=live_url, token=token) as client:
        return client.challenge(slug).raw


def test_create_and_update_set_the_rules_through_the_api(
    live_url: str,
    organizer_token: str,
    make_user: Callable[..., str],
    tmp_path: Path,
    isolated_config: Path,
) -> None:
    host = cli_as(live_url, organizer_token)
    created = host("admin", "create", "lab", "--title", "Lab 1", *RULES, "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["timezone"] == "Europe/Paris"
    seen = read(live_url, organizer_token, "lab")
    assert seen["metrics"] == ["accuracy", "f1_macro"]
    assert seen["limits"] == {
        "per_day": 4,
        "per_window": {"count": 3, "minutes": 60},
        "total": 20,
        "min_interval_seconds": 600,
    }
    assert seen["daily_submission_limit"] == 4
    assert (seen["timezone"], seen["late_submissions"]) == ("Europe/Paris", True)

    # A participant's `podium submit` and `podium team show` name every limit that is set.
    lab = ChallengeFixture(
        "lab", [(i * 7) % 10 for i in range(100)], [i % 3 == 0 for i in range(100)]
    )
    (tmp_path / "solution.csv").write_bytes(lab.solution_csv())
    assert host("admin", "solution", "lab", tmp_path / "solution.csv").exit_code == 0
    assert host("admin", "open", "lab").exit_code == 0
    (tmp_path / "preds.csv").write_bytes(lab.predictions())
    student = cli_as(live_url, make_user("paul"))
    submitted = student("submit", "lab", "-f", tmp_path / "preds.csv")
    assert submitted.exit_code == 0, submitted.output
    shown = student("team", "show", "lab")
    assert shown.exit_code == 0, shown.output
    for words in (
        "3 of 4 left per day (from midnight Europe/Paris)",
        "2 of 3 left per 60 minutes (rolling)",
        "19 of 20 left in total",
        "cool-down: one every 600 seconds, waiting; next possible at",
    ):
        assert words in submitted.stdout, submitted.stdout
        assert words in shown.stdout, shown.stdout
    host = cli_as(live_url, organizer_token)  # the config file holds one login at a time

    # update: the limits not named stay; a flag turns late submissions off.
    updated = host("admin", "update", "lab", "--total", "10", "--no-late-submissions")
    assert updated.exit_code == 0, updated.output
    seen = read(live_url, organizer_token, "lab")
    assert seen["limits"] == {
        "per_day": 4,
        "per_window": {"count": 3, "minutes": 60},
        "total": 10,
        "min_interval_seconds": 600,
    }
    assert seen["late_submissions"] is False and seen["timezone"] == "Europe/Paris"
    assert (
        host("admin", "update", "lab", "--daily-limit", "2", "--per-window", "5/90").exit_code == 0
    )
    limits = read(live_url, organizer_token, "lab")["limits"]
    assert (limits["per_day"], limits["per_window"]) == (2, {"count": 5, "minutes": 90})

    # Only the limits given: no daily limit unless one is named.
    assert (
        host("admin", "create", "window", "--metric", "accuracy", "--per-window", "2/30").exit_code
        == 0
    )
    seen = read(live_url, organizer_token, "window")
    assert seen["limits"]["per_day"] is None and seen["daily_submission_limit"] is None
    assert seen["limits"]["per_window"] == {"count": 2, "minutes": 30}
    assert (seen["timezone"], seen["late_submissions"]) == ("UTC", False)


def test_refused_rules_create_nothing(
    live_url: str, organizer_token: str, isolated_config: Path
) -> None:
    host = cli_as(live_url, organizer_token)
    local = host("admin", "create", "bad", "--metric", "accuracy", "--per-window", "3")
    assert local.exit_code == 2 and "COUNT/MINUTES" in local.output
    zone = host("admin", "create", "bad", "--metric", "accuracy", "--timezone", "Mars/Olympus")
    assert zone.exit_code == 1 and "unknown timezone 'Mars/Olympus'" in zone.stderr
    both = host(
        "admin", "create", "bad", "--metric", "accuracy", "--daily-limit", "3", "--per-day", "5"
    )
    assert both.exit_code == 1 and "same limit" in both.stderr
    with podium.Client(url=live_url, token=organizer_token) as client:
        assert [c.slug for c in client.challenges()] == []
