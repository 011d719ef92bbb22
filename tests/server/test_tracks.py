"""Parameter-budget tracks: a track's board is the full board filtered by the measured
parameter count, on the same leak rules (private only after finalize)."""

from __future__ import annotations

import html
import io
import random
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from server.db import session_scope
from server.leaderboard.board import compute
from server.leaderboard.bump import bump_board
from server.leaderboard.tracks import BoardTrack
from server.models import Baseline, Challenge, Submission, Team, utcnow
from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now

TRACKS = [{"name": "tiny", "max_parameters": 10_000}, {"name": "small", "max_parameters": 100_000}]
# Measured sizes the fixture draws from: the budgets themselves and their neighbours.
SIZES = [None, 1, 7_850, 9_999, 10_000, 10_001, 50_000, 100_000, 100_001, 3_000_000]
TEAMS = 7
PER_TEAM = 6


def build_class(slug: str, seed: int) -> None:
    """Teams and scored rows drawn at random: sizes, kinds, ties, late rows, failures,
    final picks, a disqualified team and two baselines (one fits the tiny track)."""
    rng = random.Random(seed)
    start = utcnow() - timedelta(days=1)
    with session_scope() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one()
        for t in range(TEAMS):
            team = Team(challenge_id=challenge.id, name=f"team-{t}")
            if t == TEAMS - 1:
                team.disqualified_at = utcnow()
            session.add(team)
            session.flush()
            picks = 0
            for _ in range(PER_TEAM):
                kind = rng.choice(["checkpoint", "checkpoint", "checkpoint", "csv"])
                scored = rng.random() < 0.85
                selected = scored and picks < challenge.final_selection_count and rng.random() < 0.3
                picks += selected
                session.add(
                    Submission(
                        challenge_id=challenge.id,
                        team_id=team.id,
                        kind=kind,
                        file_sha256="0" * 64,
                        status="scored" if scored else "failed",
                        public_score=rng.randrange(20, 34) / 33 if scored else None,
                        private_score=rng.randrange(40, 81) / 81 if scored else None,
                        public_ci_halfwidth=0.05 if scored else None,
                        created_at=start + timedelta(minutes=rng.randrange(600)),
                        late=rng.random() < 0.1,
                        selected_for_final=selected,
                        parameter_count=rng.choice(SIZES) if kind == "checkpoint" else None,
                    )
                )
        for name, size, public in (("Neuron", 7_850, 0.70), ("CNN", 400_000, 0.95)):
            row = Submission(
                challenge_id=challenge.id,
                team_id=None,
                kind="checkpoint",
                file_sha256="1" * 64,
                status="scored",
                public_score=public,
                private_score=public - 0.01,
                parameter_count=size,
            )
            session.add(row)
            session.flush()
            session.add(Baseline(challenge_id=challenge.id, name=name, submission_id=row.id))
        bump_board(session, challenge.id)


def comparable(board: Any) -> list[dict[str, Any]]:
    return [e.model_dump() for e in board.entries] + [b.model_dump() for b in board.baselines]


def fits(row: Submission, budget: int) -> bool:
    return (
        row.kind == "checkpoint"
        and row.parameter_count is not None
        and row.parameter_count <= budget
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_track_board_is_the_full_board_filtered_by_measured_size(
    api: TestClient, organizer_token: str, seed: int
) -> None:
    slug = f"tracks-{seed}"
    create_challenge(api, organizer_token, slug, tracks=TRACKS)
    open_challenge_now(api, organizer_token, slug)
    build_class(slug, seed)
    budgets = sorted({s for s in SIZES if s is not None} | {10_000, 100_000, 0, 10**9})
    with session_scope() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one()
        for budget in budgets:
            track = BoardTrack("t", budget) if budget else None
            for part in ("public", "private"):
                on_track = compute(session, challenge, part, track)
                if track is None:
                    continue
                # The same board, computed as if the submissions that do not fit were
                # never made: delete them (and their baselines), compute, roll back.
                nested = session.begin_nested()
                rows = session.scalars(
                    select(Submission).where(Submission.challenge_id == challenge.id)
                ).all()
                gone = [r.id for r in rows if not fits(r, budget)]
                session.execute(delete(Baseline).where(Baseline.submission_id.in_(gone)))
                session.execute(delete(Submission).where(Submission.id.in_(gone)))
                full = compute(session, challenge, part)
                nested.rollback()
                assert comparable(on_track) == comparable(full), (budget, part)
                assert on_track.track == "t" and on_track.max_parameters == budget
                for entry in on_track.entries:
                    assert entry.parameter_count is not None and entry.parameter_count <= budget
                    assert entry.team != f"team-{TEAMS - 1}"  # disqualified


def test_the_public_track_board_by_hand(api: TestClient, organizer_token: str) -> None:
    """An independent reading of the public track board: each team's best fitting row."""
    slug = "tracks-by-hand"
    create_challenge(api, organizer_token, slug, tracks=TRACKS)
    open_challenge_now(api, organizer_token, slug)
    build_class(slug, 11)
    with session_scope() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one()
        rows = session.scalars(
            select(Submission).where(
                Submission.challenge_id == challenge.id, Submission.team_id.is_not(None)
            )
        ).all()
        names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
        want: dict[str, list[Any]] = {}
        for track in TRACKS:
            budget = track["max_parameters"]
            best: dict[str, Submission] = {}
            for r in rows:
                if r.status != "scored" or r.late or not fits(r, budget):
                    continue
                if names[r.team_id] == f"team-{TEAMS - 1}":
                    continue
                held = best.get(names[r.team_id])
                key = (-r.public_score, r.created_at, r.id)
                if held is None or key < (-held.public_score, held.created_at, held.id):
                    best[names[r.team_id]] = r
            ranked = sorted(
                best.items(), key=lambda kv: (-kv[1].public_score, kv[1].created_at, kv[1].id)
            )
            want[track["name"]] = [(team, r.public_score, r.parameter_count) for team, r in ranked]
    for track in TRACKS:
        got = api.get(f"/api/v1/challenges/{slug}/leaderboard", params={"track": track["name"]})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["track"] == track["name"] and body["max_parameters"] == track["max_parameters"]
        entries = [(e["team"], e["score"], e["parameter_count"]) for e in body["entries"]]
        assert entries == want[track["name"]]
        assert [e["rank"] for e in body["entries"]] == list(range(1, len(entries) + 1))
        labels = [b["name"] for b in body["baselines"]]
        assert labels == ["Neuron"]  # the CNN baseline does not fit either budget
    full = api.get(f"/api/v1/challenges/{slug}/leaderboard").json()
    assert full["track"] is None and [b["name"] for b in full["baselines"]] == ["Neuron", "CNN"]


def test_unknown_tracks_are_refused_with_the_known_ones(
    api: TestClient, organizer_token: str, open_challenge: ChallengeFixture
) -> None:
    slug = open_challenge.slug
    none = api.get(f"/api/v1/challenges/{slug}/leaderboard", params={"track": "tiny"})
    assert none.status_code == 404
    assert (
        "no track 'tiny'" in none.json()["detail"] and "declares no tracks" in none.json()["detail"]
    )
    patched = api.patch(
        f"/api/v1/challenges/{slug}", json={"tracks": TRACKS}, headers=auth(organizer_token)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tracks"] == TRACKS
    for url, params, headers in (
        (f"/api/v1/challenges/{slug}/leaderboard", {"track": "huge"}, {}),
        (f"/api/v1/challenges/{slug}/leaderboard", {"track": "huge"}, auth(organizer_token)),
        (f"/api/v1/challenges/{slug}/export", {"track": "huge"}, auth(organizer_token)),
        (f"/c/{slug}", {"track": "huge"}, {}),
    ):
        response = api.get(url, params=params, headers=headers)
        assert response.status_code == 404, (url, response.text)
        text = html.unescape(response.text)
        assert "no track 'huge'" in text and "tiny, small" in text
    # A known track answers, on every route.
    assert api.get(f"/api/v1/challenges/{slug}/leaderboard?track=tiny").status_code == 200
    export = api.get(
        f"/api/v1/challenges/{slug}/export",
        params={"track": "small", "format": "json"},
        headers=auth(organizer_token),
    )
    assert export.status_code == 200 and export.json()["track"] == "small"
    assert "digits-public-small-leaderboard.json" in export.headers["content-disposition"]
    page = api.get(f"/c/{slug}", params={"track": "tiny"})
    assert page.status_code == 200 and "track tiny" in page.text and "?track=small" in page.text


@pytest.mark.parametrize(
    "tracks, problem",
    [
        ([{"name": "tiny", "max_parameters": 0}], "greater than or equal to 1"),
        ([{"name": "Tiny!", "max_parameters": 10}], "pattern"),
        (
            [{"name": "tiny", "max_parameters": 10}, {"name": "tiny", "max_parameters": 20}],
            "distinct",
        ),
        ([{"name": f"t{i}", "max_parameters": i + 1} for i in range(9)], "at most 8"),
        ([{"name": "tiny"}], "max_parameters"),
        ([{"name": "tiny", "max_parameters": 10, "extra": 1}], "extra"),
    ],
)
def test_track_declarations_are_checked(
    api: TestClient, organizer_token: str, tracks: list[dict[str, Any]], problem: str
) -> None:
    body = {"slug": "bad-tracks", "title": "T", "metric": "accuracy", "tracks": tracks}
    response = api.post("/api/v1/challenges", json=body, headers=auth(organizer_token))
    assert response.status_code == 422 and problem in response.text, response.text


def test_private_track_boards_wait_for_finalize(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
) -> None:
    slug = "tracks-private"
    create_challenge(api, organizer_token, slug, tracks=TRACKS)
    open_challenge_now(api, organizer_token, slug)
    build_class(slug, 5)
    url = f"/api/v1/challenges/{slug}/leaderboard"
    private = {"board": "private", "track": "tiny"}
    assert api.get(url, params=private).status_code == 403
    assert api.get(url, params=private, headers=auth(participant_token)).status_code == 403
    managed = api.get(url, params=private, headers=auth(organizer_token))
    assert managed.status_code == 200 and managed.json()["board"] == "private"
    page = api.get(f"/c/{slug}", params=private)
    assert page.status_code == 200 and "Private leaderboard" not in page.text
    hidden = {f"{e['score']:.5f}" for e in managed.json()["entries"]}
    shown = {f"{e['score']:.5f}" for e in api.get(url, params={"track": "tiny"}).json()["entries"]}
    for value in hidden - shown:
        assert value not in page.text
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer_token))
    finalized = api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token))
    assert finalized.status_code == 200, finalized.text
    revealed = api.get(url, params=private)
    assert revealed.status_code == 200 and revealed.json()["track"] == "tiny"
    page = api.get(f"/c/{slug}", params={"track": "tiny"})
    assert "Private leaderboard · track tiny" in page.text


def test_tracks_travel_in_bundles(api: TestClient, organizer_token: str) -> None:
    create_challenge(api, organizer_token, "tracks-bundle", tracks=TRACKS)
    zipped = api.get("/api/v1/challenges/tracks-bundle/bundle", headers=auth(organizer_token))
    assert zipped.status_code == 200, zipped.text
    assert b"max_parameters: 10000" in _manifest(zipped.content)


def _manifest(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("challenge.yaml"))
        return archive.read(name)
