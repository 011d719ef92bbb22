"""A checkpoint's model.json fills the fact sheet's architecture keys that its metadata
leaves out (real upload over HTTP, real safetensors weights of a course model)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from baselines.export import save_checkpoint
from baselines.models import build_model, parse_config
from tests.conftest import auth, create_challenge, open_challenge_now
from tests.security.world import hidden_inputs

INPUT_SHAPE = [1, 2, 2]  # tests.security.world's hidden inputs: 100 rows of 1x2x2


def test_model_json_fills_the_architecture_the_metadata_leaves_out(
    api: TestClient, organizer_token: str, participant_token: str, tmp_path: Path
) -> None:
    create_challenge(
        api,
        organizer_token,
        submission_kinds=["csv", "checkpoint"],
        checkpoint_spec={"input_shape": INPUT_SHAPE},
    )
    org = auth(organizer_token)
    put = api.put("/api/v1/challenges/digits/hidden-inputs", content=hidden_inputs(), headers=org)
    assert put.status_code == 200, put.text
    open_challenge_now(api, organizer_token, "digits")
    config = parse_config(
        {
            "family": "mlp",
            "hidden": [8, 4],
            "activation": "sigmoid",
            "dropout": 0.1,
            "input_shape": INPUT_SHAPE,
            "num_classes": 10,
        }
    )
    weights, model_json = save_checkpoint(build_model(config), config, tmp_path)

    def upload(metadata: dict[str, object] | None) -> dict[str, object]:
        response = api.post(
            "/api/v1/challenges/digits/submissions",
            files={
                "file": ("model.safetensors", weights.read_bytes(), "application/octet-stream"),
                "config": ("model.json", model_json.read_bytes(), "application/json"),
            },
            data={"kind": "checkpoint", **({"metadata": json.dumps(metadata)} if metadata else {})},
            headers=auth(participant_token),
        )
        assert response.status_code == 201, response.text
        return dict(response.json()["metadata"])

    assert upload(None) == {
        "model": "mlp",
        "hidden_sizes": [8, 4],
        "activation": "sigmoid",
        "dropout": 0.1,
    }
    # What the team says wins; only the missing keys come from model.json.
    sent = {"activation": "relu-ish", "val_metric": 0.5, "learning_rate": 0.01}
    assert upload(sent) == {**sent, "model": "mlp", "hidden_sizes": [8, 4], "dropout": 0.1}
