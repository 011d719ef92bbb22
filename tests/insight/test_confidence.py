"""Confidence intervals and significance marks on the public leaderboard, end to end.

Submissions go through the real HTTP API and the real scorer; the bootstrap runs on
the insight thread after the commit (``settle`` waits for it). The numbers are
checked against a direct bootstrap of the same public rows with the same seed.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import ChallengeFixture, auth, submit
from tests.insight.helpers import WAIT_SECONDS, settle

PUBLIC_ROWS_WRONG = {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45}


def direct_halfwidth(fixture: ChallengeFixture, wrong: set[int]) -> float:
    """The textbook bootstrap of public accuracy: seed from the solution's sha256."""
    sha = hashlib.sha256(fixture.solution_csv()).hexdigest()
    public = np.flatnonzero(fixture.public)
    correct = np.array([0.0 if i in wrong else 1.0 for i in public])
    rng = np.random.default_rng(int(sha[:16], 16))
    draws = rng.integers(0, len(public), size=(1000, len(public)))
    scores = np.array([correct[row].mean() for row in draws], dtype=np.float32)
    low, high = np.percentile(scores.astype(np.float64), [2.5, 97.5])
    return float(high - low) / 2


def wait_scored(api: TestClient, token: str, submission_id: object) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        body = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(token)).json()
        if body["status"] == "scored":
            return
        time.sleep(0.05)
    pytest.fail(f"submission {submission_id} was not scored again")


def board(api: TestClient, token: str | None = None) -> dict[str, Any]:
    headers = auth(token) if token else {}
    response = api.get("/api/v1/challenges/digits/leaderboard", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_interval_matches_a_direct_bootstrap(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    wrong = {0, 3, 6, 9, 1, 2}  # four public rows wrong, two private
    result = submit(api, participant_token, "digits", open_challenge.predictions(wrong=wrong))
    assert result["status_code"] == 201 and result["status"] == "scored", result
    settle()

    entry = board(api)["entries"][0]
    assert entry["ci_halfwidth"] == pytest.approx(direct_halfwidth(open_challenge, wrong), abs=1e-6)
    assert entry["ci_halfwidth"] > 0
    assert entry["tied_with_next"] is None  # alone on the board
    mine = api.get(f"/api/v1/submissions/{result['id']}", headers=auth(participant_token)).json()
    assert mine["public_ci_halfwidth"] == entry["ci_halfwidth"]
    # The page shows it as "score ± half-width".
    page = api.get("/c/digits").text
    assert f"{entry['score']:.5f}" in page
    assert f"± {entry['ci_halfwidth']:.4f}" in page


def test_adjacent_entries_are_marked_when_the_gap_is_not_significant(
    api: TestClient,
    open_challenge: ChallengeFixture,
    make_user: Any,
) -> None:
    ada, bob, cyd = make_user("ada"), make_user("bob"), make_user("cyd")
    submit(api, ada, "digits", open_challenge.predictions())  # 1.0
    submit(api, bob, "digits", open_challenge.predictions(wrong={0}))  # one public row wrong
    submit(api, cyd, "digits", open_challenge.predictions(wrong=PUBLIC_ROWS_WRONG))
    settle()

    entries = board(api)["entries"]
    assert [e["team"] for e in entries] == ["ada", "bob", "cyd"]
    # ada and bob differ on one of 34 rows: the paired interval of the difference holds 0.
    assert entries[0]["tied_with_next"] is True
    # bob is 15 rows ahead of cyd on the same resamples: significant.
    assert entries[1]["tied_with_next"] is False
    assert entries[2]["tied_with_next"] is None
    assert entries[0]["ci_halfwidth"] == 0.0  # all correct on every resample
    page = api.get("/c/digits").text
    assert page.count('class="tie"') == 1


def test_nothing_private_is_stored_or_shown(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, make_user: Any
) -> None:
    """Two submissions alike on the public rows, unlike on the private ones: same numbers."""
    from server.db import session_scope
    from server.models import Submission

    private_rows = {i for i, p in enumerate(open_challenge.public) if not p}
    submit(api, participant_token, "digits", open_challenge.predictions(wrong={0}))
    other = make_user("sam")
    submit(api, other, "digits", open_challenge.predictions(wrong={0} | private_rows))
    settle()
    with session_scope() as session:
        rows = session.execute(
            select(Submission.public_bootstrap, Submission.public_ci_halfwidth).order_by(
                Submission.id
            )
        ).all()
    assert rows[0] == rows[1]
    assert rows[0][0] is not None
    entries = board(api)["entries"]
    assert entries[0]["tied_with_next"] is True  # same public predictions
    for entry in entries:
        assert set(entry) >= {"ci_halfwidth", "tied_with_next"}
        assert "private_score" not in entry


def test_a_rescore_recomputes_the_interval(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, organizer_token: str
) -> None:
    wrong = {0, 3, 1}
    result = submit(api, participant_token, "digits", open_challenge.predictions(wrong=wrong))
    settle()
    before = board(api)["entries"][0]["ci_halfwidth"]
    # A fixed label: row 6 (public) now disagrees with the predictions too.
    open_challenge.labels[6] = (open_challenge.labels[6] + 5) % 10
    response = api.put(
        "/api/v1/challenges/digits/solution",
        content=open_challenge.solution_csv(),
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    response = api.post("/api/v1/challenges/digits/rescore", headers=auth(organizer_token))
    assert response.status_code == 200, response.text
    # Re-scores run in the background: wait for the score, then for the insight thread.
    wait_scored(api, participant_token, result["id"])
    settle()
    after = board(api)["entries"][0]
    assert after["ci_halfwidth"] != before
    assert after["ci_halfwidth"] == pytest.approx(
        direct_halfwidth(open_challenge, wrong | {6}), abs=1e-6
    )


def test_a_batch_of_bootstraps_is_stored_with_one_board_bump_per_team(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    stranger_token: str,
) -> None:
    """Under a burst the insight thread takes what is queued as one batch: every
    submission gets its own interval, and each team's board row moves once."""
    from sqlalchemy import update

    from server.db import session_scope
    from server.insight.service import store_bootstraps
    from server.models import BoardChange, Challenge, Submission

    wrongs = [{0, 3}, {0, 3, 6}, {0}]
    tokens = [participant_token, participant_token, stranger_token]
    ids = [
        submit(api, token, "digits", open_challenge.predictions(wrong=wrong))["id"]
        for token, wrong in zip(tokens, wrongs, strict=True)
    ]
    settle()
    with session_scope() as session:  # as if their bootstraps were still to come
        session.execute(
            update(Submission)
            .where(Submission.id.in_(ids))
            .values(public_bootstrap=None, public_ci_halfwidth=None)
        )
        challenge_id, version = session.execute(
            select(Challenge.id, Challenge.board_version).where(Challenge.slug == "digits")
        ).one()

    assert store_bootstraps([(i, None) for i in ids]) == {challenge_id}

    with session_scope() as session:
        stored = dict(
            session.execute(
                select(Submission.id, Submission.public_ci_halfwidth).where(Submission.id.in_(ids))
            )
            .tuples()
            .all()
        )
        after = session.scalar(select(Challenge.board_version).where(Challenge.id == challenge_id))
        logged = session.scalars(
            select(BoardChange.team_id).where(
                BoardChange.challenge_id == challenge_id, BoardChange.version > version
            )
        ).all()
    for submission_id, wrong in zip(ids, wrongs, strict=True):
        assert stored[submission_id] == pytest.approx(
            direct_halfwidth(open_challenge, wrong), abs=1e-6
        )
    assert after == version + 2 and len(set(logged)) == 2  # two teams, one bump each
    # Stored once: a second pass finds nothing to do and moves no board.
    store_bootstraps([(i, None) for i in ids])
    with session_scope() as session:
        assert (
            session.scalar(select(Challenge.board_version).where(Challenge.id == challenge_id))
            == after
        )
