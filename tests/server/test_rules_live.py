"""Competition rules through a live server (two processes, real sockets): submission limits,
late submissions, and several metrics.

The server's clock is the test's: ``PODIUM_TEST_CLOCK_FILE`` names a file that
holds the current instant (server/clock.py), so a day boundary in Paris or a
rolling window is crossed by rewriting it, never by sleeping.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.clock import TEST_CLOCK_ENV, set_test_clock
from tests.security.live import LiveServer, open_challenge, upload
from tests.security.world import Hidden

# 14:37 in Paris (CET, UTC+1), a Tuesday.
T0 = datetime(2026, 3, 10, 13, 37, tzinfo=UTC)
ATTEMPTS = 8


class Clocked(LiveServer):
    clock_path: Path

    def at(self, moment: datetime) -> None:
        set_test_clock(self.clock_path, moment)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[Clocked]:
    root = tmp_path_factory.mktemp("limits")
    clock = root / "clock"
    set_test_clock(clock, T0)
    live = Clocked(root, migrated_template, workers=2, env={TEST_CLOCK_ENV: str(clock)})
    live.clock_path = clock
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def organizer(server: Clocked) -> str:
    return server.create_organizer("olga")


_names = iter(range(1_000_000))


def team_of_two(server: Clocked, slug: str) -> list[str]:
    """Two participants in one team of ``slug``."""
    tokens = [server.create_participant(f"student{next(_names)}") for _ in range(2)]
    with server.client(tokens[0]) as client:
        assert client.post(f"/api/v1/challenges/{slug}/join").status_code == 200
        code = client.post(f"/api/v1/challenges/{slug}/team/invite").json()["code"]
    with server.client(tokens[1]) as client:
        response = client.post(f"/api/v1/challenges/{slug}/team/join", json={"code": code})
        assert response.status_code == 200, response.text
    return tokens


def in_parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def send(server: Clocked, token: str, slug: str, content: bytes) -> httpx.Response:
    """One upload; a 503 (database busy) is retried as the client library does."""
    with server.client(token) as client:
        for _ in range(30):
            response = upload(client, slug, content)
            if response.status_code != 503:
                return response
        return response


LIMITS = {
    "per_day": ({"per_day": 3}, 3),
    "per_window": ({"per_window": {"count": 3, "minutes": 60}}, 3),
    "total": ({"total": 3}, 3),
    "min_interval_seconds": ({"min_interval_seconds": 600}, 1),
}


@pytest.mark.parametrize("kind", list(LIMITS))
def test_parallel_submissions_accept_exactly_the_allowed_number(
    server: Clocked, organizer: str, kind: str
) -> None:
    """Two members send 8 valid and 4 invalid files at once: exactly the limit is accepted."""
    server.at(T0)
    limits, allowed = LIMITS[kind]
    slug = f"par-{kind.replace('_', '-')}"
    hidden = open_challenge(server, organizer, slug, limits=limits)
    tokens = team_of_two(server, slug)
    valid, invalid = hidden.predictions(10, 10), b"id,label\n0,1\n"
    jobs = [
        (lambda t=tokens[i % 2], c=content: send(server, t, slug, c).status_code)
        for i, content in enumerate([valid] * ATTEMPTS + [invalid] * 4)
    ]
    statuses = Counter(in_parallel(jobs))
    assert statuses == Counter({201: allowed, 429: ATTEMPTS - allowed, 422: 4}), statuses
    with server.client(tokens[0]) as client:
        team = client.get(f"/api/v1/challenges/{slug}/team").json()
    (use,) = team["limits_left"]
    assert (use["kind"], use["remaining"]) == (kind, 0)


def refused(server: Clocked, token: str, slug: str, content: bytes) -> tuple[int | None, str]:
    response = send(server, token, slug, content)
    assert response.status_code == 429, response.text
    header = response.headers.get("retry-after")
    return (int(header) if header is not None else None), response.json()["detail"]


def accepted(server: Clocked, token: str, slug: str, content: bytes) -> dict[str, Any]:
    response = send(server, token, slug, content)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_retry_after_and_message_follow_the_binding_limit(server: Clocked, organizer: str) -> None:
    paris = {"timezone": "Europe/Paris"}
    valid = Hidden.make().predictions(10, 10)

    # per_day: until midnight in Paris (23:00 UTC in March), 9 h 23 min away.
    server.at(T0)
    open_challenge(server, organizer, "ra-day", limits={"per_day": 1}, **paris)
    token = team_of_two(server, "ra-day")[0]
    first = accepted(server, token, "ra-day", valid)
    assert first["remaining_today"] == 0
    wait, detail = refused(server, token, "ra-day", valid)
    assert wait == 9 * 3600 + 23 * 60
    assert "daily limit" in detail and "00:00 Europe/Paris on 2026-03-11" in detail

    # per_window: the oldest of the last two leaves the window 60 min after it came.
    open_challenge(
        server, organizer, "ra-window", limits={"per_window": {"count": 2, "minutes": 60}}, **paris
    )
    token = team_of_two(server, "ra-window")[0]
    accepted(server, token, "ra-window", valid)
    server.at(T0 + timedelta(minutes=10))
    accepted(server, token, "ra-window", valid)
    server.at(T0 + timedelta(minutes=20))
    wait, detail = refused(server, token, "ra-window", valid)
    assert wait == 40 * 60
    assert "2 submissions in the last 60 minutes" in detail and "15:37 Europe/Paris" in detail
    server.at(T0 + timedelta(minutes=60))
    accepted(server, token, "ra-window", valid)

    # total: no wait will do, so no Retry-After.
    server.at(T0)
    open_challenge(server, organizer, "ra-total", limits={"total": 2}, **paris)
    token = team_of_two(server, "ra-total")[0]
    accepted(server, token, "ra-total", valid)
    accepted(server, token, "ra-total", valid)
    server.at(T0 + timedelta(days=3))
    wait, detail = refused(server, token, "ra-total", valid)
    assert wait is None and "total limit" in detail

    # min_interval_seconds: the cool-down since the last submission.
    server.at(T0)
    open_challenge(server, organizer, "ra-interval", limits={"min_interval_seconds": 300}, **paris)
    token = team_of_two(server, "ra-interval")[0]
    accepted(server, token, "ra-interval", valid)
    server.at(T0 + timedelta(seconds=100))
    wait, detail = refused(server, token, "ra-interval", valid)
    assert wait == 200 and "300 seconds" in detail and "14:42 Europe/Paris" in detail
    server.at(T0 + timedelta(seconds=300))
    accepted(server, token, "ra-interval", valid)

    # Two limits refuse: the one that allows last binds.
    server.at(T0)
    both = {"per_window": {"count": 1, "minutes": 60}, "min_interval_seconds": 30}
    open_challenge(server, organizer, "ra-both", limits=both, **paris)
    token = team_of_two(server, "ra-both")[0]
    accepted(server, token, "ra-both", valid)
    server.at(T0 + timedelta(seconds=10))
    wait, detail = refused(server, token, "ra-both", valid)
    assert wait == 3600 - 10 and "in the last 60 minutes" in detail


def test_a_day_starts_at_midnight_in_the_challenge_timezone(
    server: Clocked, organizer: str
) -> None:
    """23:50 in Paris is 22:50 UTC: the Paris day ends an hour before the UTC one."""
    evening = datetime(2026, 3, 10, 22, 50, tzinfo=UTC)
    server.at(evening)
    hidden = open_challenge(
        server, organizer, "paris-day", daily_submission_limit=2, timezone="Europe/Paris"
    )
    token = team_of_two(server, "paris-day")[0]
    valid = hidden.predictions(10, 10)
    accepted(server, token, "paris-day", valid)
    assert accepted(server, token, "paris-day", valid)["remaining_today"] == 0
    server.at(datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC))
    wait, _ = refused(server, token, "paris-day", valid)
    assert wait == 1
    with server.client(token) as client:
        team = client.get("/api/v1/challenges/paris-day/team").json()
    assert team["remaining_today"] == 0 and team["timezone"] == "Europe/Paris"
    assert team["quota_resets_at"].startswith("2026-03-10T23:00:00")
    # Midnight in Paris, still March 10 in UTC: a new day for this challenge.
    server.at(datetime(2026, 3, 10, 23, 0, tzinfo=UTC))
    assert accepted(server, token, "paris-day", valid)["remaining_today"] == 1
    with server.client(token) as client:
        team = client.get("/api/v1/challenges/paris-day/team").json()
    assert team["submissions_today"] == 1
    assert team["quota_resets_at"].startswith("2026-03-11T23:00:00")


def test_late_submission_is_scored_never_ranked_private_hidden_until_finalize(
    server: Clocked, organizer: str
) -> None:
    server.at(T0)
    deadline = T0 + timedelta(hours=1)
    hidden = open_challenge(
        server,
        organizer,
        "late",
        closes_at=deadline.isoformat(),
        late_submissions=True,
        limits={"per_day": 5},
    )
    ontime, latecomer = team_of_two(server, "late")[0], team_of_two(server, "late")[0]
    first = accepted(server, ontime, "late", hidden.predictions(20, 20))
    assert first["late"] is False
    server.at(deadline + timedelta(minutes=5))
    better = accepted(server, ontime, "late", hidden.predictions(40, 40))
    only = accepted(server, latecomer, "late", hidden.predictions(45, 45))
    for late in (better, only):
        assert late["late"] is True and late["status"] == "scored"
        assert late["public_score"] is not None and late["private_score"] is None
    assert better["remaining_today"] == 3  # limits still apply

    with server.client(ontime) as client:
        board = client.get("/api/v1/challenges/late/leaderboard").json()
        assert [e["team"] for e in board["entries"]] == [first["team"]]
        assert board["entries"][0]["score"] == pytest.approx(first["public_score"])
        assert board["entries"][0]["submissions"] == 1
        refused_pick = client.put(
            "/api/v1/challenges/late/selection", json={"submission_ids": [better["id"]]}
        )
        assert refused_pick.status_code == 422 and "late" in refused_pick.json()["detail"]
        mine = client.get(f"/api/v1/submissions/{better['id']}").json()
        assert mine["private_score"] is None and mine["late"] is True

    with server.client(organizer) as client:
        assert client.post("/api/v1/challenges/late/finalize").status_code == 200
    with server.client(latecomer) as client:
        mine = client.get(f"/api/v1/submissions/{only['id']}").json()
        assert mine["private_score"] == pytest.approx(Hidden.scores(45, 45)[1])
        private = client.get("/api/v1/challenges/late/leaderboard?board=private").json()
        assert [e["team"] for e in private["entries"]] == [first["team"]]


def _predictions(hidden: Hidden, wrong: list[int], spread: bool) -> bytes:
    """Right everywhere but on ``wrong``: there, one wrong class for all (or a spread)."""
    lines = ["id,label"]
    for i, label in enumerate(hidden.labels):
        if i in wrong:
            label = (label + 1 + (i % 9 if spread else 0)) % 10
            if not spread and label == hidden.labels[i]:
                label = (label + 1) % 10
        lines.append(f"{i},{label}")
    return ("\n".join(lines) + "\n").encode()


def _f1(hidden: Hidden, content: bytes, ids: list[int]) -> float:
    from sklearn.metrics import f1_score

    rows = [line.split(",") for line in content.decode().split()[1:]]
    predicted = {int(i): int(label) for i, label in rows}
    return float(
        f1_score([hidden.labels[i] for i in ids], [predicted[i] for i in ids], average="macro")
    )


def test_ties_on_the_first_metric_are_broken_by_the_second(server: Clocked, organizer: str) -> None:
    server.at(T0)
    hidden = open_challenge(
        server, organizer, "two-metrics", metric=None, metrics=["accuracy", "f1_macro"]
    )
    wrong = hidden.public_ids[:4] + hidden.private_ids[:6]
    files = {spread: _predictions(hidden, wrong, spread) for spread in (False, True)}
    f1 = {spread: _f1(hidden, files[spread], hidden.public_ids) for spread in files}
    assert f1[False] != f1[True]
    # The team with the better F1 submits last: without the tie-break it would lose.
    better = max(f1, key=lambda spread: f1[spread])
    first, second = team_of_two(server, "two-metrics")[0], team_of_two(server, "two-metrics")[0]
    early = accepted(server, first, "two-metrics", files[not better])
    server.at(T0 + timedelta(minutes=5))
    late = accepted(server, second, "two-metrics", files[better])
    assert early["public_score"] == late["public_score"]
    assert late["public_scores"]["f1_macro"] == pytest.approx(f1[better])
    assert late["private_score"] is None and late["private_scores"] is None

    with server.client(first) as client:
        board = client.get("/api/v1/challenges/two-metrics/leaderboard").json()
        assert board["metrics"] == ["accuracy", "f1_macro"]
        assert [e["team"] for e in board["entries"]] == [late["team"], early["team"]]
        assert board["entries"][0]["extra_scores"]["f1_macro"] == pytest.approx(f1[better])
        assert (
            client.get("/api/v1/challenges/two-metrics/leaderboard?board=private").status_code
            == 403
        )
    with server.client(organizer) as client:
        export = client.get("/api/v1/challenges/two-metrics/export").text.splitlines()
        # The second metric's column follows the score columns (members come after it).
        header = export[0].split(",")
        assert header[header.index("last_submission_at") + 1] == "f1_macro" and len(export) == 3
        assert client.patch("/api/v1/challenges/two-metrics", json={"state": "closed"}).is_success
        assert client.post("/api/v1/challenges/two-metrics/finalize").status_code == 200
    with server.client(first) as client:
        private = client.get("/api/v1/challenges/two-metrics/leaderboard?board=private").json()
        private_f1 = {s: _f1(hidden, files[s], hidden.private_ids) for s in files}
        order = sorted(files, key=lambda s: -private_f1[s])
        expected = {not better: early["team"], better: late["team"]}
        assert [e["team"] for e in private["entries"]] == [expected[s] for s in order]
        mine = client.get(f"/api/v1/submissions/{early['id']}").json()
        assert mine["private_scores"]["f1_macro"] == pytest.approx(private_f1[not better])
