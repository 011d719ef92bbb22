"""Defect 6: class names that collide with the id column or with each other.

A class literally named ``id`` broke every file of a probability challenge
(``fields.index("id")`` found the id column). Labels ``1`` and ``01`` merged into
one class when every label looked like an integer, but stayed two classes
otherwise: a solution that spells one number two ways is now refused with a
clear 422, and the upload and scoring paths read labels the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.scoring import SolutionError, evaluate_csv, parse_solution
from server.scoring.predictions import read_predictions, sample_submission
from tests.conftest import auth, open_challenge_now, submit

ANIMALS = ["cat", "dog", "id", "cat", "id", "dog"]
ID_CLASS_SOLUTION = (
    "id,animal,usage\n"
    + "".join(
        f"{i},{label},{'public' if i % 2 else 'private'}\n" for i, label in enumerate(ANIMALS)
    )
).encode()


def _one_hot(columns: list[str]) -> bytes:
    lines = [",".join(["id", *columns])]
    for i, label in enumerate(ANIMALS):
        lines.append(",".join([str(i), *("1" if c == label else "0" for c in columns)]))
    return ("\n".join(lines) + "\n").encode()


def test_a_class_named_id_works_in_a_probability_challenge() -> None:
    solution = parse_solution(ID_CLASS_SOLUTION, "log_loss")
    assert solution.classes == ["cat", "dog", "id"]
    for columns in (["cat", "dog", "id"], ["id", "cat", "dog"], ["dog", "id", "cat"]):
        scores = evaluate_csv(_one_hot(columns), solution, "log_loss")
        assert scores.public < 1e-6 and scores.private < 1e-6, columns
    sample = sample_submission(solution, "log_loss")
    assert sample.splitlines()[0] == b"id,cat,dog,id"
    assert read_predictions(sample, solution, "log_loss").shape == (len(ANIMALS), 3)


@pytest.mark.parametrize(
    ("labels", "spellings"),
    [
        (["1", "01", "2", "1"], "'1' (line 2) and '01' (line 3) are the same number"),
        (["1.0", "1", "0", "0"], "'1.0' (line 2) and '1' (line 3)"),
        (["+3", "3", "4", "4", "4", "+4"], "'4' (line 4) and '+4' (line 7)"),
    ],
)
def test_one_number_spelled_two_ways_is_refused(labels: list[str], spellings: str) -> None:
    data = (
        "id,label,usage\n"
        + "".join(
            f"{i},{label},{'public' if i % 2 else 'private'}\n" for i, label in enumerate(labels)
        )
    ).encode()
    with pytest.raises(SolutionError) as error:
        parse_solution(data, "accuracy")
    assert spellings in str(error.value)
    assert "write each class one way" in str(error.value)


def test_labels_that_are_not_all_numbers_stay_text_everywhere() -> None:
    data = b"id,label,usage\n0,1,public\n1,01,private\n2,x,public\n3,01,private\n"
    solution = parse_solution(data, "accuracy")
    assert solution.classes == ["01", "1", "x"]
    right = b"id,label\n0,1\n1,01\n2,x\n3,01\n"
    assert evaluate_csv(right, solution, "accuracy").private == 1.0
    swapped = b"id,label\n0,01\n1,1\n2,x\n3,1\n"
    assert evaluate_csv(swapped, solution, "accuracy").private == 0.0


def test_the_upload_refuses_the_ambiguous_solution_and_scores_the_id_class(
    api: TestClient, make_user: Callable[..., str]
) -> None:
    organizer = make_user("olga", "organizer")
    for slug, metric in (("animals", "log_loss"), ("digits", "accuracy")):
        body = {"slug": slug, "title": slug, "metric": metric}
        assert api.post("/api/v1/challenges", json=body, headers=auth(organizer)).is_success
    ambiguous = b"id,label,usage\n0,1,public\n1,01,private\n2,2,public\n3,2,private\n"
    response = api.put(
        "/api/v1/challenges/digits/solution", content=ambiguous, headers=auth(organizer)
    )
    assert response.status_code == 422, response.text
    assert "'1' (line 2) and '01' (line 3)" in response.json()["detail"]
    response = api.put(
        "/api/v1/challenges/animals/solution", content=ID_CLASS_SOLUTION, headers=auth(organizer)
    )
    assert response.status_code == 200, response.text
    open_challenge_now(api, organizer, "animals")
    participant = make_user("paul")
    created = submit(api, participant, "animals", _one_hot(["id", "dog", "cat"]))
    assert created["status_code"] == 201, created
    scored = api.get(f"/api/v1/submissions/{created['id']}", headers=auth(participant)).json()
    assert scored["status"] == "scored", scored
    assert np.isclose(scored["public_score"], 0.0, atol=1e-6)
