"""The happy path over HTTP, and model faults versus platform faults.

A checkpoint goes in through the API, the embedded scorer evaluates it in the
sandbox on the 500 hidden inputs and scores its outputs with the CSV scoring
core; the scores must equal what the same model scores in this process.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from server.config import get_settings
from server.storage import get_blob_store
from tests.checkpoints.helpers import (
    Exported,
    MnistSubset,
    create_checkpoint_challenge,
    require_root,
    submit_checkpoint,
    wait_finished,
)
from tests.conftest import auth, submit


def _scored(api: TestClient, token: str, result: dict[str, object]) -> dict[str, object]:
    assert result["status_code"] == 201, result
    finished = wait_finished(api, token, result["id"])
    assert finished["status"] == "scored", finished
    return finished


@pytest.mark.parametrize("model_format", ["safetensors", "torchscript", "export"])
def test_each_format_is_scored_like_the_model_in_process(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    checkpoint_challenge: str,
    exported: Exported,
    model_format: str,
) -> None:
    require_root()
    model = {
        "safetensors": exported.safetensors,
        "torchscript": exported.torchscript,
        "export": exported.export,
    }[model_format]
    config = exported.config if model_format == "safetensors" else None
    result = submit_checkpoint(api, participant_token, checkpoint_challenge, model, config=config)
    assert result["kind"] == "checkpoint" and result["remaining_today"] == 9
    finished = _scored(api, participant_token, result)
    assert finished["public_score"] == pytest.approx(exported.public_accuracy)
    assert finished["private_score"] is None  # never to the team before finalization
    assert finished["parameter_count"] == exported.parameter_count
    assert finished["inference_seconds_per_1k"] > 0
    assert finished["peak_memory_mb"] >= 0
    seen = api.get(f"/api/v1/submissions/{result['id']}", headers=auth(organizer_token)).json()
    assert seen["private_score"] == pytest.approx(exported.private_accuracy)
    board = api.get(f"/api/v1/challenges/{checkpoint_challenge}/leaderboard").json()
    assert board["entries"][0]["score"] == pytest.approx(exported.public_accuracy)


class _NineClasses(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :9]


class _NotANumber(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :10] * float("nan")


class _Crash(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 0:
            raise RuntimeError("this model always crashes")
        return x


class _ClassIds(nn.Module):
    """Returns class ids (N,) instead of logits (N, 10)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).argmax(dim=1)


def _script(module: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_class_ids_are_scored_too(
    api: TestClient,
    participant_token: str,
    checkpoint_challenge: str,
    exported: Exported,
    tmp_path: Path,
) -> None:
    require_root()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        inner = torch.jit.load(str(exported.torchscript))
    program = _script(_ClassIds(inner), tmp_path / "ids.pt")
    finished = _scored(
        api,
        participant_token,
        submit_checkpoint(api, participant_token, checkpoint_challenge, program),
    )
    assert finished["public_score"] == pytest.approx(exported.public_accuracy)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (_NineClasses(), "output shape (500, 9), expected (500, 10)"),
        (_NotANumber(), "the model's outputs hold NaN or infinite values on 500 of 500 inputs"),
        (_Crash(), "the model failed while running: "),
    ],
)
def test_model_faults_fail_with_a_reason_and_use_quota(
    api: TestClient,
    participant_token: str,
    checkpoint_challenge: str,
    mnist: MnistSubset,
    tmp_path: Path,
    module: nn.Module,
    expected: str,
) -> None:
    require_root()
    program = _script(module, tmp_path / "model.pt")
    result = submit_checkpoint(api, participant_token, checkpoint_challenge, program)
    assert result["status_code"] == 201, result
    finished = wait_finished(api, participant_token, result["id"])
    assert finished["status"] == "failed"
    assert expected in str(finished["error"]), finished["error"]
    if isinstance(module, _Crash):  # the program's own text is for the organizers (#18, 3)
        assert "this model always crashes" not in str(finished["error"])
    # It counted: the next submission sees one fewer left.
    again = submit(api, participant_token, checkpoint_challenge, _csv(mnist.labels))
    assert again["status"] == "scored" and again["remaining_today"] == 8


def test_platform_failures_do_not_use_quota(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    mnist: MnistSubset,
    exported: Exported,
) -> None:
    slug = create_checkpoint_challenge(api, organizer_token, mnist, daily_submission_limit=2)
    # The platform loses the hidden inputs: our fault, not the team's.
    sha256 = hashlib.sha256(mnist.inputs_npy()).hexdigest()
    get_blob_store(get_settings()).path_for(sha256).unlink()
    lost = submit_checkpoint(
        api, participant_token, slug, exported.safetensors, config=exported.config
    )
    assert lost["remaining_today"] == 1
    failed = wait_finished(api, participant_token, lost["id"])
    assert failed["status"] == "failed"
    assert "platform error" in str(failed["error"])
    again = submit(api, participant_token, slug, _csv(mnist.labels))
    assert again["status"] == "scored"
    assert again["remaining_today"] == 1  # the platform failure gave its slot back


def _csv(labels: object) -> bytes:
    return ("id,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))).encode()  # type: ignore[call-overload]
