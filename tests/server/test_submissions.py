"""Submissions: validation before quota, the daily limit under concurrency, deadlines."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.scoring import predictions
from server.scoring.outcome import csv_outcome
from server.scoring.predictions import parse_predictions
from server.scoring.solution import load_solution, parse_solution
from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit


def test_submit_is_scored_at_once_and_private_hidden(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    wrong = {i for i in range(100) if i % 3 == 0 and i < 30}  # 10 public rows wrong
    result = submit(
        api,
        participant_token,
        open_challenge.slug,
        open_challenge.predictions(wrong=wrong),
        "first try",
    )
    assert result["status_code"] == 201, result
    assert result["status"] == "scored"
    public_rows = sum(open_challenge.public)
    assert result["public_score"] == pytest.approx((public_rows - 10) / public_rows)
    assert result["private_score"] is None
    assert result["remaining_today"] == 4
    assert result["message"] == "first try"
    again = api.get(f"/api/v1/submissions/{result['id']}", headers=auth(participant_token)).json()
    assert again["private_score"] is None and again["public_score"] == result["public_score"]
    listed = api.get(
        f"/api/v1/challenges/{open_challenge.slug}/submissions", headers=auth(participant_token)
    ).json()
    assert [s["id"] for s in listed] == [result["id"]]
    assert all(s["private_score"] is None for s in listed)


def test_organizer_sees_private_score(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, organizer_token: str
) -> None:
    result = submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    seen = api.get(f"/api/v1/submissions/{result['id']}", headers=auth(organizer_token)).json()
    assert seen["private_score"] == 1.0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"id,label\n" + b"".join(f"{i},1\n".encode() for i in range(97)), "3 ids missing"),
        (b"ID,label\n0,1\n", "header"),
        (b"", "empty"),
        (
            b"id,label\n" + b"".join(f"{i},1\n".encode() for i in range(100)) + b"100,1\n",
            "unknown id: 100",
        ),
        (b"id,label\n" + b"".join(f"{i},1\n".encode() for i in range(100)) + b"5,1\n", "duplicate"),
        (
            b"id,label\n" + b"".join(f"{i},{'x' if i == 4 else 1}\n".encode() for i in range(100)),
            "line 6",
        ),
        (
            b"id,label\n" + b"".join(f"{i},{'' if i == 8 else 1}\n".encode() for i in range(100)),
            "line 10",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", ""),
    ],
)
def test_rejected_file_is_422_and_uses_no_quota(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    content: bytes,
    fragment: str,
) -> None:
    result = submit(api, participant_token, open_challenge.slug, content)
    assert result["status_code"] == 422, result
    assert fragment in result["detail"]
    team = api.get(
        f"/api/v1/challenges/{open_challenge.slug}/team", headers=auth(participant_token)
    )
    if team.status_code == 200:
        assert team.json()["submissions_today"] == 0
    listed = api.get(
        f"/api/v1/challenges/{open_challenge.slug}/submissions", headers=auth(participant_token)
    ).json()
    assert listed == []


def test_missing_ids_message_names_examples(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    keep = [i for i in range(100) if i not in (17, 42, 99)]
    content = b"id,label\n" + b"".join(f"{i},1\n".encode() for i in keep)
    result = submit(api, participant_token, open_challenge.slug, content)
    assert result["status_code"] == 422
    assert "3 ids missing" in result["detail"]
    assert all(str(i) in result["detail"] for i in (17, 42, 99))


def test_daily_limit_holds_under_20_parallel_submissions(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token, daily_submission_limit=5)
    open_challenge_now(api, organizer_token, fixture.slug)
    content = fixture.predictions()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(
            pool.map(lambda _: submit(api, participant_token, fixture.slug, content), range(20))
        )
    codes = sorted(r["status_code"] for r in results)
    assert codes.count(201) == 5, codes
    assert codes.count(429) == 15, codes
    refused = next(r for r in results if r["status_code"] == 429)
    assert "daily limit" in refused["detail"] and "next one is possible at" in refused["detail"]
    listed = api.get(
        f"/api/v1/challenges/{fixture.slug}/submissions", headers=auth(participant_token)
    ).json()
    assert len(listed) == 5


def test_429_carries_retry_after(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token, daily_submission_limit=1)
    open_challenge_now(api, organizer_token, fixture.slug)
    assert submit(api, participant_token, fixture.slug, fixture.predictions())["status_code"] == 201
    response = api.post(
        f"/api/v1/challenges/{fixture.slug}/submissions",
        files={"file": ("p.csv", io.BytesIO(fixture.predictions()), "text/csv")},
        headers=auth(participant_token),
    )
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 86400


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_deadlines_by_server_clock(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    later = create_challenge(api, organizer_token, slug="later", opens_at=_iso(timedelta(hours=1)))
    open_challenge_now(api, organizer_token, later.slug)
    early = submit(api, participant_token, later.slug, later.predictions())
    assert early["status_code"] == 403 and "opens at" in early["detail"]

    ending = create_challenge(
        api, organizer_token, slug="ending", closes_at=_iso(timedelta(seconds=3))
    )
    open_challenge_now(api, organizer_token, ending.slug)
    assert submit(api, participant_token, ending.slug, ending.predictions())["status_code"] == 201
    import time

    time.sleep(3.2)
    late = submit(api, participant_token, ending.slug, ending.predictions())
    assert late["status_code"] == 403 and "closed at" in late["detail"]
    state = api.get(f"/api/v1/challenges/{ending.slug}").json()
    assert state["state"] == "closed" and state["accepting_submissions"] is False


def test_closed_early_by_organizer(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, participant_token: str
) -> None:
    api.patch(
        f"/api/v1/challenges/{open_challenge.slug}",
        json={"state": "closed"},
        headers=auth(organizer_token),
    )
    result = submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    assert result["status_code"] == 403
    assert "closed" in result["detail"]


def test_other_teams_cannot_see_or_download_a_submission(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, stranger_token: str
) -> None:
    result = submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    sid = result["id"]
    assert api.get(f"/api/v1/submissions/{sid}", headers=auth(stranger_token)).status_code == 404
    assert (
        api.get(f"/api/v1/submissions/{sid}/file", headers=auth(stranger_token)).status_code == 404
    )
    own = api.get(f"/api/v1/submissions/{sid}/file", headers=auth(participant_token))
    assert own.status_code == 200 and own.content == open_challenge.predictions()
    assert (
        api.get(
            f"/api/v1/challenges/{open_challenge.slug}/submissions", headers=auth(stranger_token)
        ).json()
        == []
    )


def test_wrong_kind_is_422(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    response = api.post(
        f"/api/v1/challenges/{open_challenge.slug}/submissions",
        files={"file": ("m.safetensors", io.BytesIO(b"xx"), "application/octet-stream")},
        data={"kind": "checkpoint"},
        headers=auth(participant_token),
    )
    assert response.status_code == 422
    assert "accepts csv" in response.json()["detail"]


def test_the_embedded_path_reads_a_csv_once(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Validation parses the file; the scorer in the same request scores that parse."""
    reads: list[object] = []
    real = predictions._read_source

    def counted(source: object) -> object:
        reads.append(source)
        return real(source)  # type: ignore[arg-type]

    monkeypatch.setattr(predictions, "_read_source", counted)
    result = submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    assert result["status"] == "scored" and result["public_score"] == 1.0
    assert len(reads) == 1


def test_a_parse_for_another_solution_is_read_again(
    api: TestClient, open_challenge: ChallengeFixture, tmp_path: Path
) -> None:
    """The handed-on parse is used only against the very solution it was made with."""
    solution_file = tmp_path / "solution.csv"
    solution_file.write_bytes(open_challenge.solution_csv())
    sha = hashlib.sha256(solution_file.read_bytes()).hexdigest()
    right = tmp_path / "right.csv"
    right.write_bytes(open_challenge.predictions())
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(open_challenge.predictions(correct=set()))
    other = parse_solution(solution_file.read_bytes(), "accuracy")  # equal, not the cached one
    stale = parse_predictions(wrong, other, "accuracy")
    outcome = csv_outcome(right, solution_file, sha, "accuracy", parsed=stale)
    assert outcome.scores is not None and outcome.scores.public == 1.0
    solution = load_solution(solution_file, "accuracy", sha)
    fresh = parse_predictions(wrong, solution, "accuracy")
    outcome = csv_outcome(right, solution_file, sha, "accuracy", parsed=fresh)
    assert outcome.scores is not None and outcome.scores.public == 0.0  # the parse was used
