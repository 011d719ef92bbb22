"""Fixtures: the real MNIST that Podium ships, and small challenges cut from it."""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.data import (
    SAMPLE_SUBMISSION,
    TEST_IMAGES,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    ChallengeData,
    load_challenge_dir,
)

DEMO_MNIST = Path(__file__).resolve().parents[2] / "server" / "demo" / "mnist"
SMALL_TRAIN_IMAGES = 2_000
IDX_UBYTE = 0x08


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (the format of the challenge files)."""
    header = bytes([0, 0, IDX_UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


@pytest.fixture(scope="session")
def mnist() -> ChallengeData:
    """All of the real MNIST that Podium ships (test labels included)."""
    return load_challenge_dir(DEMO_MNIST)


@pytest.fixture(scope="session")
def small(mnist: ChallengeData) -> ChallengeData:
    """2,000 real training images and all 10,000 test images, without test labels."""
    return ChallengeData(
        train_images=mnist.train_images[:SMALL_TRAIN_IMAGES],
        train_labels=mnist.train_labels[:SMALL_TRAIN_IMAGES],
        test_images=mnist.test_images,
    )


@pytest.fixture(scope="session")
def challenge_dir(tmp_path_factory: pytest.TempPathFactory, small: ChallengeData) -> Path:
    """A challenge directory laid out as `podium download` leaves it (no test labels)."""
    directory = tmp_path_factory.mktemp("challenge")
    write_idx(directory / TRAIN_IMAGES, small.train_images.squeeze(1).numpy())
    write_idx(directory / TRAIN_LABELS, small.train_labels.numpy().astype(np.uint8))
    write_idx(directory / TEST_IMAGES, small.test_images.squeeze(1).numpy())
    rows = "".join(f"{i},0\n" for i in range(len(small.test_images)))
    (directory / SAMPLE_SUBMISSION).write_text("id,label\n" + rows)
    return directory


@pytest.fixture(autouse=True)
def _restore_torch_determinism() -> Iterator[None]:
    """`fit` turns deterministic algorithms on for the process; put them back as they were."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
    if cublas is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas
