"""Incremental ranking: the moved board equals the rebuilt board after random histories.

Each history is a random sequence, on a real database, of what changes a public
board: new results (tied scores, earlier and later timestamps, late ones),
failures, bootstraps stored (tie marks, some identical), disqualifications and
reinstatements, renames, a finalization, and a version bumped by other means
(no change row: the board must be rebuilt). The team-scoped changes are bumped
as ``queue.state.record`` and ``insight.service.store_bootstrap`` bump them. After
every step the board served by ``leaderboard.service`` (moved from this
process's previous ranking when the log allows) must equal
``leaderboard.board.compute`` (the board from scratch), entry by entry, and so
must the JSON body it serves, joined from each team's kept fragment: the same
bytes as ``compute``'s ``model_dump_json`` but for ``generated_at`` (same keys,
same order, same values), plain and gzipped. Team names are chosen to break a
careless splice (quotes, braces, the fragments' own separators, non-ASCII), and
the measurements take awkward floats.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.db import session_scope
from server.insight.service import wait_idle
from server.leaderboard import incremental, service
from server.leaderboard.board import compute
from server.leaderboard.bump import bump_board
from server.models import (
    BoardChange,
    Challenge,
    ChallengeState,
    Submission,
    SubmissionStatus,
    Team,
    utcnow,
)
from server.scoring import bootstrap
from tests.conftest import ChallengeFixture, submit

TEAMS = 8
STEPS = 70
SCORES = (0.5, 0.6, 0.6, 0.7, 0.8)  # repeated values: ties on score
BOOTSTRAPS = [
    np.linspace(0.4, 0.6, 50),
    np.linspace(0.45, 0.65, 50),
    np.full(50, 0.7),
    np.full(50, 0.3),
    np.linspace(0.69, 0.71, 50),
]
# Names that a splice by string search would cut in the wrong place.
NAMES = [
    'team "0"',
    '},{"rank":0,',
    '"tied_with_next":null,',
    '"entries":[]',
    "équipe ☃ \\",
    "<script>\n</script>",
    "team 6",
    "team 7",
]
FLOATS = [None, 0.1, 1e-07, 123456789.125, 0.30000000000000004, 2.5e20]
GENERATED_AT = re.compile(rb'"generated_at":"[^"]*"')


def board_dump(board: Any) -> dict[str, Any]:
    data: dict[str, Any] = board.model_dump(mode="json")
    data.pop("generated_at")
    return data


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the service built a ranking from scratch and moved one."""
    calls = {"build": 0, "advance": 0, "moved": 0}
    build, advance = incremental.build, incremental.advance

    def counting_build(*args: Any) -> Any:
        calls["build"] += 1
        return build(*args)

    def counting_advance(*args: Any) -> Any:
        calls["advance"] += 1
        moved = advance(*args)
        calls["moved"] += moved is not None
        return moved

    monkeypatch.setattr(incremental, "build", counting_build)
    monkeypatch.setattr(incremental, "advance", counting_advance)
    return calls


def _same_body(cached: service.CachedBoard, rebuilt: Any) -> None:
    """The served body is the rebuilt board's JSON, byte for byte but for generated_at."""
    expected = GENERATED_AT.sub(b"", rebuilt.model_dump_json(by_alias=True).encode())
    assert GENERATED_AT.sub(b"", cached.body) == expected
    assert gzip.decompress(cached.gzip_body) == cached.body
    # The board object built on demand says what the body says, generated_at included.
    assert json.loads(cached.body) == cached.board.model_dump(mode="json")


def _add_submission(
    session: Session, challenge: Challenge, team_id: int, rng: random.Random
) -> None:
    scored = rng.random() < 0.8
    created = utcnow() + timedelta(seconds=rng.choice([-60, -5, 0, 0, 5, 60]))
    session.execute(
        insert(Submission).values(
            challenge_id=challenge.id,
            team_id=team_id,
            kind="csv",
            file_sha256="0" * 64,
            status=SubmissionStatus.scored if scored else SubmissionStatus.failed,
            public_score=rng.choice(SCORES) if scored else None,
            private_score=rng.choice(SCORES) if scored else None,
            error=None if scored else "wrong header",
            late=scored and rng.random() < 0.1,
            parameter_count=rng.choice([None, 0, 241_546, 2**31 - 1]),
            inference_seconds_per_1k=rng.choice(FLOATS),
            peak_memory_mb=rng.choice(FLOATS),
            created_at=created,
            scored_at=created,
            attempts=1,
        )
    )
    bump_board(session, challenge.id, team_id)  # as queue.state.record does


def _store_bootstrap(
    session: Session, challenge: Challenge, team_id: int, rng: random.Random
) -> None:
    ids = session.scalars(
        select(Submission.id).where(
            Submission.team_id == team_id,
            Submission.status == SubmissionStatus.scored,
            Submission.public_bootstrap.is_(None),
        )
    ).all()
    if not ids:
        return
    scores = rng.choice(BOOTSTRAPS)
    session.execute(
        update(Submission)
        .where(Submission.id == rng.choice(ids))
        .values(**bootstrap.stored_columns(scores))
    )
    bump_board(session, challenge.id, team_id)  # as insight's store_bootstrap does


def _step(session: Session, challenge: Challenge, teams: list[int], rng: random.Random) -> str:
    team_id = rng.choice(teams)
    kind = rng.choices(
        ["submit", "bootstrap", "disqualify", "rename", "raw bump", "finalize"],
        weights=[50, 30, 6, 4, 4, 1],
    )[0]
    if kind == "submit":
        _add_submission(session, challenge, team_id, rng)
    elif kind == "bootstrap":
        _store_bootstrap(session, challenge, team_id, rng)
    elif kind == "disqualify":  # or reinstate: a change of any kind (no change row)
        team = session.get(Team, team_id)
        assert team is not None
        team.disqualified_at = None if team.disqualified_at else utcnow()
        bump_board(session, challenge.id)
    elif kind == "rename":
        team = session.get(Team, team_id)
        assert team is not None
        team.name = f"{team.name}'" if rng.random() < 0.5 else f"{rng.choice(NAMES)}{team.id}"
        bump_board(session, challenge.id)
    elif kind == "raw bump":  # another process, another version of the code: no change row
        session.execute(
            update(Challenge)
            .where(Challenge.id == challenge.id)
            .values(board_version=Challenge.board_version + 1)
        )
    else:
        session.execute(
            update(Challenge)
            .where(Challenge.id == challenge.id)
            .values(state=ChallengeState.finalized)
        )
        bump_board(session, challenge.id)
    return kind


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_moved_board_equals_rebuilt_board(
    seed: int, api: TestClient, open_challenge: ChallengeFixture, counted: dict[str, int]
) -> None:
    rng = random.Random(seed)
    with session_scope() as session:
        challenge_id = session.scalar(
            select(Challenge.id).where(Challenge.slug == open_challenge.slug)
        )
        assert challenge_id is not None
        session.execute(
            insert(Team),
            [{"challenge_id": challenge_id, "name": NAMES[i]} for i in range(TEAMS)],
        )
        teams = list(session.scalars(select(Team.id).where(Team.challenge_id == challenge_id)))
    kinds = []
    for _ in range(STEPS):
        with session_scope() as session:
            challenge = session.get(Challenge, challenge_id)
            assert challenge is not None
            kinds.append(_step(session, challenge, teams, rng))
        service.forget({challenge_id})  # read the version again (a raw bump notes nothing)
        with session_scope() as session:
            challenge = session.get(Challenge, challenge_id)
            assert challenge is not None
            cached = service.get_cached(session, challenge, "public")
            rebuilt = compute(session, challenge, "public")
            _same_body(cached, rebuilt)
            assert board_dump(cached.board) == board_dump(rebuilt), kinds
    # The histories did move boards (and rebuilt them where the log did not say).
    assert counted["moved"] > STEPS // 2, counted
    assert counted["build"] >= 1, counted


def test_recorded_results_and_bootstraps_log_their_team(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
) -> None:
    """Through the API: a scored result and its bootstrap each log the team's change."""
    result = submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    assert result["status_code"] == 201 and result["status"] == "scored", result
    assert wait_idle(30)
    with session_scope() as session:
        team_id = session.scalar(select(Submission.team_id).where(Submission.id == result["id"]))
        changes = session.execute(select(BoardChange.version, BoardChange.team_id)).all()
        version = session.scalar(
            select(Challenge.board_version).where(Challenge.slug == open_challenge.slug)
        )
    assert [team for _, team in changes] == [team_id, team_id]  # the result, then the bootstrap
    assert max(v for v, _ in changes) == version
