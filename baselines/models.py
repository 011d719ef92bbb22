"""The course's three model families: one neuron layer, an MLP, a CNN.

Each step of the course adds one idea to the step before it:

1. "My first neuron" -> :class:`SigmoidNeuron`: ten sigmoid neurons that each
   look at all 784 pixels, one neuron per digit (a one-hot output).
2. "My first neural network" -> :class:`MLP`: hidden layers between the
   pixels and those ten outputs, ReLU instead of sigmoid, and dropout
   against over-fitting.
3. "My first convolution" -> :class:`CNN`: convolution + pooling layers that
   find local patterns first, then the MLP of step 2 on top of them.

These classes are the single definition of the architectures: the baselines
train them and Podium's checkpoint worker rebuilds them from a ``model.json``
(a :class:`ModelConfig`) before it loads a team's ``model.safetensors``. So
the tensor names (``output.weight``, ``hidden.0.weight``, ``conv.1.bias``...)
are part of the submission format: renaming an attribute here breaks every
checkpoint already submitted.

Every model takes a float tensor of shape ``(N, 1, 28, 28)`` with pixels in
``[0, 1]`` and returns logits of shape ``(N, 10)``: one raw score per class,
before any sigmoid or softmax (the loss function applies those). This module
imports only ``torch``, so that the worker stays light.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

import torch
from torch import nn

# Input and output of the course's challenge: 28x28 grey-scale digits, 10 classes.
DEFAULT_INPUT_SHAPE: tuple[int, int, int] = (1, 28, 28)
DEFAULT_NUM_CLASSES = 10

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}

# Bounds on a config. A model.json comes from a participant and the worker
# builds what it describes before loading any weights, so a config may not
# ask for more memory than a classroom GPU has.
MAX_HIDDEN_LAYERS = 8
MAX_HIDDEN_UNITS = 8192
MAX_CONV_LAYERS = 4
MAX_CHANNELS = 512
MAX_INPUT_CHANNELS = 4
MAX_INPUT_SIDE = 512
MAX_NUM_CLASSES = 1000
MAX_PARAMETERS = 50_000_000

CONV_KERNEL_SIZE = 3
CONV_PADDING = 1  # keeps the image size through a convolution ("same" padding)
POOL_SIZE = 2  # each max-pooling halves the height and the width


class CourseModel(nn.Module):
    """What the three families share: built from a :class:`ModelConfig`.

    ``hyperparameters`` names the config fields the family uses, with their
    defaults.
    """

    hyperparameters: ClassVar[dict[str, Any]] = {}


class SigmoidNeuron(CourseModel):
    """Course step 1, "My first neuron": ``s = sigmoid(sum_i a_i * w_i + b)``.

    One layer of ``num_classes`` sigmoid neurons over the flattened image.
    Neuron ``k`` answers "is this digit a k?"; the prediction is the neuron
    that fires most. ``forward`` returns the pre-sigmoid sums (logits); the
    sigmoid lives in the loss (``BCEWithLogitsLoss`` against one-hot targets),
    which computes it in a numerically stable way.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.output = nn.Linear(math.prod(config.input_shape), config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.flatten(x))


class MLP(CourseModel):
    """Course step 2, "My first neural network": a multi-layer perceptron.

    ``flatten -> [linear -> activation -> dropout] x len(hidden) -> linear``.
    ``hidden`` lists the width of each hidden layer, e.g. ``(256, 128)``.
    Dropout randomly zeroes activations while training (``model.train()``)
    and does nothing at evaluation (``model.eval()``).
    """

    hyperparameters: ClassVar[dict[str, Any]] = {
        "hidden": (256, 128),
        "activation": "relu",
        "dropout": 0.2,
    }

    def __init__(self, config: ModelConfig, in_features: int | None = None) -> None:
        super().__init__()
        assert config.hidden is not None and config.activation is not None
        if in_features is None:
            in_features = math.prod(config.input_shape)
        self.flatten = nn.Flatten()
        widths = [in_features, *config.hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(widths))
        self.activation = ACTIVATIONS[config.activation]()
        self.dropout = nn.Dropout(config.dropout or 0.0)
        self.output = nn.Linear(widths[-1], config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        for layer in self.hidden:
            x = self.dropout(self.activation(layer(x)))
        return self.output(x)


class CNN(MLP):
    """Course step 3, "My first convolution": convolutions, then an MLP.

    Each entry of ``channels`` adds one block ``conv 3x3 -> ReLU -> max-pool 2x2``:
    the convolution looks for small local patterns (edges, curves) anywhere in
    the image, the pooling halves the image so the next block sees larger
    patterns. The blocks' output is flattened and classified by the MLP of
    step 2 (``hidden``, ``activation``, ``dropout``).
    """

    hyperparameters: ClassVar[dict[str, Any]] = {
        "channels": (32, 64, 128),  # 28x28 -> 14x14 -> 7x7 -> 3x3
        "hidden": (128,),
        "activation": "relu",
        "dropout": 0.3,
    }

    def __init__(self, config: ModelConfig) -> None:
        assert config.channels is not None
        in_channels, height, width = config.input_shape
        for _ in config.channels:
            height, width = height // POOL_SIZE, width // POOL_SIZE
        super().__init__(config, in_features=config.channels[-1] * height * width)
        channels = [in_channels, *config.channels]
        self.conv = nn.ModuleList(
            nn.Conv2d(a, b, CONV_KERNEL_SIZE, padding=CONV_PADDING) for a, b in pairwise(channels)
        )
        self.pool = nn.MaxPool2d(POOL_SIZE)
        self.conv_activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.conv:
            x = self.pool(self.conv_activation(conv(x)))
        return super().forward(x)


MODEL_FAMILIES: dict[str, type[CourseModel]] = {
    "neuron": SigmoidNeuron,
    "mlp": MLP,
    "cnn": CNN,
}

# Fields every family has; the others are hyper-parameters of some families only.
_COMMON_FIELDS = ("family", "input_shape", "num_classes")


@dataclass
class ModelConfig:
    """Which model family to build, and with which hyper-parameters.

    This is what ``model.json`` holds next to a checkpoint's weights. A
    hyper-parameter left as ``None`` takes the family's default (see each
    class's ``hyperparameters``); one that the family does not use must stay
    ``None``. Invalid values raise ``ValueError`` naming the field.
    """

    family: str
    hidden: tuple[int, ...] | None = None
    activation: str | None = None
    dropout: float | None = None
    channels: tuple[int, ...] | None = None
    input_shape: tuple[int, int, int] = DEFAULT_INPUT_SHAPE
    num_classes: int = DEFAULT_NUM_CLASSES

    def __post_init__(self) -> None:
        _check_family(self.family)
        family_defaults = MODEL_FAMILIES[self.family].hyperparameters
        for name in _hyperparameter_names():
            value = getattr(self, name)
            if name in family_defaults and value is None:
                setattr(self, name, family_defaults[name])
            elif name not in family_defaults and value is not None:
                raise ValueError(
                    f"field {name!r} does not apply to model family {self.family!r} "
                    f"(its fields: {', '.join(self.field_names(self.family))})"
                )
        self.input_shape = _int_tuple(  # type: ignore[assignment]  # checked: 3 entries
            "input_shape", self.input_shape, 3, 3, 1, MAX_INPUT_SIDE
        )
        if self.input_shape[0] > MAX_INPUT_CHANNELS:
            raise ValueError(
                f"input_shape: at most {MAX_INPUT_CHANNELS} channels, got {self.input_shape[0]}"
            )
        self.num_classes = _int("num_classes", self.num_classes, 2, MAX_NUM_CLASSES)
        if self.hidden is not None:
            # An MLP needs a hidden layer (without one it is the neuron); a CNN may go
            # straight from its convolutions to the output layer.
            min_layers = 1 if self.family == "mlp" else 0
            self.hidden = _int_tuple(
                "hidden", self.hidden, min_layers, MAX_HIDDEN_LAYERS, 1, MAX_HIDDEN_UNITS
            )
        if self.activation is not None and (
            not isinstance(self.activation, str) or self.activation not in ACTIVATIONS
        ):
            known = ", ".join(ACTIVATIONS)
            raise ValueError(f"activation must be one of {known}, got {self.activation!r}")
        if self.dropout is not None:
            if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float):
                raise ValueError(f"dropout must be a number, got {self.dropout!r}")
            if not 0.0 <= self.dropout < 1.0:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
            self.dropout = float(self.dropout)
        if self.channels is not None:
            self.channels = _int_tuple(
                "channels", self.channels, 1, MAX_CONV_LAYERS, 1, MAX_CHANNELS
            )
            smallest_side = min(self.input_shape[1:])
            if smallest_side < POOL_SIZE ** len(self.channels):
                raise ValueError(
                    f"channels: {len(self.channels)} conv blocks halve a {smallest_side}-pixel "
                    "side to nothing; use fewer blocks"
                )
        # Count on the "meta" device: shapes only, no memory is allocated.
        with torch.device("meta"):
            parameters = count_parameters(MODEL_FAMILIES[self.family](self))
        if parameters > MAX_PARAMETERS:
            raise ValueError(
                f"this model has {parameters:,} parameters; the limit is {MAX_PARAMETERS:,}"
            )

    @staticmethod
    def field_names(family: str) -> list[str]:
        """The fields a config of ``family`` may set."""
        family_fields = MODEL_FAMILIES[family].hyperparameters
        return sorted([*_COMMON_FIELDS, *family_fields])

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON types, without the fields its family does not use."""
        data = {name: getattr(self, name) for name in self.field_names(self.family)}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in data.items()}


def _check_family(family: object) -> str:
    if not isinstance(family, str) or family not in MODEL_FAMILIES:
        known = ", ".join(sorted(MODEL_FAMILIES))
        raise ValueError(f"unknown model family {family!r}; known families: {known}")
    return family


def _hyperparameter_names() -> list[str]:
    return [f.name for f in dataclasses.fields(ModelConfig) if f.name not in _COMMON_FIELDS]


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int_tuple(
    name: str, value: object, min_len: int, max_len: int, low: int, high: int
) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ValueError(f"{name} must be a list of integers, got {value!r}")
    if not min_len <= len(value) <= max_len:
        raise ValueError(f"{name} must have {min_len} to {max_len} entries, got {len(value)}")
    return tuple(_int(f"{name}[{i}]", v, low, high) for i, v in enumerate(value))


def parse_config(data: Mapping[str, Any]) -> ModelConfig:
    """Build a :class:`ModelConfig` from JSON-like data (e.g. a ``model.json``).

    Raises ``ValueError`` for anything that is not a valid config: a missing or
    unknown family, an unknown field, a field the family does not use, a value
    of the wrong type or out of bounds.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"a model config must be a JSON object, got {type(data).__name__}")
    if "family" not in data:
        known = ", ".join(sorted(MODEL_FAMILIES))
        raise ValueError(f"model config has no 'family' (one of: {known})")
    family = _check_family(data["family"])
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(ModelConfig)})
    if unknown:
        raise ValueError(
            f"unknown field {unknown[0]!r} in a {family!r} model config "
            f"(its fields: {', '.join(ModelConfig.field_names(family))})"
        )
    return ModelConfig(**data)


def build_model(config: ModelConfig) -> CourseModel:
    """A freshly initialised model of ``config.family`` (in training mode)."""
    return MODEL_FAMILIES[config.family](config)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers (weights and biases) in ``model``."""
    return sum(p.numel() for p in model.parameters())
