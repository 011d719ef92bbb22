"""Submission metadata (the fact sheet): validated before quota, stored as data, shown as text."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from server.submissions.metadata import MAX_METADATA_BYTES
from tests.conftest import ChallengeFixture, auth

GOOD = {
    "model": "mlp",
    "hidden_sizes": [128, 64],
    "activation": "relu",
    "optimizer": "adam",
    "learning_rate": 0.001,
    "batch_size": 64,
    "epochs": 3,
    "dropout": 0.2,
    "weight_decay": 0.0,
    "seed": 7,
    "val_metric": 0.91,
    "curve": [
        {"epoch": 1, "train_loss": 0.9, "val_loss": 0.8, "val_metric": 0.8},
        {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6, "val_metric": 0.88},
        {"epoch": 3, "train_loss": 0.3, "val_loss": None, "val_metric": 0.91},
    ],
    "notes": "<script>alert(1)</script>",
    "extra": {"nested": [1, 2]},
}


def post(api: TestClient, token: str, fixture: ChallengeFixture, metadata: str | None) -> dict:
    data = {} if metadata is None else {"metadata": metadata}
    response = api.post(
        f"/api/v1/challenges/{fixture.slug}/submissions",
        files={"file": ("preds.csv", io.BytesIO(fixture.predictions()), "text/csv")},
        data=data,
        headers=auth(token),
    )
    return {"status_code": response.status_code, **response.json()}


def test_metadata_is_kept_as_sent(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    result = post(api, participant_token, open_challenge, json.dumps(GOOD))
    assert result["status_code"] == 201, result
    assert result["metadata"] == GOOD
    again = api.get(f"/api/v1/submissions/{result['id']}", headers=auth(participant_token))
    assert again.json()["metadata"] == GOOD


def test_no_metadata_is_null(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    result = post(api, participant_token, open_challenge, None)
    assert result["status_code"] == 201 and result["metadata"] is None


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"learning_rate": NaN}', "NaN"),
        ('{"learning_rate": "fast"}', "'learning_rate' must be a number"),
        ('{"learning_rate": -1}', "at least"),
        ('{"batch_size": 1.5}', "'batch_size' must be an integer"),
        ('{"epochs": true}', "'epochs' must be an integer"),
        ('{"dropout": 1.5}', "at most"),
        ('{"hidden_sizes": 128}', "hidden_sizes"),
        ('{"hidden_sizes": [128, 0]}', "at least 1"),
        ('{"model": 3}', "'model' must be a string"),
        ('{"curve": {"epoch": 1}}', "'curve' must be a list"),
        ('{"curve": [1]}', "curve[0]"),
        ('{"curve": [{"train_loss": 1}]}', "needs an 'epoch'"),
        ('{"curve": [{"epoch": 1, "acc": 1}]}', "unknown key 'acc'"),
        ('{"curve": [{"epoch": 1, "val_loss": "x"}]}', "curve[0].val_loss"),
        ("[" * 100_000, "64 KB"),
        ("[" * 60_000, "not valid JSON"),
        (json.dumps({"pad": "x" * MAX_METADATA_BYTES}), "64 KB"),
    ],
)
def test_malformed_metadata_is_422_and_uses_no_quota(
    api: TestClient,
    open_challenge: ChallengeFixture,
    participant_token: str,
    metadata: str,
    fragment: str,
) -> None:
    result = post(api, participant_token, open_challenge, metadata)
    assert result["status_code"] == 422, result
    assert fragment in result["detail"]
    listed = api.get(
        f"/api/v1/challenges/{open_challenge.slug}/submissions", headers=auth(participant_token)
    ).json()
    assert listed == []


def test_just_under_the_size_limit_is_accepted(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str
) -> None:
    body = json.dumps({"pad": ""})
    metadata = json.dumps({"pad": "x" * (MAX_METADATA_BYTES - len(body))})
    assert len(metadata.encode()) == MAX_METADATA_BYTES
    result = post(api, participant_token, open_challenge, metadata)
    assert result["status_code"] == 201, result
