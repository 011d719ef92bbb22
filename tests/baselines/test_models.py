"""The model families and their configs (the contract that the checkpoint worker relies on)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from baselines.models import (
    MODEL_FAMILIES,
    ModelConfig,
    build_model,
    count_parameters,
    parse_config,
)

BATCH = 5


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_each_family_gives_logits_for_each_image(family: str) -> None:
    model = build_model(ModelConfig(family=family))
    logits = model(torch.rand(BATCH, 1, 28, 28))
    assert logits.shape == (BATCH, 10)
    assert logits.dtype == torch.float32
    assert count_parameters(model) > 0


def test_the_neuron_is_one_linear_layer_of_ten_neurons() -> None:
    model = build_model(ModelConfig(family="neuron"))
    assert count_parameters(model) == 784 * 10 + 10
    assert list(model.state_dict()) == ["output.weight", "output.bias"]


@pytest.mark.parametrize(
    ("data", "widths"),
    [
        ({"family": "mlp", "hidden": [32], "activation": "sigmoid"}, [32]),
        ({"family": "mlp", "hidden": [64, 32, 16], "dropout": 0.5}, [64, 32, 16]),
        ({"family": "cnn", "channels": [4], "hidden": []}, []),
        ({"family": "cnn", "channels": [4, 8, 8, 8], "hidden": [16, 16]}, [16, 16]),
    ],
)
def test_hyper_parameters_shape_the_model(data: dict[str, object], widths: list[int]) -> None:
    model = build_model(parse_config(data))
    hidden = [name for name in model.state_dict() if name.startswith("hidden.")]
    assert len(hidden) == 2 * len(widths)  # a weight and a bias per layer
    assert model(torch.rand(BATCH, 1, 28, 28)).shape == (BATCH, 10)


def test_other_input_shapes_and_class_counts() -> None:
    config = parse_config({"family": "cnn", "input_shape": [3, 32, 32], "num_classes": 26})
    assert build_model(config)(torch.rand(2, 3, 32, 32)).shape == (2, 26)


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_config_round_trips_through_json(family: str) -> None:
    config = ModelConfig(family=family)
    data = json.loads(json.dumps(config.to_dict()))
    assert parse_config(data) == config
    assert data["family"] == family
    assert data["input_shape"] == [1, 28, 28] and data["num_classes"] == 10


def test_a_config_names_only_the_fields_of_its_family() -> None:
    assert ModelConfig(family="neuron").to_dict() == {
        "family": "neuron",
        "input_shape": [1, 28, 28],
        "num_classes": 10,
    }
    assert "channels" not in ModelConfig(family="mlp").to_dict()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"family": "resnet"}, "unknown model family 'resnet'; known families: cnn, mlp, neuron"),
        ({}, "no 'family'"),
        ({"family": "mlp", "hidden": []}, "hidden must have 1 to 8 entries"),
        ({"family": "mlp", "hidden": [0]}, "hidden[0] must be between 1 and"),
        ({"family": "mlp", "hidden": [128, -1]}, "hidden[1] must be between 1 and"),
        ({"family": "mlp", "hidden": "256,128"}, "hidden must be a list of integers"),
        ({"family": "mlp", "hidden": [1.5]}, "hidden[0] must be an integer"),
        ({"family": "mlp", "hidden": [True]}, "hidden[0] must be an integer"),
        ({"family": "mlp", "hidden": [64] * 9}, "hidden must have 1 to 8 entries"),
        ({"family": "mlp", "hiden": [64]}, "unknown field 'hiden'"),
        ({"family": "neuron", "hidden": [64]}, "'hidden' does not apply to model family 'neuron'"),
        ({"family": "mlp", "channels": [8]}, "'channels' does not apply to model family 'mlp'"),
        ({"family": "mlp", "activation": "tanh"}, "activation must be one of relu, sigmoid"),
        ({"family": "mlp", "activation": ["relu"]}, "activation must be one of relu, sigmoid"),
        ({"family": "mlp", "dropout": 1.0}, "dropout must be in [0, 1)"),
        ({"family": "mlp", "dropout": "0.5"}, "dropout must be a number"),
        ({"family": "cnn", "channels": []}, "channels must have 1 to 4 entries"),
        ({"family": "cnn", "input_shape": [1, 28]}, "input_shape must have 3 to 3 entries"),
        ({"family": "cnn", "input_shape": [1, 4, 4], "channels": [8, 8, 8]}, "fewer blocks"),
        ({"family": "neuron", "num_classes": 1}, "num_classes must be between 2 and"),
        ({"family": "mlp", "hidden": [8192] * 8}, "parameters; the limit is"),
    ],
)
def test_invalid_configs_raise_value_error_naming_the_problem(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as error:
        parse_config(data)
    assert message in str(error.value)


def test_a_config_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        parse_config(["mlp"])  # type: ignore[arg-type]


def test_models_do_not_import_torchvision() -> None:
    """The checkpoint worker imports baselines.models; it must stay light."""
    code = "import sys, baselines.models; print('torchvision' in sys.modules)"
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert result.stdout.strip() == "False"
