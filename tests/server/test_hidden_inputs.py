"""Defect 7: a hidden-inputs upload that is not one .npy array gets a 422 saying what to send.

An ``.npz`` archive used to answer 500 (``np.load`` returns an archive, not an
array) and to leave the archive's file handle open in the server.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from tests.conftest import auth

SLUG = "digits-inputs"


def _challenge(api: TestClient, organizer_token: str) -> None:
    body = {
        "slug": SLUG,
        "title": "Digits",
        "metric": "accuracy",
        "submission_kinds": ["csv", "checkpoint"],
        "checkpoint_spec": {"formats": ["safetensors"]},
    }
    response = api.post("/api/v1/challenges", json=body, headers=auth(organizer_token))
    assert response.status_code == 201, response.text


def _open_files_under(directory: Path) -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory.resolve())):
            targets.append(target)
    return targets


def test_npz_hidden_inputs_get_422_and_leak_no_file_handle(
    api: TestClient, organizer_token: str, data_dir: Path
) -> None:
    _challenge(api, organizer_token)
    images = np.zeros((5, 1, 28, 28), dtype=np.float32)
    archive = io.BytesIO()
    np.savez(archive, images=images)
    before = _open_files_under(data_dir / "blobs")
    response = api.put(
        f"/api/v1/challenges/{SLUG}/hidden-inputs",
        content=archive.getvalue(),
        headers=auth(organizer_token),
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert ".npz" in detail and ".npy" in detail and "numpy.save" in detail, detail
    assert _open_files_under(data_dir / "blobs") == before
    # The same array as one .npy is accepted.
    single = io.BytesIO()
    np.save(single, images, allow_pickle=False)
    response = api.put(
        f"/api/v1/challenges/{SLUG}/hidden-inputs",
        content=single.getvalue(),
        headers=auth(organizer_token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["shape"] == [5, 1, 28, 28]


def test_other_non_arrays_get_422(api: TestClient, organizer_token: str) -> None:
    _challenge(api, organizer_token)
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for content in (b"", b"PK\x03\x04broken zip", b"not an array", pickled.getvalue()):
        response = api.put(
            f"/api/v1/challenges/{SLUG}/hidden-inputs",
            content=content,
            headers=auth(organizer_token),
        )
        assert response.status_code == 422, (content[:20], response.text)
        assert "numpy.save" in response.json()["detail"]
