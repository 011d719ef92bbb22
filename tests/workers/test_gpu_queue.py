"""The gpu queue: checkpoint submissions evaluated by a ``--queues gpu`` worker.

No GPU is needed: the checkpoint runner falls back to the CPU. What is checked
here is the transport: the job reaches the gpu queue, the worker runs it
through the checkpoint runner (its sandbox) with files fetched over HTTP,
each job in a fresh pool process, and the worker's parent never loads torch.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import auth, open_challenge_now
from tests.workers.conftest import Cluster
from tests.workers.processes import wait_for

pytestmark = pytest.mark.redis

ROWS = 60
CLASSES = 10
CLAIMED_LINE = re.compile(r"claimed submission=(\d+) attempt=[^/]+/(\d+):")


def _model(seed: int, directory: Path) -> tuple[Path, Path, Any]:
    torch = pytest.importorskip("torch")
    from baselines.export import save_checkpoint
    from baselines.models import build_model, parse_config

    torch.manual_seed(seed)
    config = parse_config({"family": "mlp", "hidden": [16]})
    model = build_model(config).eval()
    weights, config_path = save_checkpoint(model, config, directory / f"seed-{seed}")
    return weights, config_path, model


def test_a_gpu_worker_evaluates_checkpoints_one_process_per_job(
    cluster: Cluster, organizer_token: str, participant_token: str, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    inputs = rng.random((ROWS, 1, 28, 28), dtype=np.float32)
    labels = np.arange(ROWS) % CLASSES
    public = np.arange(ROWS) % 2 == 0
    solution = "id,label,usage\n" + "".join(
        f"{i},{label},{'public' if p else 'private'}\n"
        for i, (label, p) in enumerate(zip(labels, public, strict=True))
    )
    buffer = io.BytesIO()
    np.save(buffer, inputs, allow_pickle=False)

    server = cluster.start_server(wait=False)
    worker = cluster.start_worker("gpu", queues="gpu", wait=False)
    cluster.wait_ready()
    with cluster.http() as http:
        spec = {"formats": ["safetensors"], "batch_size": 32, "memory_limit_mb": 1024}
        body = {
            "slug": "ckpt",
            "title": "Checkpoints",
            "metric": "accuracy",
            "submission_kinds": ["csv", "checkpoint"],
            "checkpoint_spec": spec,
        }
        headers = auth(organizer_token)
        assert http.post("/api/v1/challenges", json=body, headers=headers).status_code == 201
        for path, content in (
            ("solution", solution.encode()),
            ("hidden-inputs", buffer.getvalue()),
        ):
            response = http.put(f"/api/v1/challenges/ckpt/{path}", content=content, headers=headers)
            assert response.status_code == 200, response.text
        open_challenge_now(http, organizer_token, "ckpt")  # type: ignore[arg-type]

        expected = {}
        for seed in (1, 2):
            weights, config, model = _model(seed, tmp_path)
            with torch.inference_mode():
                predicted = model(torch.from_numpy(inputs)).argmax(dim=1).numpy()
            response = http.post(
                "/api/v1/challenges/ckpt/submissions",
                files={
                    "file": (weights.name, weights.read_bytes(), "application/octet-stream"),
                    "config": ("model.json", config.read_bytes(), "application/json"),
                },
                data={"kind": "checkpoint"},
                headers=auth(participant_token),
            )
            assert response.status_code == 201, response.text
            right = predicted == labels
            expected[response.json()["id"]] = (
                float(right[public].mean()),
                sum(p.numel() for p in model.parameters()),
            )

        for submission_id, (public_accuracy, parameters) in expected.items():

            def finished(submission_id: int = submission_id) -> Any:
                body = http.get(
                    f"/api/v1/submissions/{submission_id}", headers=auth(participant_token)
                ).json()
                return body if body["status"] in ("scored", "failed") else None

            scored = wait_for(f"checkpoint {submission_id} to be evaluated", finished, 240)
            assert scored["status"] == "scored", scored
            assert scored["public_score"] == pytest.approx(public_accuracy)
            assert scored["private_score"] is None
            assert scored["parameter_count"] == parameters
            assert scored["inference_seconds_per_1k"] is not None

    claims = {int(m[1]): int(m[2]) for m in CLAIMED_LINE.finditer(worker.log())}
    assert set(claims) == set(expected)
    assert len(set(claims.values())) == 2, "each gpu job runs in a fresh pool process"
    assert worker.popen is not None and server.alive
    # The parent forks the pool: it must never have loaded torch (nor CUDA).
    maps = Path(f"/proc/{worker.popen.pid}/maps").read_text()
    assert "libtorch" not in maps and "libcuda" not in maps
