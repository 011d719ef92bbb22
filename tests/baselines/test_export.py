"""Predictions CSV, the weights-only checkpoint and its strict loader, TorchScript."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from baselines.export import (
    export_torchscript,
    load_checkpoint,
    save_checkpoint,
    write_predictions,
)
from baselines.models import MODEL_FAMILIES, ModelConfig, build_model

INPUTS = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def saved(family: str, directory: Path, **hyperparameters: object) -> tuple[Path, Path]:
    torch.manual_seed(0)
    config = ModelConfig(family=family, **hyperparameters)  # type: ignore[arg-type]
    return save_checkpoint(build_model(config).eval(), config, directory)


def test_predictions_csv_has_a_header_and_one_row_per_test_image(tmp_path: Path) -> None:
    labels = torch.arange(10_000) % 10
    path = write_predictions(tmp_path / "predictions.csv", labels)
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["id", "label"]
    assert [int(row[0]) for row in rows[1:]] == list(range(10_000))
    assert [int(row[1]) for row in rows[1:]] == labels.tolist()


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_a_checkpoint_round_trips_to_identical_logits(tmp_path: Path, family: str) -> None:
    torch.manual_seed(0)
    config = ModelConfig(family=family)
    model = build_model(config).eval()
    weights, config_path = save_checkpoint(model, config, tmp_path)
    assert (weights.name, config_path.name) == ("model.safetensors", "model.json")
    assert json.loads(config_path.read_text()) == config.to_dict()
    loaded = load_checkpoint(weights, config_path)
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(INPUTS), model(INPUTS))


def with_tensors(weights: Path, change: dict[str, torch.Tensor | None]) -> Path:
    """Rewrite a checkpoint's tensors: replace some, add some, drop those mapped to None."""
    tensors = load_file(weights)
    for name, tensor in change.items():
        if tensor is None:
            del tensors[name]
        else:
            tensors[name] = tensor
    save_file(tensors, weights)
    return weights


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fc9.weight": torch.zeros(3)}, "unexpected tensor 'fc9.weight'"),
        ({"conv.0.bias": None}, "missing tensor 'conv.0.bias'"),
        (
            {"conv.0.weight": torch.zeros(8, 1, 3, 3)},
            "tensor 'conv.0.weight' has shape (8,1,3,3), expected (32,1,3,3)",
        ),
        (
            {"output.weight": torch.zeros(10, 128, dtype=torch.float16)},
            "tensor 'output.weight' has dtype float16, expected float32",
        ),
    ],
)
def test_load_checkpoint_rejects_tensors_that_do_not_fit(
    tmp_path: Path, change: dict[str, torch.Tensor | None], message: str
) -> None:
    weights, config = saved("cnn", tmp_path)
    with pytest.raises(ValueError) as error:
        load_checkpoint(with_tensors(weights, change), config)
    assert message in str(error.value)


def test_weights_of_another_model_are_refused_with_a_short_list(tmp_path: Path) -> None:
    weights, _ = saved("cnn", tmp_path / "cnn")
    _, mlp_config = saved("mlp", tmp_path / "mlp", hidden=(64,))
    with pytest.raises(ValueError) as error:
        load_checkpoint(weights, mlp_config)
    message = str(error.value)
    assert "does not fit the 'mlp' model of model.json" in message
    assert "unexpected tensor 'conv.0.weight'" in message
    assert "more" in message  # the rest of the list is counted, not printed


@pytest.mark.parametrize(
    "content",
    [b"", b"not a safetensors file at all", b"\xff" * 8 + b"{}", b"\x05" + b"\x00" * 7 + b"{abcd"],
    ids=["empty", "text", "huge-header", "bad-json-header"],
)
def test_load_checkpoint_rejects_malformed_safetensors(tmp_path: Path, content: bytes) -> None:
    _, config = saved("neuron", tmp_path)
    (tmp_path / "bad.safetensors").write_bytes(content)
    with pytest.raises(ValueError, match="bad.safetensors is not a valid safetensors file"):
        load_checkpoint(tmp_path / "bad.safetensors", config)


def test_load_checkpoint_rejects_a_truncated_file(tmp_path: Path) -> None:
    weights, config = saved("neuron", tmp_path)
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load_checkpoint(weights, config)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "model.json is not valid JSON"),
        ('{"family": "resnet"}', "model.json: unknown model family 'resnet'"),
        ('{"family": "mlp", "hidden": [100000000]}', "model.json: hidden[0] must be between"),
        ('["mlp"]', "must be a JSON object"),
    ],
)
def test_load_checkpoint_rejects_a_bad_config(tmp_path: Path, content: str, message: str) -> None:
    weights, config = saved("neuron", tmp_path)
    config.write_text(content)
    with pytest.raises(ValueError) as error:
        load_checkpoint(weights, config)
    assert message in str(error.value)


def test_torchscript_export_gives_the_same_logits(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = ModelConfig(family="cnn")
    model = build_model(config).eval()
    path = export_torchscript(model, tmp_path / "model.pt", config.input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream
        program = torch.jit.load(str(path))
    with torch.no_grad():
        assert torch.equal(program(INPUTS), model(INPUTS))
        assert program(INPUTS[:3]).shape == (3, 10)  # traced on one image, runs on any batch
