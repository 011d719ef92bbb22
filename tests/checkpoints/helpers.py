"""Helpers for the checkpoint tests: the challenge, submitting, hostile files."""

from __future__ import annotations

import io
import os
import pickle
import select
import socket
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.demo import solution_csv
from server.sandbox import bwrap
from tests.conftest import auth, open_challenge_now, skip_or_fail

ROWS = 500
TRAIN_ROWS = 4000
SLUG = "digits-ckpt"
ALL_FORMATS = ["safetensors", "torchscript", "export"]
SCORING_TIMEOUT_SECONDS = 240


def require_root() -> None:
    """Full isolation needs root (per-job uids) and a working bubblewrap, as in the deploy."""
    if os.geteuid() != 0:
        skip_or_fail("the sandbox's isolation tests need root")
    confined = bwrap.support()
    if confined.mode is None:
        skip_or_fail(
            f"the sandbox's isolation tests need bubblewrap ({confined.reason}); "
            "install it with `apt-get install bubblewrap`"
        )


@dataclass(frozen=True)
class MnistSubset:
    images: np.ndarray  # float32 (ROWS, 1, 28, 28) in [0, 1]: the hidden inputs
    labels: np.ndarray  # int (ROWS,): the hidden labels
    public: np.ndarray  # bool (ROWS,): the demo's public/private split

    def inputs_npy(self) -> bytes:
        out = io.BytesIO()
        np.save(out, self.images, allow_pickle=False)
        return out.getvalue()


@dataclass(frozen=True)
class Exported:
    """One trained model in every submission format, with what it should score."""

    directory: Path
    safetensors: Path
    config: Path
    torchscript: Path
    export: Path
    predictions: np.ndarray  # its classes on the subset, computed in-process
    public_accuracy: float
    private_accuracy: float
    parameter_count: int


def create_checkpoint_challenge(
    api: TestClient,
    organizer_token: str,
    mnist: MnistSubset,
    slug: str = SLUG,
    daily_submission_limit: int = 10,
    **spec: object,
) -> str:
    """A challenge like the demo's (CSV and checkpoints), on the 500-image subset."""
    checkpoint_spec = {
        "formats": ALL_FORMATS,
        "batch_size": 128,
        "time_limit_seconds": 60,
        "memory_limit_mb": 1024,
    } | spec
    body = {
        "slug": slug,
        "title": "Digits from checkpoints",
        "metric": "accuracy",
        "submission_kinds": ["csv", "checkpoint"],
        "daily_submission_limit": daily_submission_limit,
        "checkpoint_spec": checkpoint_spec,
    }
    response = api.post("/api/v1/challenges", json=body, headers=auth(organizer_token))
    assert response.status_code == 201, response.text
    response = api.put(
        f"/api/v1/challenges/{slug}/solution",
        content=solution_csv(mnist.labels),
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    response = api.put(
        f"/api/v1/challenges/{slug}/hidden-inputs",
        content=mnist.inputs_npy(),
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    open_challenge_now(api, organizer_token, slug)
    return slug


def submit_checkpoint(
    api: TestClient,
    token: str,
    slug: str,
    model: Path | bytes,
    name: str | None = None,
    config: Path | bytes | None = None,
) -> dict[str, object]:
    """POST a checkpoint as the client does: multipart file, kind=checkpoint, config."""
    content = model.read_bytes() if isinstance(model, Path) else model
    file_name = name or (model.name if isinstance(model, Path) else "model.bin")
    files = {"file": (file_name, io.BytesIO(content), "application/octet-stream")}
    if config is not None:
        data = config.read_bytes() if isinstance(config, Path) else config
        files["config"] = ("model.json", io.BytesIO(data), "application/json")
    response = api.post(
        f"/api/v1/challenges/{slug}/submissions",
        files=files,
        data={"kind": "checkpoint", "message": "checkpoint"},
        headers=auth(token),
    )
    return {"status_code": response.status_code, **response.json()}


def wait_finished(api: TestClient, token: str, submission_id: object) -> dict[str, object]:
    """Poll until the background scorer is done with a submission."""
    deadline = time.monotonic() + SCORING_TIMEOUT_SECONDS
    while True:
        body = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(token)).json()
        if body["status"] not in ("queued", "running"):
            return dict(body)
        if time.monotonic() > deadline:
            pytest.fail(f"submission {submission_id} still {body['status']}")
        time.sleep(0.2)


class _Exec:
    """A pickle that runs ``code`` when it is loaded."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (self.code,))


def malicious_pickle(code: str) -> bytes:
    return pickle.dumps(_Exec(code), protocol=2)


def malicious_torch_save(code: str) -> bytes:
    """What ``torch.save`` writes for an object that runs ``code`` when loaded."""
    import torch

    buffer = io.BytesIO()
    torch.save(_Exec(code), buffer)
    return buffer.getvalue()


def replace_in_zip(source: Path, target: Path, suffix: str, data: bytes) -> Path:
    """Copy a zip archive, replacing the member whose name ends with ``suffix``."""
    replaced = False
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            content = old.read(info)
            if info.filename.endswith(suffix):
                content, replaced = data, True
            new.writestr(info, content)
    assert replaced, suffix
    return target


def hostile_program(exported: Exported, directory: Path, code: str, name: str) -> Path:
    """A real torch.export archive whose sample inputs run ``code`` when it is loaded.

    ``torch.export.load`` tries ``torch.load(weights_only=True)`` on them, then
    falls back to ``weights_only=False``: the pickle runs. That is why programs
    only ever load inside the sandbox.
    """
    return replace_in_zip(
        exported.export,
        directory / name,
        "data/sample_inputs/model.pt",
        malicious_torch_save(code),
    )


def connections_seen(server: socket.socket) -> int:
    """Connections waiting on a listening socket (accepted and closed)."""
    seen = 0
    while select.select([server], [], [], 0)[0]:
        connection, _ = server.accept()
        connection.close()
        seen += 1
    return seen
