"""Hypothesis on the two CSV validators, through the API: 201/200 or 422, nothing half-done.

Predictions (``read_predictions`` behind POST .../submissions) and solutions
(``parse_solution`` behind PUT .../solution) get files derived from valid ones
by the mistakes people make (missing, duplicated and extra rows, wrong headers,
bad values, encodings, quoting, line endings) plus raw bytes. Whatever comes
in, the answer is a success or a 422 that says why; a 422 leaves no
submission row, uses no quota and leaves the challenge as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from server.db import session_scope
from server.models import Challenge, Submission
from tests.conftest import auth
from tests.security.world import Hidden, new_challenge, submit_csv

EXAMPLES = 120
CELL_VALUES = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NaN", "inf", "-0", "1e308", "0x1", "１", "٣", '"', '""', "\x00"]),
    st.text(max_size=8),
)


@st.composite
def mutated_csv(draw: Any, base: list[list[str]]) -> bytes:
    """A valid CSV (as rows) with a few of the usual mistakes, or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=3000))
    rows = [list(row) for row in base]
    for _ in range(draw(st.integers(0, 4))):
        action = draw(
            st.sampled_from(
                ["drop", "duplicate", "cell", "extra_column", "header", "blank", "swap", "add"]
            )
        )
        i = draw(st.integers(0, len(rows) - 1)) if rows else 0
        if not rows:
            break
        if action == "drop":
            rows.pop(i)
        elif action == "duplicate":
            rows.insert(i, list(rows[i]))
        elif action == "cell" and rows[i]:
            rows[i][draw(st.integers(0, len(rows[i]) - 1))] = draw(CELL_VALUES)
        elif action == "extra_column":
            rows[i].append(draw(CELL_VALUES))
        elif action == "header":
            rows[0] = draw(st.lists(st.text(max_size=6), max_size=4))
        elif action == "blank":
            rows.insert(i, [])
        elif action == "swap" and len(rows) > 2:
            j = draw(st.integers(1, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif action == "add":
            rows.append([draw(CELL_VALUES) for _ in range(len(rows[0]) or 1)])
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    separator = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    text = newline.join(separator.join(row) for row in rows)
    text += draw(st.sampled_from(["", newline, newline * 3]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def _rows(csv_bytes: bytes) -> list[list[str]]:
    return [line.split(",") for line in csv_bytes.decode().strip().split("\n")]


def _submission_count(slug: str) -> int:
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count(Submission.id))
                .join(Challenge, Challenge.id == Submission.challenge_id)
                .where(Challenge.slug == slug)
            )
            or 0
        )


def test_predictions_validator_answers_201_or_422_and_writes_nothing_on_422(
    api: TestClient, make_user: Callable[..., str]
) -> None:
    organizer, participant = make_user("olga", "organizer"), make_user("alice")
    hidden = Hidden.make()
    slug = new_challenge(api, organizer, hidden, "fuzz", daily_submission_limit=1000)
    base = _rows(hidden.predictions(10, 40))
    joined = api.post(f"/api/v1/challenges/{slug}/join", headers=auth(participant))
    assert joined.status_code == 200, joined.text
    outcomes: dict[int, int] = {}

    @given(content=mutated_csv(base))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(content: bytes) -> None:
        team = api.get(f"/api/v1/challenges/{slug}/team", headers=auth(participant)).json()
        before_rows = _submission_count(slug)
        before_used = team["submissions_today"]
        response = submit_csv(api, participant, slug, content)
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        assert response.status_code in (201, 422), (response.status_code, response.text)
        body = response.json()
        after = api.get(f"/api/v1/challenges/{slug}/team", headers=auth(participant)).json()
        if response.status_code == 422:
            assert isinstance(body["detail"], str) and body["detail"], body
            assert _submission_count(slug) == before_rows
            assert after["submissions_today"] == before_used
        else:
            assert body["status"] in ("scored", "failed"), body
            assert body["private_score"] is None
            assert _submission_count(slug) == before_rows + 1
            assert after["submissions_today"] == before_used + 1

    check()
    assert outcomes.get(422), outcomes
    print(f"predictions validator: {sum(outcomes.values())} uploads, {outcomes}")


def _challenge_state(slug: str) -> tuple[Any, ...]:
    with session_scope() as session:
        challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
        assert challenge is not None
        return (
            challenge.solution_sha256,
            challenge.solution_target,
            challenge.solution_rows,
            challenge.metric,
            challenge.state,
        )


METRICS = ["accuracy", "roc_auc", "rmse", "log_loss", "f1_macro", "r2"]


def test_solution_validator_answers_200_or_422_and_leaves_the_challenge_alone_on_422(
    api: TestClient, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    hidden = Hidden.make()
    binary = Hidden([label % 2 for label in hidden.labels], hidden.public)
    base_by_metric: dict[str, list[list[str]]] = {}
    for metric in METRICS:
        source = binary if metric == "roc_auc" else hidden
        response = api.post(
            "/api/v1/challenges",
            json={"slug": f"sol-{metric.replace('_', '-')}", "title": "S", "metric": metric},
            headers=auth(organizer),
        )
        assert response.status_code == 201, response.text
        base_by_metric[metric] = _rows(source.solution_csv())
    outcomes: dict[int, int] = {}

    @given(data=st.data(), metric=st.sampled_from(METRICS))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(data: Any, metric: str) -> None:
        slug = f"sol-{metric.replace('_', '-')}"
        content = data.draw(mutated_csv(base_by_metric[metric]))
        before = _challenge_state(slug)
        response = api.put(
            f"/api/v1/challenges/{slug}/solution", content=content, headers=auth(organizer)
        )
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        assert response.status_code in (200, 422), (response.status_code, response.text)
        after = _challenge_state(slug)
        if response.status_code == 422:
            assert isinstance(response.json()["detail"], str)
            assert after == before
        else:
            body = response.json()
            assert after[0] == body["sha256"] and after[2] == body["rows"]
            assert body["public_rows"] >= 1 and body["private_rows"] >= 1

    check()
    assert outcomes.get(422) and outcomes.get(200), outcomes
    print(f"solution validator: {sum(outcomes.values())} uploads, {outcomes}")
