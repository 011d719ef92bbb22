"""Checkpoint fixtures: a tiny CNN trained here on real MNIST, exported three ways,
and a challenge built like the demo on 500 MNIST test images.

The model trains once per session (seconds on a CPU); each test gets a fresh
database from the shared fixtures in ``tests/conftest.py``.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.demo import MNIST_DIR, read_idx_labels, solution_csv
from tests.checkpoints.helpers import (
    ROWS,
    TRAIN_ROWS,
    Exported,
    MnistSubset,
    create_checkpoint_challenge,
)


@pytest.fixture(scope="session")
def mnist() -> MnistSubset:
    from baselines.data import read_images, to_float

    images = to_float(read_images(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:ROWS]).numpy()
    labels = read_idx_labels(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[:ROWS]
    rows = solution_csv(labels).splitlines()[1:]
    public = np.array([row.endswith(b"public") for row in rows])
    return MnistSubset(images, labels.astype(np.int64), public)


@pytest.fixture(scope="session")
def exported(mnist: MnistSubset, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """A tiny CNN trained for one epoch on 4,000 real training images."""
    import torch

    from baselines.data import read_images, read_labels, to_float
    from baselines.export import export_torchscript, save_checkpoint
    from baselines.models import build_model, count_parameters, parse_config

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is faster, and kind to a busy machine
    images = to_float(read_images(MNIST_DIR / "train-images-idx3-ubyte.gz")[:TRAIN_ROWS])
    labels = read_labels(MNIST_DIR / "train-labels-idx1-ubyte.gz")[:TRAIN_ROWS]
    config = parse_config({"family": "cnn", "channels": [8], "hidden": [32], "dropout": 0.0})
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for batch in torch.randperm(TRAIN_ROWS).split(50):  # one epoch: about 85% accuracy
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
        loss.backward()
        optimizer.step()
    model.eval()
    torch.set_num_threads(threads)
    with torch.inference_mode():
        predictions = model(torch.from_numpy(mnist.images)).argmax(dim=1).numpy()

    directory = tmp_path_factory.mktemp("exported")
    weights, config_path = save_checkpoint(model, config, directory)
    torchscript = export_torchscript(model, directory / "model.pt", config.input_shape)
    program = directory / "model.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = torch.export.Dim("batch")
        example = (torch.zeros(4, 1, 28, 28),)
        exported_program = torch.export.export(model, example, dynamic_shapes={"x": {0: batch}})
        torch.export.save(exported_program, program)
    right = predictions == mnist.labels
    return Exported(
        directory=directory,
        safetensors=weights,
        config=config_path,
        torchscript=torchscript,
        export=program,
        predictions=predictions,
        public_accuracy=float(right[mnist.public].mean()),
        private_accuracy=float(right[~mnist.public].mean()),
        parameter_count=count_parameters(model),
    )


@pytest.fixture(scope="session")
def inputs_file(mnist: MnistSubset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "inputs.npy"
    path.write_bytes(mnist.inputs_npy())
    return path


@pytest.fixture
def checkpoint_challenge(api: TestClient, organizer_token: str, mnist: MnistSubset) -> str:
    return create_checkpoint_challenge(api, organizer_token, mnist)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 in the test process: a sandbox must never reach it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()
