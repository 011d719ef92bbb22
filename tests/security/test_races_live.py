"""Races through a live server: two uvicorn worker processes, real sockets, many clients.

The TestClient versions in tests/server share one process; these go through
``podium-server serve --workers 2`` so that two processes (two connection
pools, two leaderboard caches) race for the same rows, as in production. Each
test starts its clients behind a barrier so that their requests overlap.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.security.live import (
    LiveServer,
    all_submissions,
    open_challenge,
    upload,
    wait_until_settled,
)
from tests.security.world import Hidden

# Outcomes that are retried, as the client library does: the database was busy.
RETRIED = (503,)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("races"), migrated_template, workers=2)
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def organizer(server: LiveServer) -> str:
    return server.create_organizer("olga")


_names = iter(range(1_000_000))


def participants(server: LiveServer, count: int) -> list[str]:
    return [server.create_participant(f"racer{next(_names)}") for _ in range(count)]


def in_parallel(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads that start together."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def retried(send: Callable[[], httpx.Response], attempts: int = 20) -> httpx.Response:
    for _ in range(attempts):
        response = send()
        if response.status_code not in RETRIED:
            return response
        time.sleep(float(response.headers.get("retry-after", "0.2")) * random.random())
    return response


def make_team(server: LiveServer, slug: str, tokens: list[str]) -> None:
    """tokens[0] founds the team; the others join it with the invite code."""
    with server.client(tokens[0]) as client:
        assert client.post(f"/api/v1/challenges/{slug}/join").status_code == 200
        code = client.post(f"/api/v1/challenges/{slug}/team/invite").json()["code"]
    for token in tokens[1:]:
        with server.client(token) as client:
            response = client.post(f"/api/v1/challenges/{slug}/team/join", json={"code": code})
            assert response.status_code == 200, response.text


def test_daily_limit_holds_under_parallel_submits_from_several_clients(
    server: LiveServer, organizer: str
) -> None:
    """Per team: 12 valid uploads and 8 invalid ones at once, limit 3 -> 3 accepted."""
    limit = 3
    hidden = open_challenge(server, organizer, "quota", daily_submission_limit=limit)
    teams = {name: participants(server, 2) for name in ("red", "blue")}
    for members in teams.values():
        make_team(server, "quota", members)
    valid, invalid = hidden.predictions(10, 10), b"id,label\n0,1\n"

    def client_burst(token: str) -> list[int]:
        with server.client(token) as client:
            return [
                retried(lambda c=content: upload(client, "quota", c)).status_code
                for content in (invalid, valid, valid, invalid, valid, invalid, valid, invalid)
            ]

    jobs: list[Callable[[], list[int]]] = []
    owners: list[str] = []
    for name, members in teams.items():
        for token in members:
            jobs.append(lambda t=token: client_burst(t))
            owners.append(name)
    results = in_parallel(jobs)
    by_team: dict[str, Counter[int]] = {name: Counter() for name in teams}
    for name, statuses in zip(owners, results, strict=True):
        by_team[name].update(statuses)
    for name, counts in by_team.items():
        assert counts == Counter({201: limit, 429: 8 - limit, 422: 8}), (name, counts)
    rows = all_submissions(server, organizer, "quota")
    assert Counter(r["team"] for r in rows).most_common() and all(
        n == limit for n in Counter(r["team"] for r in rows).values()
    ), rows


def test_failed_submissions_do_not_game_the_limit(server: LiveServer, organizer: str) -> None:
    """Rejected files (422) use no quota; every accepted one does, whatever its outcome."""
    hidden = open_challenge(server, organizer, "gaming", daily_submission_limit=2)
    (token,) = participants(server, 1)
    with server.client(token) as client:
        for _ in range(5):
            assert upload(client, "gaming", b"id,label\n").status_code == 422
        assert upload(client, "gaming", hidden.predictions(0, 0)).status_code == 201
        assert upload(client, "gaming", hidden.predictions(1, 1)).status_code == 201
        refused = upload(client, "gaming", hidden.predictions(19, 81))
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) > 0
        team = client.get("/api/v1/challenges/gaming/team").json()
        assert (team["submissions_today"], team["remaining_today"]) == (2, 0)


def test_team_size_cap_holds_under_parallel_joins(server: LiveServer, organizer: str) -> None:
    open_challenge(server, organizer, "teams", max_team_size=3)
    founder, *joiners = participants(server, 7)
    make_team(server, "teams", [founder])
    with server.client(founder) as client:
        code = client.post("/api/v1/challenges/teams/team/invite").json()["code"]

    def join(token: str) -> int:
        with server.client(token) as client:
            response = retried(
                lambda: client.post("/api/v1/challenges/teams/team/join", json={"code": code})
            )
            return response.status_code

    statuses = Counter(in_parallel([lambda t=t: join(t) for t in joiners]))
    assert statuses == Counter({200: 2, 409: 4}), statuses
    with server.client(founder) as client:
        assert len(client.get("/api/v1/challenges/teams/team").json()["members"]) == 3


def test_parallel_final_selections_never_mix(server: LiveServer, organizer: str) -> None:
    """Concurrent PUT selection: the result is exactly one request's set, never a union."""
    hidden = open_challenge(server, organizer, "finals", final_selection_count=2)
    members = participants(server, 2)
    make_team(server, "finals", members)
    ids = []
    with server.client(members[0]) as client:
        for right in (3, 6, 9, 12):
            response = upload(client, "finals", hidden.predictions(right, right))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    choices = [sorted(random.Random(seed).sample(ids, 1 + seed % 2)) for seed in range(16)]
    for _round in range(3):
        requested: list[list[int]] = []

        def select(token: str, wanted: list[int]) -> int:
            with server.client(token) as client:
                return retried(
                    lambda: client.put(
                        "/api/v1/challenges/finals/selection", json={"submission_ids": wanted}
                    )
                ).status_code

        jobs = []
        for index, wanted in enumerate(choices):
            requested.append(wanted)
            jobs.append(lambda t=members[index % 2], w=wanted: select(t, w))
        assert set(in_parallel(jobs)) == {200}
        selected = sorted(
            r["id"] for r in all_submissions(server, organizer, "finals") if r["selected_for_final"]
        )
        assert selected in requested and len(selected) <= 2, selected
        random.shuffle(choices)


def test_rescore_during_submissions_loses_nothing_and_never_ranks_a_missing_score(
    server: LiveServer, organizer: str
) -> None:
    hidden = open_challenge(server, organizer, "rescore", daily_submission_limit=50)
    tokens = participants(server, 3)
    for token in tokens:
        make_team(server, "rescore", [token])
    plan = {token: [(r, (r * 7) % 81) for r in range(2, 19, 3)] for token in tokens}
    stop = threading.Event()
    board_problems: list[str] = []

    def watch_board() -> None:
        with server.client() as client:
            while not stop.is_set():
                board = client.get("/api/v1/challenges/rescore/leaderboard").json()
                scores = [e["score"] for e in board["entries"]]
                if any(s is None for s in scores) or scores != sorted(scores, reverse=True):
                    board_problems.append(repr(board["entries"]))
                if [e["rank"] for e in board["entries"]] != list(range(1, len(scores) + 1)):
                    board_problems.append(repr(board["entries"]))

    def submit_all(token: str) -> list[tuple[int, float]]:
        accepted = []
        with server.client(token) as client:
            for public_right, private_right in plan[token]:
                response = retried(
                    lambda p=public_right, q=private_right: upload(
                        client, "rescore", hidden.predictions(p, q)
                    )
                )
                assert response.status_code == 201, response.text
                accepted.append((response.json()["id"], public_right / 19))
        return accepted

    def rescore_repeatedly() -> list[Any]:
        outcomes = []
        with server.client(organizer) as client:
            for _ in range(4):
                outcomes.append(
                    retried(lambda: client.post("/api/v1/challenges/rescore/rescore")).status_code
                )
                time.sleep(0.05)
        return [outcomes]

    watcher = threading.Thread(target=watch_board, daemon=True)
    watcher.start()
    try:
        results = in_parallel([lambda t=t: submit_all(t) for t in tokens] + [rescore_repeatedly])
    finally:
        time.sleep(0.2)
    assert results[-1] == [[200] * 4]
    rows = {r["id"]: r for r in wait_until_settled(server, organizer, "rescore")}
    stop.set()
    watcher.join(timeout=30)
    expected = {sid: score for accepted in results[:-1] for sid, score in accepted}
    assert set(rows) == set(expected), "a submission was lost or invented"
    for sid, score in expected.items():
        assert rows[sid]["status"] == "scored", rows[sid]
        assert rows[sid]["public_score"] == pytest.approx(score), rows[sid]
    assert not board_problems, board_problems[:3]


def test_no_submission_is_accepted_after_the_deadline(server: LiveServer, organizer: str) -> None:
    """Clients keep submitting across the deadline: every 201 was created before it."""
    hidden = Hidden.make()
    tokens = participants(server, 3)
    closes_at = datetime.now(UTC) + timedelta(seconds=2.5)
    open_challenge(
        server,
        organizer,
        "deadline",
        daily_submission_limit=1000,
        closes_at=closes_at.isoformat(),
    )

    def hammer(token: str) -> list[tuple[int, str | None, float]]:
        seen = []
        with server.client(token) as client:
            while time.time() < closes_at.timestamp() + 1.5:
                sent = time.time()
                response = upload(client, "deadline", hidden.predictions(5, 5))
                created = response.json().get("created_at") if response.status_code == 201 else None
                seen.append((response.status_code, created, sent))
        return seen

    results = [r for batch in in_parallel([lambda t=t: hammer(t) for t in tokens]) for r in batch]
    statuses = Counter(status for status, _, _ in results)
    assert statuses[201] > 0 and statuses[403] > 0, statuses
    assert set(statuses) <= {201, 403, *RETRIED}, statuses
    for status, created, sent in results:
        if status == 201:
            assert created is not None
            assert datetime.fromisoformat(created) < closes_at, (created, closes_at)
        if sent > closes_at.timestamp() + 0.5:
            assert status in (403, *RETRIED), (status, sent, closes_at)
    with server.client(organizer) as client:
        state = client.get("/api/v1/challenges/deadline").json()
    assert state["state"] == "closed" and not state["accepting_submissions"]
